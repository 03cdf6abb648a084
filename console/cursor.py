"""The resume cursor of ``GET /alerts/stream``: where a client is in every partition it reads.

An SSE event's ``id:`` is the position *after* that event in every partition of every topic
the stream reads: ``<topic>/<partition>/<next offset>`` entries joined by commas, sorted, e.g.
``riskmon.alerts/0/15,riskmon.alerts/1/9,riskmon.tasks/0/22``. Kafka topic names hold only
``[a-zA-Z0-9._-]``, so neither ``/`` nor ``,`` is ambiguous, and the id is readable in a log.

A client that reconnects with it as ``Last-Event-ID`` is read on from exactly those offsets:
every record it has not been sent (or that its filter skipped), in each partition's order, and
none twice. A partition the cursor does not name (one added since, or a topic the client was
not reading) is read from its beginning: a missing entry loses nothing.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

__all__ = ["MAX_CURSOR_CHARS", "CursorError", "Position", "decode", "encode"]

#: (topic, partition) -> the next offset to read there.
Position = dict[tuple[str, int], int]

#: The longest cursor accepted (a header of a few hundred partitions; refuse a flood).
MAX_CURSOR_CHARS: Final = 16_384
_ENTRY = re.compile(r"([a-zA-Z0-9._-]{1,249})/([0-9]{1,6})/([0-9]{1,19})")


class CursorError(ValueError):
    """A cursor that is not of the form above; the message says why (no input echoed)."""


def encode(position: Mapping[tuple[str, int], int]) -> str:
    """The cursor of ``position``: its entries, sorted by topic then partition."""
    return ",".join(f"{t}/{p}/{o}" for (t, p), o in sorted(position.items()))


def decode(text: str, topics: Iterable[str] | None = None) -> Position:
    """The position a cursor names. ``topics``: keep only entries of these (a cursor from a
    stream of more topics is still good here). Raises :class:`CursorError` for a malformed or
    oversized cursor, or one naming a partition twice."""
    if len(text) > MAX_CURSOR_CHARS:
        raise CursorError(f"cursor longer than {MAX_CURSOR_CHARS} characters")
    wanted = None if topics is None else frozenset(topics)
    out: Position = {}
    if not text.strip():
        return out
    for i, entry in enumerate(text.strip().split(",")):
        m = _ENTRY.fullmatch(entry.strip())
        if m is None:
            raise CursorError(f"cursor entry {i + 1} is not <topic>/<partition>/<offset>")
        topic, partition, offset = m.group(1), int(m.group(2)), int(m.group(3))
        if (topic, partition) in out:
            raise CursorError(f"cursor names {topic}/{partition} twice")
        if wanted is None or topic in wanted:
            out[(topic, partition)] = offset
    return out
