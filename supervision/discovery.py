"""The discovery rate per class: the model judged by what random inspections found (pure).

Only inspections of random spot-check plans are an unbiased sample of a class, so only those
are counted (``sup:disc``, by the class the enterprise had when the plan was drawn and the
inspection's result). Every completed result counts as inspected; ``problems_found`` and
``corrected`` count as problems found. The rate comes with a Wilson score interval at 95 %,
which stays inside [0, 1] and is sensible for the small samples of a district's class D.

Henan 2021, for comparison: problems at 0 % of A, 39.6 % of B, 56.5 % of C and 85.0 % of D.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from schemas.classes import CLASSES, ClassName

__all__ = [
    "PROBLEM_RESULTS",
    "Z_95",
    "ClassDiscovery",
    "discovery",
    "parse_counts",
    "render_table",
    "wilson",
]

#: Inspection results that count as a problem found.
PROBLEM_RESULTS: Final = frozenset({"problems_found", "corrected"})
#: The standard normal quantile of 97.5 %: a two-sided 95 % interval.
Z_95: Final = 1.959963984540054


def wilson(found: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval (no continuity correction) of ``found`` successes in ``n``
    trials, as (low, high) fractions; None when ``n`` is 0 (nothing to estimate)."""
    if n < 0 or not 0 <= found <= n:
        raise ValueError(f"need 0 <= found <= n, not found={found}, n={n}")
    if n == 0:
        return None
    p = found / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # At the ends the bounds are 0 and 1 exactly; floating point would miss them by an ulp.
    low = 0.0 if found == 0 else max(0.0, centre - half)
    high = 1.0 if found == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True, slots=True)
class ClassDiscovery:
    """One class's random-plan inspections. ``rate`` and the interval are None when none were
    inspected."""

    klass: ClassName
    inspected: int
    problems_found: int
    rate: float | None
    wilson_low: float | None
    wilson_high: float | None

    def as_json(self) -> dict[str, object]:
        """The API's fields (``GET /stats/discovery``, keyed there by class)."""
        return {
            "inspected": self.inspected,
            "problems_found": self.problems_found,
            "rate": self.rate,
            "wilson_low": self.wilson_low,
            "wilson_high": self.wilson_high,
        }


def parse_counts(fields: Mapping[str, int]) -> dict[tuple[str, str], int]:
    """``sup:disc`` fields (``<class at draw>|<result>`` -> count) as (class, result) -> count;
    a field without ``|`` is ignored."""
    out: dict[tuple[str, str], int] = {}
    for name, n in fields.items():
        klass, sep, result = name.partition("|")
        if sep:
            out[(klass, result)] = out.get((klass, result), 0) + n
    return out


def discovery(counts: Mapping[tuple[str, str], int]) -> list[ClassDiscovery]:
    """Per class A to D, from (class at draw, result) -> completed random-plan inspections."""
    rows = []
    for klass in CLASSES:
        inspected = sum(n for (k, _), n in counts.items() if k == klass)
        found = sum(n for (k, r), n in counts.items() if k == klass and r in PROBLEM_RESULTS)
        interval = wilson(found, inspected)
        rows.append(
            ClassDiscovery(
                klass=klass,
                inspected=inspected,
                problems_found=found,
                rate=found / inspected if inspected else None,
                wilson_low=interval[0] if interval else None,
                wilson_high=interval[1] if interval else None,
            )
        )
    return rows


def _percent(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f} %"


def render_table(rows: Sequence[ClassDiscovery]) -> str:
    """The rows as a table for a terminal: class, inspected, problems, rate, 95 % interval."""
    lines = [f"{'class':<6}{'inspected':>10}{'problems':>10}{'rate':>10}  95 % interval"]
    for r in rows:
        interval = (
            "-" if r.wilson_low is None else f"{_percent(r.wilson_low)} - {_percent(r.wilson_high)}"
        )
        lines.append(
            f"{r.klass:<6}{r.inspected:>10}{r.problems_found:>10}{_percent(r.rate):>10}  {interval}"
        )
    return "\n".join(lines)
