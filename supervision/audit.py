"""What the stream decided, for the audit log: the class changes of a batch's new inputs.

Supervision's write is exactly once per event (its ledger), and runs after scoring's for every
batch, so the class changes scoring reported for the inputs supervision applies now (those in
``Effects.seen``) are written to the partition's audit chain in the same MULTI: a redelivered
event, whose outcome supervision has already applied, adds nothing. Pure: the store seals and
writes what :func:`class_changes` lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from schemas.classes import name_or_none
from scoring.fold import Outcome
from supervision.step import Effects, Input

__all__ = ["ACTOR", "CLASS_CHANGE", "Entry", "class_changes"]

#: Who the stream's records name: riskmon itself, by the model.
ACTOR: Final = "riskmon"
CLASS_CHANGE: Final = "class.change"


@dataclass(frozen=True, slots=True)
class Entry:
    """One record to seal: its time (RFC 3339, event time), target and details."""

    time: str
    target: str
    details: dict[str, Any]


def _changed(o: Outcome) -> bool:
    # As alerts.rules.may_warrant, less "in D with no change": a new enterprise in A is none.
    return (
        o.new_class != o.old_class
        and o.new_class != 0
        and not (o.old_class == 0 and o.new_class == 1)
    )


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


def class_changes(inputs: Sequence[Input], effects: Effects, model_version: str) -> list[Entry]:
    """The class changes of the inputs applied now, in log order: the event's own, then the
    time-driven ones it brought about."""
    out: list[Entry] = []
    done: set[str] = set()
    for i in inputs:
        if i.ehash not in effects.seen or i.ehash in done:
            continue
        done.add(i.ehash)
        cause = {"source": i.source, "id": i.event_id, "type": i.etype, "model": model_version}
        if _changed(i.outcome):
            out.append(Entry(_iso(i.time), i.uscc, {**_classes(i.outcome), **cause}))
        for f in i.fired:
            if _changed(f.outcome):
                timed = {**_classes(f.outcome), **cause, "cause": "time"}
                out.append(Entry(_iso(f.outcome.asof), f.uscc, timed))
    return out


def _classes(o: Outcome) -> dict[str, Any]:
    return {"from": name_or_none(o.old_class), "to": name_or_none(o.new_class)}
