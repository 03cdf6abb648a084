"""Seeded enterprises of a Xi'an district and their credit events (pure: no I/O, no clock).

Every enterprise draws a hidden ``propensity`` to violate (Beta(0.8, 6): most firms near 0, a
long tail of habitual offenders). Event rates follow it: penalties (and how severe), complaints,
annual-report lapses and other abnormal-operations listings, serious-violation listings, and
the chance that a random spot check finds problems. Spot checks themselves are drawn at a rate
that does not depend on it (双随机: the draw is random), so the share of inspections that find
problems is an unbiased measure to judge a model's classes against the hidden truth.

Determinism: enterprise ``i`` of seed ``s`` draws from its own ``random.Random(f"{s}:{i}:…")``
(seeded through SHA-512, independent of ``PYTHONHASHSEED``), so the same spec gives the same
stream byte for byte, and any enterprise can be rebuilt without generating the others.

Streaming: :func:`events` works on ``chunk`` enterprises at a time (their histories merged in
event-time order), so memory stays bounded at a million enterprises. Within an enterprise,
every removal or revocation comes after what it removes, in event time and in stream order.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Final, get_args

from district.shares import DIVISIONS, INDUSTRIES, KeySector
from schemas.codec import CreditEvent, encode_event
from schemas.events import DATA_MODELS, AbnormalReason, EntityType, EventType, PenaltyDomain
from schemas.uscc import ALPHABET, check_char, org_check_char

__all__ = [
    "CST",
    "DistrictSpec",
    "Enterprise",
    "enterprise",
    "enterprises",
    "events",
    "history",
    "lines",
    "live_events",
]

#: China Standard Time: event times are local, as upstream systems publish them.
CST: Final = dt.timezone(dt.timedelta(hours=8))
_DAY: Final = 86_400
_YEAR: Final = 365.25 * _DAY

_DIV_CODES: Final = list(DIVISIONS)
_DIV_CUM: Final = list(accumulate(DIVISIONS.values()))
_IND_CUM: Final = list(accumulate(ind.share for ind in INDUSTRIES))
_ENTITY: Final[tuple[tuple[EntityType, str, float], ...]] = (
    ("enterprise", "1", 0.90),
    ("individual_business", "2", 0.08),
    ("farmers_cooperative", "3", 0.02),
)
_ORG_SPACE: Final = len(ALPHABET) ** 7
# An affine bijection of the index space: codes of consecutive firms do not look consecutive.
_ORG_MULT: Final = 1_000_003
_NAME_CHARS: Final = "华信达源泰恒瑞祥丰盛宏鑫诚和兴安汇通博远秦唐雁长乐景明德嘉荣"
_TRADE: Final = {
    "F": "商贸",
    "L": "商务服务",
    "C": "制造",
    "H": "餐饮管理",
    "I": "信息科技",
    "E": "建设工程",
    "M": "科技服务",
    "K": "置业",
    "O": "生活服务",
    "G": "物流",
}
# Derived from the event schemas, so a domain or reason added there is generated too.
_OTHER_DOMAINS: Final = tuple(
    d for d in get_args(PenaltyDomain) if d not in ("food", "drug", "special_equipment")
)
_OTHER_ABNORMAL: Final = tuple(r for r in get_args(AbnormalReason) if r != "annual_report_missing")
_CHANNELS: Final = ("12315_hotline", "12315_platform", "letter", "visit", "transfer", "other")
_CATEGORIES: Final = ("quality", "price", "contract", "advertising", "service", "other")


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    """What to generate. ``now`` (timezone-aware) ends the simulated period of ``period_days``."""

    now: dt.datetime
    enterprises: int = 20_000
    seed: int = 0
    period_days: int = 730
    chunk: int = 1_000

    def __post_init__(self) -> None:
        if self.now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if not 1 <= self.enterprises <= _ORG_SPACE:
            raise ValueError(f"enterprises must be 1..{_ORG_SPACE}, not {self.enterprises}")
        if self.period_days < 1 or self.chunk < 1:
            raise ValueError("period_days and chunk must be >= 1")

    @property
    def end(self) -> int:
        return int(self.now.timestamp())

    @property
    def start(self) -> int:
        return self.end - self.period_days * _DAY


@dataclass(frozen=True, slots=True)
class Enterprise:
    """One synthetic enterprise. ``propensity`` (0..1) is the hidden truth: never in an event."""

    index: int
    uscc: str
    name: str
    entity_type: EntityType
    division: str
    industry: str
    key_sector: KeySector | None
    new_economy: bool
    founded_on: dt.date
    registered_capital_cny: float
    propensity: float


def _uscc(index: int, entity_char: str, authority_division: str, rng: random.Random) -> str:
    """A valid USCC whose organisation body encodes ``index``: unique within a district."""
    n = (index * _ORG_MULT + 7_777_777) % _ORG_SPACE
    body = rng.choice(ALPHABET[1:])
    digits = []
    for _ in range(7):
        n, r = divmod(n, len(ALPHABET))
        digits.append(ALPHABET[r])
    body += "".join(reversed(digits))
    first17 = "9" + entity_char + authority_division + body + org_check_char(body)
    return first17 + check_char(first17)


def enterprise(spec: DistrictSpec, index: int) -> Enterprise:
    """Enterprise ``index`` (0-based) of the district: the same for the same spec and index."""
    rng = random.Random(f"{spec.seed}:{index}:firm")
    division = _DIV_CODES[bisect.bisect(_DIV_CUM, rng.random() * _DIV_CUM[-1])]
    ind = INDUSTRIES[bisect.bisect(_IND_CUM, rng.random() * _IND_CUM[-1])]
    u = rng.random()
    entity_type, entity_char = _ENTITY[-1][:2]
    for et, ch, share in _ENTITY:
        if u < share:
            entity_type, entity_char = et, ch
            break
        u -= share
    # The USCC carries the registering authority: a few firms registered by the municipal
    # bureau or a development zone carry 610100, not their address's district.
    authority = "610100" if rng.random() < 0.1 else division
    uscc = _uscc(index, entity_char, authority, rng)
    age_days = min(30 * 365, int(rng.expovariate(1 / (6 * 365))))
    founded = (spec.now.astimezone(CST) - dt.timedelta(days=age_days)).date()
    capital = max(10_000.0, round(math.exp(rng.gauss(math.log(1e6), 1.5)), -4))
    if entity_type == "individual_business":
        capital = max(10_000.0, round(capital / 50, -4))
    name = "西安" + "".join(rng.choice(_NAME_CHARS) for _ in range(2)) + _TRADE[ind.code[0]]
    name += {
        "enterprise": "有限公司",
        "individual_business": "店",
        "farmers_cooperative": "合作社",
    }[entity_type]
    return Enterprise(
        index=index,
        uscc=uscc,
        name=name,
        entity_type=entity_type,
        division=division,
        industry=ind.code,
        key_sector=ind.key_sector,
        new_economy=rng.random() < ind.new_economy,
        founded_on=founded,
        registered_capital_cny=capital,
        propensity=rng.betavariate(0.8, 6.0),
    )


def enterprises(spec: DistrictSpec) -> Iterator[Enterprise]:
    """Every enterprise of the district, in index order (a generator: nothing is kept)."""
    for i in range(spec.enterprises):
        yield enterprise(spec, i)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: exact, and fast for the small means used here.
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _office_time(rng: random.Random, t: int) -> int:
    """``t`` moved to a random second of office hours (08:30-17:30 CST) on its own day."""
    day = (t + 8 * 3600) // _DAY * _DAY - 8 * 3600
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
        n = _poisson(self.rng, rate_per_year * span / _YEAR)
        drawn = (_office_time(self.rng, t0 + self.rng.randrange(span)) for _ in range(n))
        # office hours can move a draw out of the window at its two ends: those are dropped
        return sorted(t for t in drawn if t0 <= t < self.spec.end)

    def later(self, t: int, min_days: int, max_days: int) -> int | None:
        """A time ``min_days``..``max_days`` after ``t``, or None if that is past the period."""
        when = _office_time(self.rng, t + self.rng.randint(min_days, max_days) * _DAY)
        return when if t < when < self.spec.end else None


def _rates(ent: Enterprise) -> dict[str, float]:
    """Expected events per year by kind (``annual_report_lapse``: chance per annual report)."""
    p = ent.propensity
    consumer_facing = ent.industry[0] in "FHO"
    return {
        "complaint": (0.2 + 5.0 * p) * (1.6 if consumer_facing else 1.0),
        "penalty": 0.03 + 1.2 * p,
        "annual_report_lapse": 0.02 + 0.5 * p,
        "abnormal": 0.01 + 0.25 * p,
        "serious_violation": 0.001 + 0.08 * p,
        # random spot checks: drawn regardless of propensity
        "inspection": 0.3,
    }


def _complaint(rng: random.Random, ent: Enterprise) -> dict[str, Any]:
    category = "food_safety" if ent.key_sector == "food" else rng.choice(_CATEGORIES)
    return {"channel": rng.choice(_CHANNELS), "category": category}


def _penalty(rng: random.Random, ent: Enterprise, number: str) -> dict[str, Any]:
    p = ent.propensity
    u = rng.random()
    grave, serious, ordinary = 0.02 + 0.15 * p, 0.10 + 0.25 * p, 0.40
    if u < grave:
        severity, fine = "grave", rng.randint(2_000, 30_000) * 100
    elif u < grave + serious:
        severity, fine = "serious", rng.randint(500, 5_000) * 100
    elif u < grave + serious + ordinary:
        severity, fine = "ordinary", rng.randint(50, 500) * 100
    else:
        severity, fine = "minor", rng.randint(0, 50) * 100
    key = ent.key_sector is not None and rng.random() < 0.7
    domain = ent.key_sector if key and ent.key_sector else rng.choice(_OTHER_DOMAINS)
    return {
        "decision_number": number,
        "domain": domain,
        "fine_cny": float(fine),
        "severity": severity,
        "licence_revoked": severity == "grave" and rng.random() < 0.3,
    }


def _inspection_result(rng: random.Random, p: float) -> str:
    """What a spot check finds at a firm of propensity ``p``."""
    found = min(0.95, 0.03 + 0.9 * p)
    u = rng.random()
    if u < found:
        return "problems_found"
    if u < found + 0.02 + 0.1 * p:
        return "not_at_address"
    if u < found + 0.03 + 0.15 * p:
        return "refused"
    if u < found + 0.08 + 0.15 * p:
        return "corrected"
    return "no_problem"


def history(spec: DistrictSpec, ent: Enterprise) -> list[CreditEvent]:
    """All events of ``ent`` in the period, in event-time order (registration first)."""
    h = _History(spec, ent)
    rng, p, div = h.rng, ent.propensity, ent.division
    founded = int(dt.datetime.combine(ent.founded_on, dt.time(9), CST).timestamp())
    # Older firms: their registration record as of the period's first days (a snapshot).
    t0 = max(founded, spec.start + rng.randrange(3 * _DAY))
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
        },
    )
    t0 += 1
    if t0 >= spec.end:
        return [ev for _, _, ev in h.out]
    rates = _rates(ent)
    for t in h.times(t0, rates["complaint"]):
        h.add(t, EventType.COMPLAINT_RECEIVED, "/12315", _complaint(rng, ent))
    for t in h.times(t0, rates["penalty"]):
        number = h.decision("罚", t)
        h.add(t, EventType.PENALTY_IMPOSED, f"/cfs/{div}", _penalty(rng, ent, number))
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
            t = _office_time(rng, due + rng.randrange(15) * _DAY)
            if t >= spec.end:
                continue
            _listing(h, t, "annual_report_missing", 0.7, (10, 200))
    for t in h.times(t0, rates["abnormal"]):
        _listing(h, t, rng.choice(_OTHER_ABNORMAL), 0.5, (30, 400))
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
        result = _inspection_result(rng, p)
        local = dt.datetime.fromtimestamp(t, CST)
        plan = f"SJ{local.year}-{div}-Q{(local.month - 1) // 3 + 1}"
        h.add(
            t, EventType.INSPECTION_COMPLETED, f"/sjjc/{div}", {"result": result, "plan_id": plan}
        )
    h.out.sort(key=lambda row: (row[0], row[1]))
    return [ev for _, _, ev in h.out]


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


#: The highest total of :func:`_rates` (propensity 1, consumer-facing): the rejection bound.
_MAX_RATE: Final = 11.0


def live_events(spec: DistrictSpec, times: Iterable[dt.datetime]) -> Iterator[CreditEvent]:
    """The district going on after its history: one event per element of ``times`` (aware).

    Each event falls on an enterprise drawn in proportion to its event rate (so habitual
    offenders act more often) and is of a kind drawn by those rates: complaints, penalties,
    abnormal-operations and serious-violation listings, spot checks. Ids are ``<uscc>-L<n>``,
    apart from the history's. Deterministic for a given spec and sequence of times; the caller
    supplies the clock (e.g. the wall clock, lazily), so this stays pure.
    """
    rng = random.Random(f"{spec.seed}:live")
    for n, when in enumerate(times):
        while True:
            ent = enterprise(spec, rng.randrange(spec.enterprises))
            rates = _rates(ent)
            rates["abnormal"] += rates.pop("annual_report_lapse")
            if rng.random() * _MAX_RATE < sum(rates.values()):
                break
        kind = rng.choices(list(rates), weights=list(rates.values()))[0]
        t = when.replace(microsecond=0).astimezone(CST)
        year, div = t.year, ent.division
        number = f"市监{{}}〔{year}〕{ent.uscc[9:16]}-L{n}号"
        etype: EventType
        data: dict[str, Any]
        if kind == "complaint":
            etype, source, data = EventType.COMPLAINT_RECEIVED, "/12315", _complaint(rng, ent)
        elif kind == "penalty":
            etype, source = EventType.PENALTY_IMPOSED, f"/cfs/{div}"
            data = _penalty(rng, ent, number.format("罚"))
        elif kind == "abnormal":
            etype, source = EventType.ABNORMAL_LIST_ADDED, f"/gsxt/{div}"
            reason = rng.choice(("annual_report_missing", *_OTHER_ABNORMAL))
            data = {"decision_number": number.format("异"), "reason": reason}
        elif kind == "serious_violation":
            etype, source = EventType.SERIOUS_VIOLATION_ADDED, f"/gsxt/{div}"
            data = {"decision_number": number.format("严"), "reason": "严重违法失信情形"}
        else:
            etype, source = EventType.INSPECTION_COMPLETED, f"/sjjc/{div}"
            plan = f"SJ{year}-{div}-Q{(t.month - 1) // 3 + 1}"
            data = {"result": _inspection_result(rng, ent.propensity), "plan_id": plan}
        yield CreditEvent(
            id=f"{ent.uscc}-L{n}",
            source=source,
            type=etype,
            subject=ent.uscc,
            time=t,
            data=DATA_MODELS[etype].model_validate(data),
        )
