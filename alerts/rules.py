"""Alert and task rules (pure): from one applied outcome to the messages it warrants.

* ``riskmon.alert.class_changed`` whenever the class changes, except an enterprise first seen
  in A (the default; a registration is not news).
* ``riskmon.task.created`` (trigger-based, on-site) when an enterprise enters D, and when a
  serious-violation listing is applied.

The same outcome of the same cause always yields the same messages with the same ids.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from schemas.alerts import (
    ALERT_CLASS_CHANGED,
    TASK_CREATED,
    Cause,
    ClassChanged,
    OutgoingEnvelope,
    OutputData,
    OutputType,
    Reason,
    TaskCreated,
)
from schemas.classes import class_name, name_or_none
from schemas.codec import dumps
from schemas.events import TICKER_SOURCE, EventType
from scoring.changes import KEY_PREFIXES
from scoring.fold import Outcome
from scoring.partition import Fired

__all__ = [
    "SOURCE",
    "Kind",
    "Message",
    "derive",
    "derived_id",
    "event_messages",
    "may_warrant",
    "message",
    "time_cause",
]

#: CloudEvents ``source`` of everything riskmon emits (constant: ids must not depend on which
#: worker sent them).
SOURCE = "/riskmon/scoring"
_NS = uuid.UUID("5b0c6d62-2f1e-4d53-9a39-8f0e2f7d1a11")


#: Where a message goes: ``riskmon.alerts``, ``riskmon.tasks`` or ``riskmon.reminders``.
Kind = Literal["alert", "task", "reminder"]


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    id: str
    type: str
    key: bytes
    value: bytes
    trigger: str = ""


def derived_id(*parts: str) -> str:
    """A message id derived from what caused it (UUID v5 of ``parts``): the same cause gives
    the same id, whichever worker sends it and however often."""
    return str(uuid.uuid5(_NS, "|".join(parts)))


_id = derived_id


def _reason(key: str, micro: int, floor: int) -> Reason:
    prefix = key.split(":", 1)[0]
    return Reason(
        key=key,
        event_type=str(KEY_PREFIXES.get(prefix, "unknown")),
        points=micro / 1_000_000,
        floor=floor > 0,
    )


def message(
    kind: Kind,
    etype: OutputType,
    mid: str,
    uscc: str,
    asof: dt.datetime,
    data: OutputData,
    trigger: str = "",
) -> Message:
    """One output as riskmon sends it: ``data`` in its CloudEvents envelope (checked against
    ``etype``), keyed by the enterprise."""
    env = OutgoingEnvelope(id=mid, source=SOURCE, type=etype, subject=uscc, time=asof, data=data)
    return Message(kind, mid, etype, uscc.encode(), dumps(env.model_dump(mode="json")), trigger)


def time_cause(uscc: str, asof: int) -> Cause:
    """The cause of a class change made by time alone at ``asof`` (Unix s): a re-evaluation of
    ``uscc`` from riskmon's ticker, with the id the ticker's own record for it would carry,
    so a time-driven change has one alert id however it came about."""
    return Cause(source=TICKER_SOURCE, id=f"{uscc}@{asof}", type=EventType.REEVALUATE.value)


def may_warrant(outcome: Outcome) -> bool:
    """False when :func:`derive` can return nothing whatever the cause: no class change (a
    new enterprise starting in A is none either), and not in D (where a serious-violation
    listing still makes a task). Cheap: the hot path asks it before building a cause, and
    apply.lua keeps a duplicate's outcome only where it is True (its rule is this one)."""
    old, new = outcome.old_class, outcome.new_class
    return new == 4 or (new != old and new != 0 and not (old == 0 and new == 1))


def derive(uscc: str, cause: Cause, outcome: Outcome, model_version: str) -> Sequence[Message]:
    """The alerts and tasks that ``outcome`` (of ``cause`` on ``uscc``) warrants."""
    old, new = outcome.old_class, outcome.new_class
    if not may_warrant(outcome):
        return ()
    asof = dt.datetime.fromtimestamp(outcome.asof, dt.UTC)
    cause_key = f"{cause.source}\x00{cause.id}"
    out: list[Message] = []
    if old != new and not (old == 0 and new == 1):
        data = ClassChanged(
            uscc=uscc,
            old_class=name_or_none(old),
            new_class=class_name(new),
            score=outcome.score / 1_000_000,
            asof=asof,
            model_version=model_version,
            cause=cause,
            reasons=[_reason(k, m, f) for k, m, f in outcome.reasons],
        )
        mid = _id(uscc, cause_key, "class_changed")
        out.append(message("alert", ALERT_CLASS_CHANGED, mid, uscc, asof, data))
    # One on-site task per cause: a listing that also drives the firm into D is one trigger.
    triggers: list[Literal["class_d", "serious_violation"]] = []
    if new == 4 and cause.type == EventType.SERIOUS_VIOLATION_ADDED:
        triggers.append("serious_violation")
    elif new == 4 and old != 4:
        triggers.append("class_d")
    for trigger in triggers:
        tid = _id(uscc, cause_key, "task", trigger)
        task = TaskCreated(
            task_id=tid,
            uscc=uscc,
            trigger=trigger,
            risk_class=class_name(new),
            asof=asof,
            model_version=model_version,
            cause=cause,
        )
        out.append(message("task", TASK_CREATED, tid, uscc, asof, task, trigger))
    return out


def event_messages(
    uscc: str,
    source: str,
    event_id: str,
    event_type: str,
    outcome: Outcome,
    fired: Sequence[Fired],
    model_version: str,
) -> list[Message]:
    """Everything one event warrants, in the order of event time: the messages of the
    time-driven changes it made before it was applied, its own (cause: the event), then those
    it made after (cause of a change: :func:`time_cause` at its due moment, so the ids do not
    depend on which event's time made the change). What the worker sends for an event, and
    what ``riskmon replay --outputs`` lists.

    ``fired`` is in the order the changes were made; which came before the event follows from
    their times (scoring/partition.py): a change made before it is due at or before the
    event's time, so at or before its outcome's as-of time, and one made after it, its own
    enterprise's next, strictly after that."""
    out: list[Message] = []
    own = outcome.asof
    for f in fired:
        if f.outcome.asof <= own and may_warrant(f.outcome):
            out.extend(derive(f.uscc, time_cause(f.uscc, f.outcome.asof), f.outcome, model_version))
    if may_warrant(outcome):  # else skips building a Cause for the common no-news outcome
        cause = Cause(source=source, id=event_id, type=event_type)
        out.extend(derive(uscc, cause, outcome, model_version))
    for f in fired:
        if f.outcome.asof > own and may_warrant(f.outcome):
            out.extend(derive(f.uscc, time_cause(f.uscc, f.outcome.asof), f.outcome, model_version))
    return out
