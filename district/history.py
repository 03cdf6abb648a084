"""One enterprise's history over the simulated period, and the district's as a stream (pure).

Enterprise ``i`` of seed ``s`` draws its events from ``random.Random(f"{s}:{i}:events")``. Within
an enterprise, every removal or revocation comes after what it removes, in event time and in
stream order. :func:`events` works on ``chunk`` enterprises at a time (their histories merged in
event-time order), so memory stays bounded at a million enterprises.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Iterator
from typing import Any

from district.addresses import burst_times
from district.conduct import (
    OTHER_ABNORMAL,
    case_lead,
    complaint,
    event_rates,
    inspection_required,
    inspection_result,
    monitoring_signal,
    penalty,
)
from district.enterprises import CST, DAY, YEAR, DistrictSpec, Enterprise, enterprise
from schemas.codec import CreditEvent, encode_event
from schemas.events import DATA_MODELS, EventType

__all__ = ["events", "history", "lines"]


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: exact, and fast for the small means used here.
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _office_time(rng: random.Random, t: int) -> int:
    """``t`` moved to a random second of office hours (08:30-17:30 CST) on its own day."""
    day = (t + 8 * 3600) // DAY * DAY - 8 * 3600
    return day + 30_600 + rng.randrange(32_400)


class _History:
    """Builds one enterprise's events, numbering ids and decision numbers per enterprise."""

    def __init__(self, spec: DistrictSpec, ent: Enterprise) -> None:
        self.spec, self.ent = spec, ent
        self.rng = random.Random(f"{spec.seed}:{ent.index}:events")
        self.out: list[tuple[int, int, CreditEvent]] = []
        self.seq = itertools.count()

    def add(self, t: int, etype: EventType, source: str, data: dict[str, Any]) -> None:
        n = next(self.seq)
        ev = CreditEvent(
            id=f"{self.ent.uscc}-{n:04d}",
            source=source,
            type=etype,
            subject=self.ent.uscc,
            time=dt.datetime.fromtimestamp(t, CST),
            data=DATA_MODELS[etype].model_validate(data),
        )
        self.out.append((t, n, ev))

    def decision(self, kind: str, t: int) -> str:
        year = dt.datetime.fromtimestamp(t, CST).year
        return f"市监{kind}〔{year}〕{self.ent.uscc[9:16]}-{len(self.out):03d}号"

    def times(self, t0: int, rate_per_year: float) -> list[int]:
        span = self.spec.end - t0
        n = _poisson(self.rng, rate_per_year * span / YEAR)
        drawn = (_office_time(self.rng, t0 + self.rng.randrange(span)) for _ in range(n))
        # office hours can move a draw out of the window at its two ends: those are dropped
        return sorted(t for t in drawn if t0 <= t < self.spec.end)

    def later(self, t: int, min_days: int, max_days: int) -> int | None:
        """A time ``min_days``..``max_days`` after ``t``, or None if that is past the period."""
        when = _office_time(self.rng, t + self.rng.randint(min_days, max_days) * DAY)
        return when if t < when < self.spec.end else None


