"""Errors raised at the schema edge.

SchemaError                 root; ``retryable`` is False for every schema error
└── InvalidEventError       a record that can never be processed; carries a closed ``reason``
                            (for the dead-letter header and the metric label) and a ``detail``
"""

from __future__ import annotations

from typing import Literal

__all__ = ["DeadLetterReason", "InvalidEventError", "SchemaError"]

DeadLetterReason = Literal[
    "oversized",
    "not_json",
    "not_cloudevent",
    "unknown_type",
    "invalid_uscc",
    "invalid_data",
    "misrouted",
]


class SchemaError(Exception):
    retryable = False


class InvalidEventError(SchemaError):
    """A permanent data error: dead-letter the record with ``reason`` and move on."""

    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason: DeadLetterReason = reason
        self.detail = detail
