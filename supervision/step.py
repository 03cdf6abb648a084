"""Supervision's per-partition fold (pure): one batch of events, in log order, after scoring.

The worker runs :func:`step` after the scoring apply of each batch and before its outputs::

    want = wants(inputs, lateness)       # what to read
    loaded = store.load(partition, want)  # one read (plus the records its due members name)
    fx = step(loaded, inputs, cfg, model_version, lateness)
    store.write(partition, fx)            # one MULTI/EXEC, WATCHed on the meta key
    send fx.messages                       # per input, after scoring's own messages

Exactly once: an input already in the ledger (``Loaded.seen``, or applied earlier in the same
batch) changes nothing and re-sends the messages stored for it. Time: supervision's own
event-time watermark ``ew``; before each input is applied, ``ew = max(ew, time)`` and every
due entry at or before ``ew - lateness`` fires in ``(time, member)`` order; the same again
right after it (for entries the input itself made already due, e.g. a late penalty's repair
window), so at the end of every input nothing due is left pending and a batch split in two
gives the same messages, per input, as in one. Due members: ``t:<task id>`` (overdue),
``obs:<uscc>`` (expiry), ``rem:<uscc>|<decision number>`` (penalty repair reminder).

The ticker's ``riskmon.reevaluate`` records move the watermark on an idle partition (and,
like any event, carry the class scoring found, which may end a period); they trigger nothing.
Unknown task ids in a command or a completion change nothing and are listed in
``Effects.ignored`` for the worker to log.

``Input.tz_offset`` must be the event time's UTC offset: an observation period runs from
midnight of the founding date in that offset, as scoring dates the founding.

Early warnings on enterprises (``supervision/warnings.py``, given ``rules``): each input's
warnings follow its other supervision messages, the warning states of its enterprises
(``Loaded.warnings``, read for ``Wants.usccs``) are written in the same MULTI, and the ledger
re-sends them with the rest; the address cluster, which spans partitions, is the store's
(``supervision/store/addresses.py``).

Every message's time is event time, every id is derived from its cause: the same inputs in the
same order from the same state give the same :class:`Effects`.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from alerts.rules import Message
from alerts.warnings.enterprise import Rules
from alerts.warnings.state import EnterpriseWarnings
from schemas.alerts import TASK_CREATED
from schemas.events import EventType, InspectionCompleted
from scoring.fold import Outcome
from scoring.partition import Fired
from supervision.config import SupervisionConfig
from supervision.ids import plan_task_id
from supervision.records import ObservationRecord, TaskRecord
from supervision.rules import Batch
from supervision.warnings import warn

__all__ = ["Effects", "Input", "Loaded", "Wants", "step", "wants"]

_TASK_REFS = {
    EventType.TASK_PLANNED,
    EventType.TASK_ASSIGNED,
    EventType.TASK_STARTED,
    EventType.TASK_CANCELLED,
}


@dataclass(slots=True)
class Input:
    """One event of the batch, in log order."""

    #: ``scoring.changes.event_hash(source, id)``: the ledger key.
    ehash: str
    #: ``schemas.events.EventType`` value.
    etype: str
    uscc: str
    source: str
    event_id: str
    #: Event time, Unix s.
    time: int
    #: The event's data model (``schemas.events``).
    data: BaseModel
    #: Scoring's outcome of this event (a duplicate's: its first copy's, or one that warrants
    #: nothing; ``new_class`` 0 = unknown).
    outcome: Outcome
    #: Time-driven class changes this event brought about (any enterprise of the partition).
    fired: tuple[Fired, ...] = ()
    #: What scoring sends for it (``alerts.rules.event_messages``): its ``task.created``
    #: messages (class_d, serious_violation) become tracked tasks.
    scoring: tuple[Message, ...] = ()
    #: The event time's UTC offset (seconds east): a founding date is midnight there.
    tz_offset: int = 0


@dataclass(frozen=True, slots=True)
class Wants:
    """What the store must read for a batch."""

    #: Ledger entries (``sup:seen``) to look up.
    hashes: frozenset[str]
    #: Tasks (``sup:t``) the inputs name.
    tasks: frozenset[str]
    #: Observation records (``sup:obs``) of the enterprises the inputs concern.
    usccs: frozenset[str]
    #: Due entries (``sup:due``) with a time at or before this (Unix s) are to be loaded.
    due_until: int


@dataclass(slots=True)
class Loaded:
    """The partition's supervision state a batch needs, as the store read it."""

    #: Supervision's event-time watermark (0: none yet).
    ew: int
    #: Of ``Wants.hashes``: those already applied -> the messages sent then.
    seen: dict[str, list[Message]]
    #: Of ``Wants.tasks``, and of every due ``t:<id>`` loaded: those that exist.
    tasks: dict[str, TaskRecord]
    #: Of ``Wants.usccs``, and of every due ``obs:<uscc>`` loaded: those that exist.
    observations: dict[str, ObservationRecord]
    #: Due entries with time <= ``Wants.due_until``, ascending ``(time, member)``.
    due: list[tuple[int, str]]
    #: Of ``Wants.usccs``: the warning states that exist (read only when warnings run).
    warnings: dict[str, EnterpriseWarnings] = field(default_factory=dict)


