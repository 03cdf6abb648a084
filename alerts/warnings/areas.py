"""Regional and industry warnings (区域性、行业性风险), pure: area counts in, messages out.

The counts are those apply.lua keeps (``scoring/store/areas.py``), summed over partitions, and
handed here as plain data (:class:`Area`); the ticker (``streams/ticker.py``) reads them and
sends what :func:`evaluate` returns. Two rules of the warnings file's ``[[area]]`` table:

* ``cd_share``: the area's share of C and D exceeds the district's by at least
  ``excess_points`` percentage points, with at least ``min_enterprises`` enterprises in it.
  The district is every classified enterprise (those of no known division too).
* ``d_surge``: the entries into D of the last 7 days (the window's day and the six before),
  ``k``, are at least ``min_ratio`` times the mean week of the ``trailing_weeks`` weeks before,
  and P(X >= k) < ``alpha`` for X Poisson with that mean. A mean of 0 (no entry in the trailing
  weeks) is floored at :data:`ZERO_MEAN_ENTRIES` entries over the trailing weeks, half an
  entry: as if the quiet weeks had seen half of the smallest count there is. So a quiet area
  fires on two entries in a week at the default alpha, never on one.

An area with no known code (``unknown``), or a code that is no GB/T 2260 division or GB/T 4754
section (+ two digits), gets no warning. A warning's id is derived from the rule, the area and
the window's last day, so every tick of that day, on any worker, sends the same id (the first
one sent is what a consumer keeps); its envelope time is the event-time watermark.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from alerts.rules import Message, derived_id, message
from alerts.warnings.config import CdShare, DSurge, WarningsConfig
from schemas.alerts import (
    ALERT_INDUSTRY,
    ALERT_REGION,
    AREA_SUBJECT_PATTERN,
    AreaCounts,
    AreaKind,
    AreaWarning,
    OutputType,
    Window,
)
from schemas.classes import CLASSES

__all__ = [
    "DAY_SHIFT_SECONDS",
    "ZERO_MEAN_ENTRIES",
    "Area",
    "cd_share",
    "d_surge",
    "evaluate",
    "poisson_tail",
]

#: Days are calendar days in UTC+8 (as apply.lua counts entries): day n begins at
#: n * 86400 - this (Unix s).
DAY_SHIFT_SECONDS: Final = 8 * 3600
#: Entries over the trailing weeks assumed when there were none (see the module's docstring).
ZERO_MEAN_ENTRIES: Final = 0.5
_SUBJECT: Final = re.compile(AREA_SUBJECT_PATTERN)
_CHINA: Final = dt.timezone(dt.timedelta(seconds=DAY_SHIFT_SECONDS))


@dataclass(frozen=True, slots=True)
class Area:
    """One area's counts: enterprises per class now, and entries into D per day, oldest
    first, the last for the window's day (fewer days than a rule needs count as zeros)."""

    kind: AreaKind
    code: str
    by_class: Mapping[str, int]
    d_daily: Sequence[int] = ()

    @property
    def enterprises(self) -> int:
        return sum(self.by_class.get(k, 0) for k in CLASSES)

    @property
    def cd(self) -> int:
        return self.by_class.get("C", 0) + self.by_class.get("D", 0)

    def d_entries(self, first: int, last: int) -> int:
        """D entries from ``first`` to ``last`` days before the window's day (0: that day),
        both included."""
        n = len(self.d_daily)
        return sum(self.d_daily[max(n - 1 - last, 0) : max(n - first, 0)])


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X Poisson with ``mean`` > 0, accurate where it is small: the regularised
    lower incomplete gamma function P(k, mean), by its series (in logarithms) when
    ``mean < k``, else 1 minus the first k terms (the tail is then at least about a half, so the
    subtraction loses nothing). Underflows to 0.0 below ~1e-308, never NaN."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        raise ValueError("the mean of a Poisson law must be positive")
    if mean >= k:
        head = math.fsum(math.exp(i * math.log(mean) - mean - math.lgamma(i + 1)) for i in range(k))
        return max(0.0, 1.0 - head)
    # P(k, x) = x^k e^-x / k! * sum_{n>=0} x^n / ((k+1)...(k+n)); the terms fall geometrically
    term, total, n = 1.0, 1.0, 0
    while term > total * 1e-17:
        n += 1
        term *= mean / (k + n)
        total += term
    log_tail = k * math.log(mean) - mean - math.lgamma(k + 1) + math.log(total)
    return math.exp(log_tail) if log_tail > -745.0 else 0.0