def history(spec: DistrictSpec, ent: Enterprise) -> list[CreditEvent]:
    """All events of ``ent`` in the period, in event-time order (registration first)."""
    h = _History(spec, ent)
    rng, p, div = h.rng, ent.propensity, ent.division
    founded = int(dt.datetime.combine(ent.founded_on, dt.time(9), CST).timestamp())
    # Older firms: their registration record as of the period's first days (a snapshot).
    t0 = max(founded, spec.start + rng.randrange(3 * DAY))
    t0 = min(t0, spec.end - 1)
    h.add(
        t0,
        EventType.ENTERPRISE_REGISTERED,
        f"/djzc/{div}",
        {
            "name": ent.name,
            "entity_type": ent.entity_type,
            "division_code": ent.division,
            "industry_code": ent.industry,
            "founded_on": ent.founded_on.isoformat(),
            "registered_capital_cny": ent.registered_capital_cny,
            "new_economy": ent.new_economy,
            **({"address": ent.address} if ent.address else {}),
        },
    )
    t0 += 1
    if t0 >= spec.end:
        return [ev for _, _, ev in h.out]
    rates = event_rates(ent)
    for t in h.times(t0, rates["complaint"]):
        h.add(t, EventType.COMPLAINT_RECEIVED, "/12315", complaint(rng, ent))
    for t in h.times(t0, rates["penalty"]):
        number = h.decision("罚", t)
        h.add(t, EventType.PENALTY_IMPOSED, f"/cfs/{div}", penalty(rng, ent, number))
        if rng.random() < 0.04 and (when := h.later(t, 20, 120)):
            h.add(
                when,
                EventType.PENALTY_REVOKED,
                f"/cfs/{div}",
                {"decision_number": number, "reason": "行政复议撤销"},
            )
    # Annual reports are due by 30 June; a firm that misses it is listed in July.
    first_year = dt.datetime.fromtimestamp(t0, CST).year
    for year in range(first_year, spec.now.astimezone(CST).year + 1):
        due = int(dt.datetime(year, 7, 1, 9, tzinfo=CST).timestamp())
        if ent.founded_on.year >= year or not t0 <= due < spec.end:
            continue
        if rng.random() < rates["annual_report_lapse"]:
            t = _office_time(rng, due + rng.randrange(15) * DAY)
            if t >= spec.end:
                continue
            _listing(h, t, "annual_report_missing", 0.7, (10, 200))
    for t in h.times(t0, rates["abnormal"]):
        _listing(h, t, rng.choice(OTHER_ABNORMAL), 0.5, (30, 400))
    for t in h.times(t0, rates["serious_violation"]):
        number = h.decision("严", t)
        h.add(
            t,
            EventType.SERIOUS_VIOLATION_ADDED,
            f"/gsxt/{div}",
            {"decision_number": number, "reason": "严重违法失信情形"},
        )
        if rng.random() < 0.3 and (when := h.later(t, 365, 1_000)):
            h.add(
                when,
                EventType.SERIOUS_VIOLATION_REMOVED,
                f"/gsxt/{div}",
                {"decision_number": number, "reason": "信用修复"},
            )
    # Random spot checks: drawn regardless of propensity; what they find depends on it.
    for t in h.times(t0, rates["inspection"]):
        result = inspection_result(rng, p)
        local = dt.datetime.fromtimestamp(t, CST)
        plan = f"SJ{local.year}-{div}-Q{(local.month - 1) // 3 + 1}"
        h.add(
            t, EventType.INSPECTION_COMPLETED, f"/sjjc/{div}", {"result": result, "plan_id": plan}
        )
    # Supervision's triggers (drawn last, so the events above do not depend on them).
    for t in h.times(t0, rates["monitoring_signal"]):
        h.add(t, EventType.MONITORING_SIGNAL, f"/jcyj/{div}", monitoring_signal(rng, ent))
    for t in h.times(t0, rates["case_lead"]):
        h.add(t, EventType.CASE_LEAD_TRANSFERRED, f"/ajxs/{div}", case_lead(rng))
    for t in h.times(t0, rates["inspection_required"]):
        h.add(t, EventType.INSPECTION_REQUIRED, f"/zfjc/{div}", inspection_required(ent))
    _bursts(h, t0)
    h.out.sort(key=lambda row: (row[0], row[1]))
    return [ev for _, _, ev in h.out]


def _bursts(h: _History, t0: int) -> None:
    """What the early warnings look for, the likelier the riskier the firm: a burst of 5-9
    complaints within three weeks, and a cluster of 3 penalties within five months. Drawn
    last, from a generator of their own, so the events above are what they were without."""
    ent, spec = h.ent, h.spec
    rng = random.Random(f"{spec.seed}:{ent.index}:bursts")
    p, div = ent.propensity, ent.division
    if rng.random() < 0.6 * p:
        for t in burst_times(rng, t0, spec.end, 5 + rng.randrange(5), 21 * DAY):
            h.add(_office_time(rng, t), EventType.COMPLAINT_RECEIVED, "/12315", complaint(rng, ent))
    if rng.random() < 0.4 * p:
        for t in burst_times(rng, t0, spec.end, 3, 150 * DAY):
            when = _office_time(rng, t)
            number = h.decision("罚", when)
            h.add(when, EventType.PENALTY_IMPOSED, f"/cfs/{div}", penalty(rng, ent, number))


def _listing(
    h: _History, t: int, reason: str, removal_chance: float, days: tuple[int, int]
) -> None:
    number = h.decision("异", t)
    div = h.ent.division
    h.add(
        t,
        EventType.ABNORMAL_LIST_ADDED,
        f"/gsxt/{div}",
        {"decision_number": number, "reason": reason},
    )
    if h.rng.random() < removal_chance and (when := h.later(t, *days)):
        h.add(
            when,
            EventType.ABNORMAL_LIST_REMOVED,
            f"/gsxt/{div}",
            {"decision_number": number, "reason": "补报年报/恢复正常"},
        )


def events(spec: DistrictSpec) -> Iterator[CreditEvent]:
    """The district's events: ``spec.chunk`` enterprises at a time, each chunk in event-time
    order (ties by enterprise, then by the enterprise's own order). A generator."""
    for lo in range(0, spec.enterprises, spec.chunk):
        rows: list[tuple[int, int, int, CreditEvent]] = []
        for i in range(lo, min(lo + spec.chunk, spec.enterprises)):
            for n, ev in enumerate(history(spec, enterprise(spec, i))):
                rows.append((int(ev.time.timestamp()), i, n, ev))
        rows.sort(key=lambda r: r[:3])
        for row in rows:
            yield row[3]
        del rows


def lines(spec: DistrictSpec) -> Iterator[bytes]:
    """:func:`events` as CloudEvents JSON, one record value each (no newline)."""
    for ev in events(spec):
        yield encode_event(ev)
