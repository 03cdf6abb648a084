"""What the enterprise warning rules remember of one enterprise, and its stored form (pure).

Kept per partition in Redis (``supervision/store/keys.py``: ``<prefix>:warn:{pNNN}``, uscc ->
this record) and written in supervision's per-partition MULTI, so it moves exactly once per
event. Stored as a MessagePack array, field order as declared (append new fields at the end; a
reader fills missing trailing fields with their defaults). Times are Unix seconds of event time;
scores integer micro-points, as scoring keeps them.

Bounded: complaints are kept for the longest window + trailing period of the complaint rules
(at most :data:`MAX_KEPT` of them, the newest), penalties for the longest penalty window, and
the last :data:`MAX_REVOKED` revoked decision numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgpack

__all__ = [
    "MAX_KEPT",
    "MAX_REVOKED",
    "EnterpriseWarnings",
    "Kept",
    "decode_state",
    "encode_state",
]

#: Complaints (or penalties) kept per enterprise at most: the newest.
MAX_KEPT = 512
#: Revoked penalty decision numbers kept per enterprise at most: the newest.
MAX_REVOKED = 64


@dataclass(slots=True)
class Kept:
    """An event kept as possible evidence: its time, CloudEvents ``source`` and ``id``, and
    for a penalty its decision number ("" otherwise)."""

    time: int
    source: str
    id: str
    ref: str = ""


@dataclass(slots=True)
class EnterpriseWarnings:
    """One enterprise's warning state."""

    #: Complaints received, ascending (time, source, id).
    complaints: list[Kept] = field(default_factory=list)
    #: Penalties imposed and not revoked, one per decision number, ascending (time, ref).
    penalties: list[Kept] = field(default_factory=list)
    #: Decision numbers revoked (sticky: a revocation before its penalty wins too).
    revoked: list[str] = field(default_factory=list)
    #: Rule id -> event time of the last warning it raised here (the once-per-window rule).
    fired: dict[str, int] = field(default_factory=dict)
    #: The last score scoring reported (micro-points); -1: none yet.
    score: int = -1
    #: The class whose threshold the score was last found close below (near-boundary armed
    #: off until the score leaves that band); 0: none.
    near: int = 0
    #: Has it ever been seen in D?
    ever_d: bool = False
    #: Division and industry of its latest registration (by event time), "" until known.
    division: str = ""
    industry: str = ""
    registered_at: int = 0


_COMPLAINTS, _PENALTIES = 0, 1


def encode_state(s: EnterpriseWarnings) -> bytes:
    """The stored form of ``s``."""
    # By hand, not dataclasses.astuple (which deep-copies): one state per enterprise per batch.
    row = (
        [(k.time, k.source, k.id, k.ref) for k in s.complaints],
        [(k.time, k.source, k.id, k.ref) for k in s.penalties],
        s.revoked,
        s.fired,
        s.score,
        s.near,
        s.ever_d,
        s.division,
        s.industry,
        s.registered_at,
    )
    packed: bytes = msgpack.packb(row, use_bin_type=True)
    return packed


def decode_state(raw: bytes) -> EnterpriseWarnings:
    """The state :func:`encode_state` stored (missing trailing fields: their defaults)."""
    v = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    v[_COMPLAINTS] = [Kept(*k) for k in v[_COMPLAINTS]]
    v[_PENALTIES] = [Kept(*k) for k in v[_PENALTIES]]
    return EnterpriseWarnings(*v)
