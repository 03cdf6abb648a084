"""The reference: a single-threaded fold of the scoring model over an event log.

Whatever happens to the real pipeline (redelivery, re-publication, batching, lag, crashes), its
final Redis state, alert ids, task ids and dead letters must equal what this computes from the
same log.

The log is the one the test published: give it that, not the events topic read back after a
worker ran. It holds no ticker records (test workers run with ``RISKMON_IDLE_SECONDS=0``, so
none are published), and this module reads no topic: time-driven class changes are made here
in event time by :class:`scoring.partition.Partition`, each partition's watermark moved by the
partition's own events, exactly as apply.lua makes them. (A log that does hold ticker records,
such as the topic of a partition that idled, is folded as the worker folds it: they pass
``validate_record`` as the ticker's and raise the watermark like any event.)

Per partition, in offset order: a record that fails validation is a dead letter; an event
whose ``source`` + ``id`` the partition's ledger holds is a duplicate, and stands for what its
first copy did (its outcome and the time-driven changes it brought about); any other event is
applied. The alerts and tasks of an event are those of its outcome (cause: the event) and of
each change it brought about (cause: :func:`alerts.rules.time_cause`, at the change's due
moment), for its first copy and every duplicate alike (their ids are the same).

Supervision (tasks, observation periods, reminders) is folded after scoring, event by event,
by :func:`supervision.step.step` on the partition's whole supervision state held here (what
the worker reads from Redis for a batch, and writes back): its own ledger makes an event seen
before re-send what it sent the first time. An event's supervision messages count with its
scoring ones: observation periods and overdue tasks among the alerts, the tasks it creates
among the tasks, and risk reminders in ``reminder_ids``.

Early warnings on enterprises (the warnings file: the shipped default unless given) are folded
with supervision, as the worker folds them, their ids among the alerts and in ``warning_ids``.
The address cluster is folded here over one dict per address hash (uscc -> its rank, the hash
of the event that gave it), the log's records in the order given: the enterprise that reaches
a level may differ from the worker's (its partitions interleave otherwise), its id may not.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from alerts.rules import Message, derive, event_messages, time_cause
from alerts.warnings import WarningsConfig
from alerts.warnings import load as load_warnings
from alerts.warnings.address import address_hash, address_warning, is_level
from alerts.warnings.enterprise import Rules
from alerts.warnings.state import EnterpriseWarnings
from schemas.alerts import ALERT_WARNING, Cause, Evidence
from schemas.events import EnterpriseRegistered
from schemas.exceptions import InvalidEventError
from scoring.changes import change_for
from scoring.fold import EnterpriseState, Outcome, Params
from scoring.model import ScoringModel
from scoring.partition import Fired, Partition
from streams.planning import Record, validate_record
from supervision.config import SupervisionConfig
from supervision.config import load as load_supervision
from supervision.records import ObservationRecord, TaskRecord
from supervision.step import Effects, Input, Loaded, step, wants

__all__ = ["Expected", "SupervisionState", "reference"]


@dataclass
class SupervisionState:
    """One partition's supervision state, as the keys of ``supervision/store/keys.py`` hold it."""

    ew: int = 0
    seen: dict[str, list[Message]] = field(default_factory=dict)
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    observations: dict[str, ObservationRecord] = field(default_factory=dict)
    due: dict[str, int] = field(default_factory=dict)
    discovery: Counter[str] = field(default_factory=Counter)
    last_inspectors: dict[str, list[str]] = field(default_factory=dict)
    warnings: dict[str, EnterpriseWarnings] = field(default_factory=dict)

    def load(self, inputs: list[Input], lateness: int) -> Loaded:
        """What the store reads for ``inputs`` (everything here; the due entries it would)."""
        w = wants(inputs, lateness)
        due = sorted((t, m) for m, t in self.due.items() if t <= w.due_until)
        return Loaded(
            ew=self.ew,
            seen={h: self.seen[h] for h in w.hashes if h in self.seen},
            tasks=dict(self.tasks),
            observations=dict(self.observations),
            due=due,
            warnings={u: self.warnings[u] for u in w.usccs if u in self.warnings},
        )

    def write(self, e: Effects) -> None:
        """What the store writes for ``e``."""
        self.ew = e.ew
        self.tasks.update(e.tasks)
        self.observations.update(e.observations)
        for m in e.due_removed:
            self.due.pop(m, None)
        self.due.update(e.due_set)
        self.seen.update(e.seen)
        self.discovery.update(e.discovery)
        self.last_inspectors.update(e.last_inspectors)
        self.warnings.update(e.warnings)


