"""Schemas at riskmon's edges: credit events in, alerts and tasks out, and their codec."""

__all__ = ["alerts", "classes", "codec", "events", "exceptions", "toml_files", "uscc"]
