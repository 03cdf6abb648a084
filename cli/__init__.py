"""The ``riskmon`` command: argument parsing and printing, one module per command."""

__all__ = ["main"]