@dataclass
class Expected:
    states: dict[str, EnterpriseState] = field(default_factory=dict)
    alert_ids: set[str] = field(default_factory=set)
    task_ids: set[str] = field(default_factory=set)
    dead: list[tuple[int, int, str]] = field(default_factory=list)
    duplicates: int = 0
    #: (uscc, old class, new class) of every class change, time-driven ones included, in order
    transitions: list[tuple[str, int, int]] = field(default_factory=list)
    #: (uscc, due) of every time-driven change made (what the Redis meta field ``ew`` drove)
    fired: list[tuple[str, int]] = field(default_factory=list)
    #: each partition's event-time watermark at the end of the log (absent: no event applied)
    watermarks: dict[int, int] = field(default_factory=dict)
    #: risk reminders' ids (riskmon.reminders)
    reminder_ids: set[str] = field(default_factory=set)
    #: each partition's supervision state at the end of the log
    supervision: dict[int, SupervisionState] = field(default_factory=dict)
    #: early warnings' ids (riskmon.alert.warning; among ``alert_ids`` too)
    warning_ids: set[str] = field(default_factory=set)
    #: the ids of the near_boundary warnings among them (docs/warnings.md: the one rule a
    #: kill between scoring's write and supervision's may miss)
    near_boundary_ids: set[str] = field(default_factory=set)
    #: address hash -> uscc -> (its rank there, the hash of the event that gave it)
    addresses: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)

    @property
    def tasks(self) -> dict[str, TaskRecord]:
        """Every tracked task, by id."""
        return {t: r for s in self.supervision.values() for t, r in s.tasks.items()}


def reference(
    records: Iterable[Record],
    model: ScoringModel,
    partitions: int,
    max_event_bytes: int = 65_536,
    supervision: SupervisionConfig | None = None,
    warnings: WarningsConfig | None = None,
) -> Expected:
    """Fold ``records`` (each partition in offset order) as riskmon promises to.
    ``supervision``, ``warnings``: their files (None: the defaults, as test workers run)."""
    p = Params.of(model)
    cfg = supervision if supervision is not None else load_supervision(None)
    rules = Rules.of(warnings if warnings is not None else load_warnings(None), p.thresholds)
    out = Expected()
    parts: dict[int, Partition] = {}
    # per partition, as in Redis: event hash -> (its outcome, the changes it brought about)
    ledger: dict[tuple[int, str], tuple[Outcome, tuple[Fired, ...]]] = {}
    for rec in records:
        try:
            ev = validate_record(rec, partitions, max_event_bytes)
        except InvalidEventError as exc:
            out.dead.append((rec.partition, rec.offset, exc.reason))
            continue
        ch = change_for(ev, model)
        entry = ledger.get((rec.partition, ch.event_hash))
        if entry is None:
            part = parts.setdefault(rec.partition, Partition())
            entry = part.apply(ev.subject, ch, p)
            ledger[(rec.partition, ch.event_hash)] = entry
            outcome, fired = entry
            if outcome.old_class != outcome.new_class:
                out.transitions.append((ev.subject, outcome.old_class, outcome.new_class))
            for f in fired:
                out.fired.append((f.uscc, f.outcome.asof))
                if f.outcome.old_class != f.outcome.new_class:
                    out.transitions.append((f.uscc, f.outcome.old_class, f.outcome.new_class))
        else:
            out.duplicates += 1
        outcome, fired = entry
        cause = Cause(source=ev.source, id=ev.id, type=str(ev.type))
        messages = [*derive(ev.subject, cause, outcome, model.version)]
        for f in fired:
            messages += derive(f.uscc, time_cause(f.uscc, f.outcome.asof), f.outcome, model.version)
        # What the worker hands supervision: the event's scoring messages in event-time order.
        scoring = event_messages(
            ev.subject, ev.source, ev.id, str(ev.type), outcome, fired, model.version
        )
        assert {m.id for m in scoring} == {m.id for m in messages}
        inp = Input(
            ehash=ch.event_hash,
            etype=str(ev.type),
            uscc=ev.subject,
            source=ev.source,
            event_id=ev.id,
            time=ev.epoch_seconds,
            data=ev.data,
            outcome=outcome,
            fired=fired,
            scoring=tuple(scoring),
            tz_offset=int(off.total_seconds()) if (off := ev.time.utcoffset()) else 0,
        )
        sup = out.supervision.setdefault(rec.partition, SupervisionState())
        effects = step(sup.load([inp], p.lateness), [inp], cfg, model.version, p.lateness, rules)
        sup.write(effects)
        for per_event in effects.messages:
            messages += per_event
        messages += _address_messages(out, inp, rules)
        for m in messages:
            if m.type == ALERT_WARNING:
                out.warning_ids.add(m.id)
                if orjson.loads(m.value)["data"]["rule_kind"] == "near_boundary":
                    out.near_boundary_ids.add(m.id)
        for msg in messages:
            ids = {"alert": out.alert_ids, "task": out.task_ids, "reminder": out.reminder_ids}
            ids[msg.kind].add(msg.id)
    for n, part in sorted(parts.items()):
        out.states.update(part.states)
        out.watermarks[n] = part.watermark
    return out


def _address_messages(out: Expected, inp: Input, rules: Rules) -> list[Message]:
    """The address-cluster warnings of ``inp`` (supervision/store/addresses.py, in a dict)."""
    data = inp.data
    if not rules.address or not isinstance(data, EnterpriseRegistered) or not data.address:
        return []
    h = address_hash(data.address)
    if not h:
        return []
    members = out.addresses.setdefault(h, {})
    rank, ehash = members.setdefault(inp.uscc, (len(members) + 1, inp.ehash))
    if ehash != inp.ehash:
        return []
    proof = Evidence(
        source=inp.source,
        id=inp.event_id,
        type=inp.etype,
        time=dt.datetime.fromtimestamp(inp.time, dt.UTC),
    )
    place = (data.division_code, data.industry_code)
    return [
        address_warning(r, rules.version, inp.uscc, h, rank, proof, place).message
        for r in rules.address
        if is_level(rank, r.min_enterprises)
    ]