@dataclass(slots=True)
class Effects:
    """What the store writes (one MULTI) and the worker sends."""

    ew: int
    #: Tasks created or changed (the whole record, to write).
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    #: Observation records created or changed.
    observations: dict[str, ObservationRecord] = field(default_factory=dict)
    #: Due members to add or move -> their time; and those to remove (fired or void).
    due_set: dict[str, int] = field(default_factory=dict)
    due_removed: set[str] = field(default_factory=set)
    #: Every input applied now -> what was sent for it ([] if nothing).
    seen: dict[str, list[Message]] = field(default_factory=dict)
    #: ``"<class at draw>|<result>"`` -> random-plan inspections completed (to add).
    discovery: Counter[str] = field(default_factory=Counter)
    #: uscc -> inspectors of its newest plan task.
    last_inspectors: dict[str, list[str]] = field(default_factory=dict)
    #: Per input, in order: what to send for it (a seen input: its stored messages again).
    messages: list[list[Message]] = field(default_factory=list)
    #: (ehash, why) of inputs that named something supervision does not know (to log).
    ignored: list[tuple[str, str]] = field(default_factory=list)
    #: Warning states created or changed (uscc -> the whole state, to write).
    warnings: dict[str, EnterpriseWarnings] = field(default_factory=dict)
    #: (rule, severity) -> warnings raised by inputs applied now (not re-sent ones).
    raised: Counter[tuple[str, str]] = field(default_factory=Counter)


def wants(inputs: Sequence[Input], lateness: int) -> Wants:
    """What :func:`step` needs read for ``inputs`` with allowed ``lateness`` (s).

    The store must also load the records that the loaded due members name (a second read):
    the task of every ``t:<id>`` and the observation of every ``obs:<uscc>``, into
    ``Loaded.tasks`` / ``Loaded.observations``. Due entries up to ``due_until`` suffice:
    :func:`step` leaves nothing due at or before ``ew - lateness`` pending after a batch, so
    only entries up to the newest input's time less ``lateness`` can fire now."""
    tasks: set[str] = set()
    usccs: set[str] = set()
    for i in inputs:
        usccs.add(i.uscc)
        usccs.update(f.uscc for f in i.fired)
        if i.etype in _TASK_REFS:
            tasks.add(str(getattr(i.data, "task_id", "")))
        elif i.etype == EventType.INSPECTION_COMPLETED and isinstance(i.data, InspectionCompleted):
            if i.data.task_id:
                tasks.add(i.data.task_id)
            if i.data.plan_id:
                tasks.add(plan_task_id(i.data.plan_id, i.uscc))
        tasks.update(m.id for m in i.scoring if m.type == TASK_CREATED)
    tasks.discard("")
    newest = max((i.time for i in inputs), default=0)
    return Wants(
        hashes=frozenset(i.ehash for i in inputs),
        tasks=frozenset(tasks),
        usccs=frozenset(usccs),
        due_until=newest - lateness,
    )


def step(
    loaded: Loaded,
    inputs: Sequence[Input],
    cfg: SupervisionConfig,
    model_version: str,
    lateness: int,
    rules: Rules | None = None,
) -> Effects:
    """Apply ``inputs`` (in log order) to ``loaded``; see the module docstring. ``loaded`` is
    not changed. ``rules``: the enterprise warning rules (None: no warnings)."""
    batch = Batch(
        tasks=copy.deepcopy(loaded.tasks),
        observations=copy.deepcopy(loaded.observations),
        cfg=cfg,
        model_version=model_version,
        fx=Effects(ew=loaded.ew),
        due={m: t for t, m in loaded.due},
    )
    fx = batch.fx
    states = dict(loaded.warnings)
    for i in inputs:
        stored = loaded.seen.get(i.ehash, fx.seen.get(i.ehash))
        if stored is not None:
            fx.messages.append(list(stored))
            continue
        out: list[Message] = []
        fx.ew = max(fx.ew, i.time)
        batch.fire_due(fx.ew - lateness, out)
        batch.apply(i, out)
        batch.fire_due(fx.ew - lateness, out)
        if rules is not None:
            out.extend(warn(states, fx.warnings, i, rules, fx.raised))
        fx.seen[i.ehash] = out
        fx.messages.append(out)
    return fx
