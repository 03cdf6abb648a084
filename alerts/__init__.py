"""Alerts and trigger-based inspection tasks: pure rules, and the Kafka sink that sends them."""

__all__ = ["rules"]
