"""The reference: a single-threaded fold of the scoring model over an event log.

Whatever happens to the real pipeline (redelivery, re-publication, crashes), its final Redis
state, alert ids, task ids and dead letters must equal what this computes from the same log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from alerts.rules import derive
from schemas.alerts import Cause
from schemas.exceptions import InvalidEventError
from scoring.changes import change_for
from scoring.fold import EnterpriseState, Outcome, Params, apply
from scoring.model import ScoringModel
from streams.planning import Record, validate_record
from streams.ticker import TICKER_SOURCE


@dataclass
class Expected:
    states: dict[str, EnterpriseState] = field(default_factory=dict)
    alert_ids: set[str] = field(default_factory=set)
    task_ids: set[str] = field(default_factory=set)
    dead: list[tuple[int, int, str]] = field(default_factory=list)
    duplicates: int = 0
    transitions: list[tuple[str, int, int]] = field(default_factory=list)


def reference(
    records: Iterable[Record], model: ScoringModel, partitions: int, max_event_bytes: int = 65_536
) -> Expected:
    """Fold ``records`` (each partition in offset order) as riskmon promises to."""
    p = Params.of(model)
    out = Expected()
    ledger: dict[tuple[int, str], Outcome] = {}  # per partition, as in Redis
    for rec in records:
        try:
            ev = validate_record(rec, partitions, max_event_bytes, TICKER_SOURCE)
        except InvalidEventError as exc:
            out.dead.append((rec.partition, rec.offset, exc.reason))
            continue
        ch = change_for(ev, model)
        outcome = ledger.get((rec.partition, ch.event_hash))
        if outcome is None:
            state = out.states.get(ev.subject, EnterpriseState())
            state, outcome = apply(state, ch, p)
            if state != EnterpriseState():
                out.states[ev.subject] = state
            ledger[(rec.partition, ch.event_hash)] = outcome
            if outcome.old_class != outcome.new_class:
                out.transitions.append((ev.subject, outcome.old_class, outcome.new_class))
        else:
            out.duplicates += 1
        cause = Cause(source=ev.source, id=ev.id, type=str(ev.type))
        for msg in derive(ev.subject, cause, outcome, model.version):
            (out.alert_ids if msg.kind == "alert" else out.task_ids).add(msg.id)
    return out
