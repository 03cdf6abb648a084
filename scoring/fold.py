"""The incremental update as a fold: ``state' = apply(state, change)`` (pure).

This module is the specification of scoring. ``scoring/store/apply.lua`` implements it inside
Redis with the same integer micro-point arithmetic, tie-breaks and scheduling, and the parity
tests (``tests/integration/test_store.py``, ``test_reclassify.py``) run both on the same events
and states. Where apply.lua departs from this code, to do less work but never to compute
otherwise, its header lists the departures and why each is safe.

Semantics, chosen so that the final state never depends on arrival order:

* A state is a set of contributions keyed by what they are, plus ``asof``: the latest event
  time (or re-evaluation time) seen. Score and class are functions of (contributions, asof).
* Two contributions of one key: the later (time, tiebreak) wins. A cancel is sticky: it wins
  whether it arrives before or after the contribution it cancels.
* Each contribution's current points are rounded to integer micro-points before summing, so
  the sum is exact and independent of order.
* Between two expiries the score can only fall (negative points never fade by half-life,
  enforced by the model), so the first moment the class changes by time alone is found by
  bisection; it is stored as ``due`` and a ticker re-evaluates the enterprise then.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from scoring.changes import Change, Contribution, Profile
from scoring.model import ScoringModel

__all__ = [
    "EnterpriseState",
    "Outcome",
    "Params",
    "apply",
    "class_at",
    "current_micro",
    "fold",
    "next_change",
    "reevaluate",
    "score_at",
    "top_reasons",
]


@dataclass(frozen=True, slots=True)
class Params:
    """The numbers of a scoring model that evaluation needs (what Lua receives in ARGV)."""

    version: str
    thresholds: tuple[int, int, int]
    caps: tuple[int, int, int, int, int]
    horizon: int
    #: Seconds a partition's watermark must pass a due moment by before the change is made
    #: (scoring/partition.py): room for events that arrive a little late.
    lateness: int = 0

    @classmethod
    def of(cls, model: ScoringModel) -> Params:
        return cls(
            version=model.version,
            thresholds=model.thresholds_micro(),
            caps=model.caps_micro(),
            horizon=round(model.tick.horizon_days * 86_400),
            lateness=round(model.tick.lateness_hours * 3_600),
        )


@dataclass(frozen=True, slots=True)
class EnterpriseState:
    contributions: Mapping[str, Contribution] = field(default_factory=dict)
    asof: int = 0
    klass: int = 0
    score: int = 0
    due: int = 0
    profile: Profile | None = None
    version: str = ""


@dataclass(slots=True)
class Outcome:
    """What applying one change did. ``old_class`` 0: the enterprise was new."""

    old_class: int
    new_class: int
    score: int
    asof: int
    due: int
    #: (contribution key, current micro-points, minimum class it sets or 0), most telling first
    reasons: tuple[tuple[str, int, int], ...] = ()


def current_micro(c: Contribution, t: int) -> int:
    """Current points of ``c`` at ``t``, in integer micro-points (0 once expired or cancelled)."""
    if c.cancelled or (c.expires and t >= c.expires):
        return 0
    v = c.points
    if c.half_life:
        age = t - c.time if t > c.time else 0
        v = v * 2.0 ** (-age / c.half_life)
    return math.floor(v * 1_000_000 + 0.5)


def score_at(contribs: Iterable[Contribution], t: int, caps: Sequence[int]) -> int:
    per_dim = [0, 0, 0, 0, 0]
    for c in contribs:
        per_dim[c.dimension - 1] += current_micro(c, t)
    total = 0
    for d in range(5):
        total += min(caps[d], per_dim[d])
    return max(0, total)


def _floor_at(contribs: Iterable[Contribution], t: int) -> int:
    floor = 0
    for c in contribs:
        if c.floor > floor and not c.cancelled and not (c.expires and t >= c.expires):
            floor = c.floor
    return floor


def class_at(contribs: Sequence[Contribution], t: int, p: Params) -> tuple[int, int]:
    """(class 1..4, score micro) at ``t``."""
    s = score_at(contribs, t, p.caps)
    b, c, d = p.thresholds
    k = 1 + (s >= b) + (s >= c) + (s >= d)
    return max(k, _floor_at(contribs, t)), s


def next_change(contribs: Sequence[Contribution], asof: int, p: Params) -> int:
    """The first second after ``asof`` at which the class differs by time alone; 0 if never."""
    k0, _ = class_at(contribs, asof, p)
    credits = sorted(
        {c.expires for c in contribs if c.points < 0 and c.expires > asof and not c.cancelled}
    )
    # In A, time can only change the class where a credit (negative points) ends: fading and
    # expiring risk points only lower the score further, and A has no floor to lose.
    if k0 == 1 and not credits:
        return 0
    # Between two moments a credit ends, the class can only fall (risk points fade or expire,
    # floors expire): one bisection per such stretch finds the first change, O(n log t).
    start = asof
    for end in credits:
        if class_at(contribs, end - 1, p)[0] != k0:
            return _first_change(contribs, start, end - 1, k0, p)
        if class_at(contribs, end, p)[0] != k0:
            return end
        start = end
    last = max((c.expires for c in contribs if c.expires > asof and not c.cancelled), default=asof)
    if class_at(contribs, last, p)[0] != k0:
        return _first_change(contribs, start, last, k0, p)
    fades = any(c.half_life and not c.cancelled and c.points > 0 for c in contribs)
    if not fades or class_at(contribs, last + p.horizon, p)[0] == k0:
        return 0
    return _first_change(contribs, last, last + p.horizon, k0, p)


def _first_change(contribs: Sequence[Contribution], lo: int, hi: int, k0: int, p: Params) -> int:
    """Bisection: the first second in (lo, hi] whose class is not ``k0`` (class at ``lo`` is
    ``k0``, at ``hi`` is not, and the class changes once in between)."""
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if class_at(contribs, mid, p)[0] == k0:
            lo = mid
        else:
            hi = mid
    return hi


def _wins(new: Contribution, old: Contribution) -> bool:
    return (new.time, new.tiebreak) > (old.time, old.tiebreak)


def _merge(contribs: dict[str, Contribution], change: Change) -> None:
    c = change.contribution
    if c is not None:
        old = contribs.get(c.key)
        if old is None:
            contribs[c.key] = c
        elif _wins(c, old) or old.time < 0:
            contribs[c.key] = replace(c, cancelled=old.cancelled)
    if change.cancel is not None:
        old = contribs.get(change.cancel)
        if old is None:
            # A cancel that arrives first: a placeholder that any later contribution loses to.
            contribs[change.cancel] = Contribution(
                key=change.cancel, dimension=1, time=-1, points=0.0, cancelled=True
            )
        else:
            contribs[change.cancel] = replace(old, cancelled=True)


def top_reasons(
    contribs: Sequence[Contribution], t: int, top: int = 3
) -> tuple[tuple[str, int, int], ...]:
    """The contributions that drive the class: active floors first, then most points."""
    live = [(c, current_micro(c, t)) for c in contribs]
    active = [
        (c, v)
        for c, v in live
        if v > 0 or (c.floor and not c.cancelled and not (c.expires and t >= c.expires))
    ]
    active.sort(key=lambda cv: (cv[0].floor, cv[1], cv[0].time, cv[0].tiebreak), reverse=True)
    return tuple((c.key, v, c.floor) for c, v in active[:top])


def apply(state: EnterpriseState, change: Change, p: Params) -> tuple[EnterpriseState, Outcome]:
    """Apply one change. Idempotent for an equal change; commutative over a set of changes."""
    if (
        state.klass == 0
        and change.contribution is None
        and change.cancel is None
        and (change.profile is None)
    ):
        # A re-evaluation of an enterprise never seen changes nothing.
        return state, Outcome(0, 0, 0, 0, 0)
    contribs = dict(state.contributions)
    _merge(contribs, change)
    profile = state.profile
    if change.profile is not None and (
        profile is None
        or (change.profile.time, change.profile.tiebreak) > (profile.time, profile.tiebreak)
    ):
        profile = change.profile
    asof = max(state.asof, change.asof)
    values = list(contribs.values())
    k, s = class_at(values, asof, p)
    due = next_change(values, asof, p)
    changed = k != state.klass
    new = EnterpriseState(
        contributions=contribs,
        asof=asof,
        klass=k,
        score=s,
        due=due,
        profile=profile,
        version=p.version,
    )
    return new, Outcome(
        old_class=state.klass,
        new_class=k,
        score=s,
        asof=asof,
        due=due,
        reasons=top_reasons(values, asof) if changed else (),
    )


def reevaluate(state: EnterpriseState, p: Params) -> tuple[EnterpriseState, Outcome]:
    """``state`` evaluated afresh under ``p`` at its own ``asof`` (contributions, asof and
    profile unchanged; class, score, due and version from ``p``): what a change of thresholds,
    caps or horizon does to a stored enterprise. A change of event points needs the events
    again, not this. Unconditional (the store decides what to skip); an unknown enterprise
    (class 0) stays unknown, as in :func:`apply`."""
    if state.klass == 0:
        return state, Outcome(0, 0, 0, 0, 0)
    values = list(state.contributions.values())
    k, s = class_at(values, state.asof, p)
    due = next_change(values, state.asof, p)
    new = replace(state, klass=k, score=s, due=due, version=p.version)
    return new, Outcome(
        old_class=state.klass,
        new_class=k,
        score=s,
        asof=state.asof,
        due=due,
        reasons=top_reasons(values, state.asof) if k != state.klass else (),
    )


def fold(
    changes: Iterable[Change], p: Params, state: EnterpriseState | None = None
) -> tuple[EnterpriseState, list[Outcome]]:
    """Apply ``changes`` in order from ``state`` (default: unknown enterprise)."""
    s = state if state is not None else EnterpriseState()
    outcomes = []
    for ch in changes:
        s, o = apply(s, ch, p)
        outcomes.append(o)
    return s, outcomes
