"""The wire layout (pure): what Python passes to apply.lua, and the stored state both write.

This module and the field constants at the top of ``scoring/store/apply.lua`` are the two
statements of one layout, one per language; a change to either is a change to both, and to
stored data. Arrays are MessagePack (Redis' cmsgpack), 1-based positions as Lua reads them:

ARGV[1], the model (:func:`params_arg`), space-separated numbers:
    version id, thresholds B C D (micro-points), the five dimension caps (micro-points),
    scheduling horizon (s), ledger window W in offsets (0: one ledger hash, kept for ever),
    allowed lateness (s; ``Params.lateness``, scoring/partition.py)

ARGV[3] of ``apply``, the events (:func:`events_arg`), an array of events in log order:
    event        = {uscc, ledger field (8 bytes), offset (-1: not from Kafka), asof (s),
                    contribution or false, key to cancel or "", profile or false}
    contribution = {key, dimension, time, points, half_life, expires, floor, tiebreak, ref}
                   (a stored one without ``cancelled``)

ARGV[4] of ``apply``: the stem of the partition's state hashes' names (``Keys.state_stem``),
where apply.lua finds the state of an enterprise whose time-driven change it makes.

A state, the value of its USCC's field in a state hash (:func:`encode_state`):
    state        = {version id, asof, class 1..4, score (micro), due (0: none),
                    profile or false, contributions}
    contribution = {key, dimension, time, points, half_life, expires, floor, tiebreak,
                    cancelled 0/1, ref}
    profile      = {division, industry, new_economy 0/1, entity_type, time, tiebreak}

One array per state, not a hash: a hash of its own would leave Redis' compact encoding.
``ref`` and ``entity_type`` are a word's number (``scoring/words.py``) or the word; a division
code of six digits travels as an integer. apply.lua only keeps these. An absent contribution
or profile is ``false``, not nil: a nil would end a Lua array there.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, cast

import msgpack

from scoring.changes import Change, Contribution, Profile
from scoring.fold import EnterpriseState, Params
from scoring.words import decode_word, encode_word

__all__ = [
    "Applied",
    "decode_state",
    "encode_state",
    "event_wire",
    "events_arg",
    "ledger_field",
    "pack_events",
    "params_arg",
    "stored_asof",
    "text",
    "version_id",
    "version_names",
]


def version_id(version: str) -> int:
    """What a state stores of its model version: CRC-32 of the name, shorter than the name.
    Two versions of one prefix would have to collide in 32 bits to be confused, and a store
    refuses to write under a version whose id another one holds; the names are kept in
    ``<prefix>:models`` for reading states back."""
    return zlib.crc32(version.encode())


def params_arg(params: Params, ledger_window: int = 0) -> str:
    """apply.lua's ARGV[1]: the model's numbers, the ledger window (0: keep every entry) and
    the allowed lateness in one argument (computed once per store)."""
    numbers = (version_id(params.version), *params.thresholds, *params.caps, params.horizon)
    return " ".join(str(v) for v in (*numbers, ledger_window, params.lateness))


def ledger_field(event_hash: str) -> bytes:
    """The ledger's field for an event: its hash's 8 bytes (shorter than the hex)."""
    return bytes.fromhex(event_hash)


def _profile_wire(p: Profile) -> list[Any]:
    # A division code is six digits, the first 1-8 (GB/T 2260): smaller as an int.
    division: int | str = int(p.division) if p.division.isdigit() else p.division
    return [
        division,
        p.industry,
        int(p.new_economy),
        encode_word(p.entity_type),
        p.time,
        p.tiebreak,
    ]


def _contribution_head(c: Contribution) -> tuple[Any, ...]:
    # The fields both forms share, up to the tiebreak (then a stored one has `cancelled`, and
    # both end with the reference).
    return (c.key, c.dimension, c.time, c.points, c.half_life, c.expires, c.floor, c.tiebreak)


def event_wire(uscc: str, field: bytes | str, offset: int, change: Change) -> list[Any]:
    """One event of ARGV[3]: ``change`` to ``uscc`` at Kafka ``offset``, recorded in the
    ledger under ``field`` (:func:`ledger_field` of its hash)."""
    contribution: list[Any] | bool = False
    if (c := change.contribution) is not None:
        contribution = [*_contribution_head(c), encode_word(c.ref)]
    profile: list[Any] | bool = False
    if (p := change.profile) is not None:
        profile = _profile_wire(p)
    return [uscc, field, offset, change.asof, contribution, change.cancel or "", profile]


class Applied(Protocol):
    """What :func:`events_arg` reads of a request (``scoring.store.plan.ApplyRequest``)."""

    @property
    def uscc(self) -> str: ...
    @property
    def offset(self) -> int: ...
    @property
    def change(self) -> Change: ...


def pack_events(events: list[list[Any]]) -> bytes:
    """ARGV[3] of the events from :func:`event_wire`."""
    # Bytes (the ledger field) as MessagePack's raw string: Redis' cmsgpack predates bin.
    return cast(bytes, msgpack.packb(events, use_bin_type=False))


def events_arg(requests: Iterable[Applied]) -> bytes:
    """apply.lua's ARGV[3] for ``requests`` (all of one partition, in log order)."""
    return pack_events(
        [
            event_wire(r.uscc, ledger_field(r.change.event_hash), r.offset, r.change)
            for r in requests
        ]
    )


