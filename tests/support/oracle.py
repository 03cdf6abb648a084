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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from alerts.rules import derive, time_cause
from schemas.alerts import Cause
from schemas.exceptions import InvalidEventError
from scoring.changes import change_for
from scoring.fold import EnterpriseState, Outcome, Params
from scoring.model import ScoringModel
from scoring.partition import Fired, Partition
from streams.planning import Record, validate_record

__all__ = ["Expected", "reference"]


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


def reference(
    records: Iterable[Record], model: ScoringModel, partitions: int, max_event_bytes: int = 65_536
) -> Expected:
    """Fold ``records`` (each partition in offset order) as riskmon promises to."""
    p = Params.of(model)
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
        for msg in messages:
            (out.alert_ids if msg.kind == "alert" else out.task_ids).add(msg.id)
    for n, part in sorted(parts.items()):
        out.states.update(part.states)
        out.watermarks[n] = part.watermark
    return out
