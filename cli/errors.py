"""The one error a command raises to stop with a message: ``riskmon <command>: <message>`` on
standard error, no traceback, and the exit status it carries."""

from __future__ import annotations

__all__ = ["CommandError"]


class CommandError(Exception):
    """Stop the command: print the message, exit with ``status`` (2: nothing was done, the
    input or the setup is wrong; 1: stopped part-way)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status