def text(value: bytes | str) -> str:
    """A value Redis returned (bytes) as text."""
    return value.decode() if isinstance(value, bytes) else value


def version_names(registry: Mapping[Any, Any]) -> dict[int, str]:
    """``<prefix>:models`` as read (bytes) as version id -> name."""
    return {int(k): text(v) for k, v in registry.items()}


def _version_name(stored: int | str, names: Mapping[int, str]) -> str:
    if isinstance(stored, str):  # written before versions were stored as ids
        return stored
    return names.get(stored, f"#{stored:08x}")


def decode_state(
    raw: bytes | None, names: Mapping[int, str] | None = None
) -> EnterpriseState | None:
    """An enterprise's stored value as the fold's state (``None`` if the enterprise is unknown).
    ``names`` maps version ids to model versions (``<prefix>:models``); an id it lacks reads
    as ``#`` and the id in hex."""
    if raw is None:
        return None
    version, asof, klass, score, due, prof, items = msgpack.unpackb(raw)
    contribs: dict[str, Contribution] = {}
    for item in items:
        key, dim, t, pts, hl, exp, floor, tb, cancelled, ref = item
        contribs[key] = Contribution(
            key=key,
            dimension=int(dim),
            time=int(t),
            points=float(pts),
            half_life=int(hl),
            expires=int(exp),
            floor=int(floor),
            tiebreak=int(tb),
            cancelled=bool(cancelled),
            ref=decode_word(ref),
        )
    profile = None
    if prof:
        div, ind, ne, et, pt, ptb = prof
        profile = Profile(str(div), str(ind), bool(ne), decode_word(et), int(pt), int(ptb))
    return EnterpriseState(
        contributions=contribs,
        asof=int(asof),
        klass=int(klass),
        score=int(score),
        due=int(due),
        profile=profile,
        version=_version_name(version, names or {}),
    )


def stored_asof(raw: bytes) -> int:
    """The asof of a stored state, without decoding its contributions' fields."""
    return int(msgpack.unpackb(raw)[1])


def encode_state(state: EnterpriseState) -> bytes:
    """The stored value of ``state``, as apply.lua writes it (the inverse of decode_state)."""
    contribs = [
        [*_contribution_head(c), int(c.cancelled), encode_word(c.ref)]
        for c in state.contributions.values()
    ]
    profile = _profile_wire(state.profile) if state.profile is not None else False
    version = version_id(state.version)
    value = [version, state.asof, state.klass, state.score, state.due, profile, contribs]
    return cast(bytes, msgpack.packb(value))
