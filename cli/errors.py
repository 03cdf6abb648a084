"""The one error a command raises to stop with a message: ``riskmon <command>: <message>`` on
standard error, no traceback, and the exit status it carries."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

__all__ = ["CommandError", "unlogged"]


class CommandError(Exception):
    """Stop the command: print the message, exit with ``status`` (2: nothing was done, the
    input or the setup is wrong; 1: stopped part-way)."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@contextlib.contextmanager
def unlogged(logger: str) -> Iterator[None]:
    """Below CRITICAL, nothing from ``logger`` while the block runs: for a client whose failure
    the command reports itself (kafka-python logs a failed bootstrap as an ERROR line first)."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        log.setLevel(level)
