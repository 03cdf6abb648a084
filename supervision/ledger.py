"""Supervision's exactly-once ledger codec (pure): the messages sent for one event <-> bytes.

The store keeps, per applied event hash, what supervision sent for it (``sup:seen``); a
redelivered or re-published event re-sends exactly these. A MessagePack array of
``[kind, id, type, key, value, trigger]`` arrays, field order as :class:`alerts.rules.Message`
declares (an empty array: the event was applied and sent nothing). Over
:data:`COMPRESS_FROM` bytes it is stored zlib-compressed (level 1): a zlib stream begins with
0x78, which no MessagePack array does. Most events send nothing; those that send something
carry about 1 KB (a reminder's texts in two languages), which this shrinks by about 40 %
(docs/benchmarks.md).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import msgpack

from alerts.rules import Message

__all__ = ["COMPRESS_FROM", "decode_messages", "encode_messages"]

#: Stored forms of this many bytes or more are compressed.
COMPRESS_FROM = 256
_ZLIB = b"\x78"


def encode_messages(messages: Sequence[Message]) -> bytes:
    """The stored form of ``messages`` (in order)."""
    rows = [[m.kind, m.id, m.type, m.key, m.value, m.trigger] for m in messages]
    packed: bytes = msgpack.packb(rows, use_bin_type=True)
    return zlib.compress(packed, 1) if len(packed) >= COMPRESS_FROM else packed


def decode_messages(raw: bytes) -> list[Message]:
    """The messages :func:`encode_messages` stored, equal to those encoded."""
    if raw[:1] == _ZLIB:
        raw = zlib.decompress(raw)
    rows = msgpack.unpackb(raw, raw=False)
    return [Message(k, i, t, bytes(key), bytes(v), trig) for k, i, t, key, v, trig in rows]
