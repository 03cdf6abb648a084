"""Argument types shared by several commands, with errors that say what they want."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TypeAlias

__all__ = ["TIME_FORMAT", "Subparsers", "aware_time"]

#: What ``ArgumentParser.add_subparsers`` returns: each command module's ``add`` takes it.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

#: What a time argument takes, as the error message and the help texts say it.
TIME_FORMAT = "an ISO 8601 date or date-time, e.g. 2026-11-01 or 2026-11-01T09:30:00+08:00"


def aware_time(text: str) -> dt.datetime:
    """An ISO 8601 date or date-time; without a zone it is UTC (a date: its 00:00 UTC).
    Raises ``argparse.ArgumentTypeError`` naming the format."""
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: expected {TIME_FORMAT} (no zone: UTC)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
