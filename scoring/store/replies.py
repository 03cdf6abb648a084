"""apply.lua's replies read back as Python values (pure).

An outcome travels as ``old_class|new_class|score|asof|due|reasons_json`` (reasons last: they
may contain ``|``; empty when the class did not change). Around it:

* ``apply``: per event, the string ``status|outcome`` (status ``applied``, ``redelivered`` or
  ``republished``), or, when the event fired time-driven class changes
  (``scoring/partition.py``), an array of that string and ``uscc|outcome`` for each change in
  the order made (:func:`store_result`);
* ``reclassify``: ``{next cursor, scanned, re-evaluated, uscc|outcome ...}``, the last for each
  enterprise whose class changed (:meth:`ReclassifyPage.add`);
* the outbox hash: uscc -> ``version id|outcome`` (:func:`outbox_entry`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import orjson

from scoring.fold import Outcome
from scoring.partition import Fired

__all__ = [
    "ReclassifyPage",
    "ReclassifyResult",
    "Reply",
    "Status",
    "StoreResult",
    "changed",
    "outbox_entry",
    "outcome",
    "reply_head",
    "store_result",
]

Status = Literal["applied", "redelivered", "republished"]

#: One event's reply to ``apply`` as Redis returns it: ``status|outcome``, or that and the
#: ``uscc|outcome`` of each change it fired.
Reply = bytes | list[bytes]


@dataclass(slots=True)
class StoreResult:
    """What applying one event did: ``status``, the outcome (a duplicate's is the one stored
    when it was first applied, or one that warrants nothing), and the time-driven class
    changes the event brought about (scoring/partition.py; a duplicate's are its first
    copy's)."""

    status: Status
    outcome: Outcome
    fired: tuple[Fired, ...] = ()

    @property
    def duplicate(self) -> bool:
        return self.status != "applied"


@dataclass(frozen=True, slots=True)
class ReclassifyResult:
    """An enterprise re-evaluated under new parameters (``version``), and what that did."""

    uscc: str
    outcome: Outcome
    partition: int = 0
    version: str = ""


def _outcome(v: Sequence[bytes]) -> Outcome:
    reasons: tuple[tuple[str, int, int], ...] = ()
    if v[5]:
        reasons = tuple((str(k), int(m), int(f)) for k, m, f in orjson.loads(v[5]))
    return Outcome(
        old_class=int(v[0]),
        new_class=int(v[1]),
        score=int(v[2]),
        asof=int(v[3]),
        due=int(v[4]),
        reasons=reasons,
    )


def outcome(raw: bytes) -> Outcome:
    """An outcome as apply.lua writes it."""
    return _outcome(raw.split(b"|", 5))


def store_result(raw: Reply) -> StoreResult:
    """One event's reply to ``apply`` (either form)."""
    head, fired = (raw, ()) if isinstance(raw, bytes) else (raw[0], raw[1:])
    v = head.split(b"|", 6)
    return StoreResult(
        cast(Status, v[0].decode()), _outcome(v[1:]), tuple(_fired(item) for item in fired)
    )


def _fired(raw: bytes) -> Fired:
    uscc, rest = raw.split(b"|", 1)
    return Fired(uscc.decode(), outcome(rest))


def reply_head(raw: Reply) -> bytes:
    """The ``status|outcome`` of one event's reply to ``apply`` (either form)."""
    return raw if isinstance(raw, bytes) else raw[0]


def changed(partition: int, raw: bytes, version: str) -> ReclassifyResult:
    """``uscc|outcome``: a class change that reclassify made under ``version``."""
    uscc, rest = raw.split(b"|", 1)
    return ReclassifyResult(uscc.decode(), outcome(rest), partition, version)


def outbox_entry(
    partition: int, uscc: bytes, value: bytes, names: Mapping[int, str]
) -> ReclassifyResult:
    """A field of the outbox hash and its value; ``names``: version id -> model version (an id
    it lacks reads as ``#`` and the id)."""
    vid, rest = value.split(b"|", 1)
    version = names.get(int(vid), f"#{int(vid)}")
    return ReclassifyResult(uscc.decode(), outcome(rest), partition, version)


@dataclass(slots=True)
class ReclassifyPage:
    """What re-evaluating some state hashes did: enterprises scanned, re-evaluated (the rest
    were already under the model's version), and those whose class changed."""

    scanned: int = 0
    reevaluated: int = 0
    changed: list[ReclassifyResult] = field(default_factory=list)

    def add(self, partition: int, reply: Sequence[Any], version: str) -> str | None:
        """Count one ``reclassify`` reply in; the HSCAN cursor to go on from, None when the
        hash has been walked to its end."""
        self.scanned += int(reply[1])
        self.reevaluated += int(reply[2])
        self.changed.extend(changed(partition, raw, version) for raw in reply[3:])
        return None if reply[0] == b"0" else cast(bytes, reply[0]).decode()
