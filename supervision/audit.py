"""What the stream decided, for the audit log: the class changes and task transitions of a
batch's new inputs.

Supervision's write is exactly once per event (its ledger), and runs after scoring's for every
batch, so what the inputs supervision applies now (those in ``Effects.seen``) brought about is
written to the partition's audit chain in the same MULTI: a redelivered event, which
supervision has already applied, adds nothing. Records follow the inputs in log order (for
each: its class change, the time-driven ones it brought about, then the task steps it asked
for), so the chain is the same however the log is cut into batches. A task falling overdue
(no event asks for it) is left to its ``riskmon.task.overdue`` alert. Pure: the store seals
and writes what :func:`entries` lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from schemas.classes import name_or_none
from scoring.fold import Outcome
from supervision.records import TaskRecord
from supervision.step import Effects, Input

__all__ = ["ACTOR", "CLASS_CHANGE", "Entry", "entries"]

#: Who the stream's records name: riskmon itself, by the model.
ACTOR: Final = "riskmon"
CLASS_CHANGE: Final = "class.change"


@dataclass(frozen=True, slots=True)
class Entry:
    """One record to seal: its time (RFC 3339, event time), target and details."""

    time: str
    target: str
    details: dict[str, Any]
    action: str = CLASS_CHANGE
    #: Who the record names: riskmon for what the stream decided, the person for a task step
    #: they asked for (the event's ``actor``).
    actor: str = ACTOR


def _changed(o: Outcome) -> bool:
    # As alerts.rules.may_warrant, less "in D with no change": a new enterprise in A is none.
    return (
        o.new_class != o.old_class
        and o.new_class != 0
        and not (o.old_class == 0 and o.new_class == 1)
    )


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


def _changes_of(i: Input, effects: Effects, model_version: str, done: set[str]) -> list[Entry]:
    # An input's class change, then the time-driven ones it brought about; none for an input
    # supervision applied before (not in ``effects.seen``) or already listed in this batch.
    if i.ehash not in effects.seen or i.ehash in done:
        return []
    done.add(i.ehash)
    out: list[Entry] = []
    cause = {"source": i.source, "id": i.event_id, "type": i.etype, "model": model_version}
    if _changed(i.outcome):
        out.append(Entry(_iso(i.time), i.uscc, {**_classes(i.outcome), **cause}))
    for f in i.fired:
        if _changed(f.outcome):
            timed = {**_classes(f.outcome), **cause, "cause": "time"}
            out.append(Entry(_iso(f.outcome.asof), f.uscc, timed))
    return out


def entries(
    inputs: Sequence[Input],
    effects: Effects,
    before: Mapping[str, TaskRecord],
    model_version: str,
) -> list[Entry]:
    """Every record of the batch, per input in log order: its class change and the time-driven
    ones it brought about, then the steps of tasks it asked for (``task.<state>``, target the
    task id), from ``before`` (the tasks as loaded) to ``effects.tasks``."""
    steps: dict[tuple[str, str], list[Entry]] = {}
    for tid in sorted(effects.tasks):
        task = effects.tasks[tid]
        known = len(before[tid].history) if tid in before else 0
        for t in task.history[known:]:
            if not t.event_id:
                continue  # an overdue mark: its alert says so
            details: dict[str, Any] = {"uscc": task.uscc, "event": t.event_id}
            details |= {"trigger": task.trigger, "rejected": t.rejected}
            entry = Entry(_iso(t.at), tid, details, f"task.{t.state}", t.actor or ACTOR)
            steps.setdefault((task.uscc, t.event_id), []).append(entry)
    out: list[Entry] = []
    done: set[str] = set()
    for i in inputs:
        out.extend(_changes_of(i, effects, model_version, done))
        out.extend(steps.pop((i.uscc, i.event_id), []))
        for f in i.fired:  # a task a time-driven change made: caused by "<uscc>@<due>"
            out.extend(steps.pop((f.uscc, f"{f.uscc}@{f.outcome.asof}"), []))
    # none should be left; if one is, it is still recorded (in a fixed order)
    out.extend(e for key in sorted(steps) for e in steps[key])
    return out


def _classes(o: Outcome) -> dict[str, Any]:
    return {"from": name_or_none(o.old_class), "to": name_or_none(o.new_class)}
