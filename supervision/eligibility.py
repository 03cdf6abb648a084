"""Which enterprises of the directory a plan may draw (pure): its snapshot.

The directory is every enterprise riskmon knows (:class:`Listing`, read from the store by
``supervision/store/directory.py``). An enterprise is left out, counted under the first reason
that applies:

``scope``        outside the plan's scope (``supervision/scope.py``), or not new-economy under
                 a preset for new-economy firms
``observation``  in an active observation period (观察期: no routine inspection then)
``frequency``    inspected ``max_per_year`` times or more in the 365 days before the plan
``recent``       inspected within the class's window (``exclude_days``) before the plan

The rest form the snapshot: each :class:`Entry` with its class and the inspectors it must not
get (its previous plan task's inspectors, and declared conflicts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from schemas.classes import ClassName
from supervision.preset import Preset
from supervision.scope import Scope

__all__ = ["EXCLUSIONS", "Entry", "Listing", "eligible"]

#: Why an enterprise was not drawn from, in the order the reasons are tested.
EXCLUSIONS = ("scope", "observation", "frequency", "recent")
DAY = 86_400
YEAR_DAYS = 365


@dataclass(frozen=True, slots=True)
class Listing:
    """One enterprise of the directory as the store knows it (times: Unix seconds, event time)."""

    uscc: str
    klass: ClassName
    division: str = ""
    industry: str = ""
    entity_type: str = ""
    new_economy: bool = False
    #: Times of its completed inspections (any order).
    inspections: tuple[int, ...] = ()
    #: Its observation period is active and not yet expired at the plan's time.
    observation_active: bool = False
    #: The inspectors of its latest plan task.
    last_inspectors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    """One enterprise of a plan's snapshot: what the draw needs, and all it needs."""

    uscc: str
    klass: ClassName
    #: Inspector ids it must not get, sorted.
    avoid: tuple[str, ...] = ()


def _reason(x: Listing, preset: Preset, scope: Scope, asof: int) -> str | None:
    if not scope.covers(x.division, x.industry, x.entity_type) or (
        preset.new_economy_only and not x.new_economy
    ):
        return "scope"
    if x.observation_active:
        return "observation"
    past = [t for t in x.inspections if t <= asof]
    rule = preset.classes[x.klass]
    year = sum(1 for t in past if t > asof - YEAR_DAYS * DAY)
    if rule.max_per_year is not None and year >= rule.max_per_year:
        return "frequency"
    window = preset.window_days(x.klass)
    if window and past and max(past) > asof - window * DAY:
        return "recent"
    return None


def eligible(
    directory: Sequence[Listing],
    preset: Preset,
    scope: Scope,
    asof: int,
    conflicts: Mapping[str, frozenset[str]] | None = None,
) -> tuple[list[Entry], dict[str, int]]:
    """The snapshot a plan at ``asof`` may draw from (sorted by USCC), and how many enterprises
    each reason of :data:`EXCLUSIONS` left out. ``conflicts``: uscc -> declared inspector ids."""
    conflicts = conflicts or {}
    excluded = dict.fromkeys(EXCLUSIONS, 0)
    out: list[Entry] = []
    for x in directory:
        reason = _reason(x, preset, scope, asof)
        if reason is not None:
            excluded[reason] += 1
            continue
        avoid = set(x.last_inspectors) | conflicts.get(x.uscc, frozenset())
        out.append(Entry(x.uscc, x.klass, tuple(sorted(avoid))))
    out.sort(key=lambda e: e.uscc)
    return out, excluded
