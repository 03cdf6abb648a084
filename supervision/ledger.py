"""Supervision's exactly-once ledger codec (pure): the messages sent for one event <-> bytes.

The store keeps, per applied event hash, what supervision sent for it (``sup:seen``); a
redelivered or re-published event re-sends exactly these. A MessagePack array of
``[kind, id, type, key, value, trigger]`` arrays, field order as :class:`alerts.rules.Message`
declares (an empty array: the event was applied and sent nothing).
"""

from __future__ import annotations

from collections.abc import Sequence

import msgpack

from alerts.rules import Message

__all__ = ["decode_messages", "encode_messages"]


def encode_messages(messages: Sequence[Message]) -> bytes:
    """The stored form of ``messages`` (in order)."""
    rows = [[m.kind, m.id, m.type, m.key, m.value, m.trigger] for m in messages]
    packed: bytes = msgpack.packb(rows, use_bin_type=True)
    return packed


def decode_messages(raw: bytes) -> list[Message]:
    """The messages :func:`encode_messages` stored, equal to those encoded."""
    rows = msgpack.unpackb(raw, raw=False)
    return [Message(k, i, t, bytes(key), bytes(v), trig) for k, i, t, key, v, trig in rows]
