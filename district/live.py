"""The district going on after its history: live events at the caller's clock (pure)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator
from typing import Any

from district.conduct import (
    MAX_RATE,
    OTHER_ABNORMAL,
    case_lead,
    complaint,
    event_rates,
    inspection_required,
    monitoring_signal,
    penalty,
)
from district.enterprises import CST, DistrictSpec, enterprise
from schemas.codec import CreditEvent
from schemas.events import DATA_MODELS, EventType

__all__ = ["live_events"]


def live_events(spec: DistrictSpec, times: Iterable[dt.datetime]) -> Iterator[CreditEvent]:
    """The district going on after its history: one event per element of ``times`` (aware).

    Each event falls on an enterprise drawn in proportion to its event rate (so habitual
    offenders act more often) and is of a kind drawn by those rates: complaints, penalties,
    abnormal-operations and serious-violation listings, and supervision's triggers (monitoring
    signals, transferred case leads, inspections a law requires); no spot checks, which in the
    live district come from plans (the demo's ``local/inspections.py``). Ids are
    ``<uscc>-L<n>``, apart from the history's. Deterministic for a given spec and sequence of
    times; the caller supplies the clock (e.g. the wall clock, lazily), so this stays pure.
    """
    rng = random.Random(f"{spec.seed}:live")
    for n, when in enumerate(times):
        while True:
            ent = enterprise(spec, rng.randrange(spec.enterprises))
            rates = event_rates(ent)
            rates["abnormal"] += rates.pop("annual_report_lapse")
            del rates["inspection"]  # live spot checks go through plans (local/inspections.py)
            if rng.random() * MAX_RATE < sum(rates.values()):
                break
        kind = rng.choices(list(rates), weights=list(rates.values()))[0]
        t = when.replace(microsecond=0).astimezone(CST)
        year, div = t.year, ent.division
        number = f"市监{{}}〔{year}〕{ent.uscc[9:16]}-L{n}号"
        etype: EventType
        data: dict[str, Any]
        if kind == "complaint":
            etype, source, data = EventType.COMPLAINT_RECEIVED, "/12315", complaint(rng, ent)
        elif kind == "penalty":
            etype, source = EventType.PENALTY_IMPOSED, f"/cfs/{div}"
            data = penalty(rng, ent, number.format("罚"))
        elif kind == "abnormal":
            etype, source = EventType.ABNORMAL_LIST_ADDED, f"/gsxt/{div}"
            reason = rng.choice(("annual_report_missing", *OTHER_ABNORMAL))
            data = {"decision_number": number.format("异"), "reason": reason}
        elif kind == "serious_violation":
            etype, source = EventType.SERIOUS_VIOLATION_ADDED, f"/gsxt/{div}"
            data = {"decision_number": number.format("严"), "reason": "严重违法失信情形"}
        elif kind == "monitoring_signal":
            etype, source = EventType.MONITORING_SIGNAL, f"/jcyj/{div}"
            data = monitoring_signal(rng, ent)
        elif kind == "case_lead":
            etype, source, data = EventType.CASE_LEAD_TRANSFERRED, f"/ajxs/{div}", case_lead(rng)
        else:
            etype, source = EventType.INSPECTION_REQUIRED, f"/zfjc/{div}"
            data = inspection_required(ent)
        yield CreditEvent(
            id=f"{ent.uscc}-L{n}",
            source=source,
            type=etype,
            subject=ent.uscc,
            time=t,
            data=DATA_MODELS[etype].model_validate(data),
        )
