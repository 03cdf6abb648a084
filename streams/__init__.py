"""The stream processor: settings, Faust app and agents, web API, CLI, embedded servers."""

__all__ = ["app", "cli", "embedded", "handler", "metrics", "settings", "topics"]
