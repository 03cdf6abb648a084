"""Alerts and trigger-based inspection tasks: the pure rules that decide them (``rules``), and
their delivery as outgoing records to the sinks that take them (``delivery``)."""

__all__ = ["delivery", "rules"]