def _window(first_day: int, last_day: int) -> Window:
    start = dt.datetime.fromtimestamp(first_day * 86_400 - DAY_SHIFT_SECONDS, _CHINA)
    end = dt.datetime.fromtimestamp((last_day + 1) * 86_400 - DAY_SHIFT_SECONDS, _CHINA)
    return Window(start=start, end=end)


def _counts(area: Area) -> AreaCounts:
    n = area.enterprises
    return AreaCounts(
        enterprises=n,
        by_class={k: area.by_class.get(k, 0) for k in CLASSES},
        cd_share=area.cd / n if n else 0.0,
        d_entries_7d=area.d_entries(0, 6),
    )


def _warnable(area: Area, kind: AreaKind) -> bool:
    return area.kind == kind and _SUBJECT.match(f"{kind}:{area.code}") is not None


def cd_share(
    rule: CdShare, areas: Iterable[Area], district: Mapping[str, int]
) -> list[tuple[Area, dict[str, float], dict[str, float]]]:
    """The areas of the rule's scope that it fires on, each with its baseline (the district's
    share and enterprises) and statistic (the share's excess in points)."""
    total = sum(district.get(k, 0) for k in CLASSES)
    if total == 0:
        return []
    base = (district.get("C", 0) + district.get("D", 0)) / total
    out = []
    for a in areas:
        n = a.enterprises
        if not _warnable(a, rule.scope) or n < rule.min_enterprises:
            continue
        excess = (a.cd / n - base) * 100
        if excess >= rule.excess_points:
            baseline = {"district_cd_share": base, "district_enterprises": float(total)}
            out.append((a, baseline, {"share_excess_points": excess}))
    return out


def d_surge(
    rule: DSurge, areas: Iterable[Area]
) -> list[tuple[Area, dict[str, float], dict[str, float]]]:
    """The areas of the rule's scope that it fires on, each with its baseline (the trailing
    weekly mean, and the Poisson mean used) and statistic (count, ratio, p_value)."""
    out = []
    weeks = rule.trailing_weeks
    for a in areas:
        if not _warnable(a, rule.scope):
            continue
        k = a.d_entries(0, 6)
        if k == 0:
            continue
        mean = a.d_entries(7, 7 * weeks + 6) / weeks
        lam = max(mean, ZERO_MEAN_ENTRIES / weeks)
        ratio = k / lam
        if ratio < rule.min_ratio:
            continue
        p = poisson_tail(k, lam)
        if p < rule.alpha:
            baseline = {"weekly_mean": mean, "poisson_mean": lam, "trailing_weeks": float(weeks)}
            out.append((a, baseline, {"count": float(k), "ratio": ratio, "p_value": p}))
    return out


def evaluate(
    config: WarningsConfig,
    areas: Sequence[Area],
    district: Mapping[str, int],
    *,
    day: int,
    asof: int,
) -> list[Message]:
    """Every area warning ``config``'s ``[[area]]`` rules raise on ``areas`` (``district``:
    enterprises per class in the whole district), for the window ending on ``day`` (days since
    1970-01-01, UTC+8), stamped ``asof`` (Unix s, the event-time watermark). Ids: the rule, the
    area and ``day``."""
    when = dt.datetime.fromtimestamp(asof, dt.UTC)
    out: list[Message] = []
    for rule in config.area:
        if isinstance(rule, CdShare):
            fired, first = cd_share(rule, areas, district), day
        else:
            fired, first = d_surge(rule, areas), day - 6
        etype: OutputType = ALERT_REGION if rule.scope == "division" else ALERT_INDUSTRY
        for area, baseline, statistic in fired:
            subject = f"{area.kind}:{area.code}"
            data = AreaWarning(
                rule=rule.id,
                rule_kind=rule.kind,
                severity=rule.severity,
                kind=area.kind,
                code=area.code,
                window=_window(first, day),
                counts=_counts(area),
                baseline=baseline,
                statistic=statistic,
                warnings_version=config.version,
            )
            mid = derived_id("area", rule.id, subject, str(day))
            # (trigger: the rule's id, which riskmon_area_warnings_total counts by)
            out.append(message("alert", etype, mid, subject, when, data, rule.id))
    return out
