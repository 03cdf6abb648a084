"""Early warnings on enterprises (pure): a warning state and one event with its scoring outcome
in, the new state and the warnings (``riskmon.alert.warning``) out.

The rules (``alerts/warnings/default.toml``; docs/warnings.md has the rationale), each checked
on the events of its enterprise in the order of its partition's log:

* **complaint_surge**, on each ``complaint.received`` at time t: the complaints with time in
  (t - W, t] number at least ``min_count``, and their daily rate is at least ``min_ratio``
  times the daily rate of those in (t - W - T, t - W] (T = ``trailing_days``; none before:
  the ratio is unbounded and only the count decides).
* **penalty_cluster**, on each ``penalty.imposed`` at time t: at least ``min_count``
  penalties (one per decision number, revoked ones not counted) with time in (t - W, t].
* **near_boundary**, on each event whose outcome is known: the score is within
  ``within_points`` below the threshold of the class above the new class, and higher than the
  last score reported for the enterprise (rising).
* **first_d**, on each outcome (an event's own, or a time-driven change it brought about):
  the class becomes D and the enterprise has never been seen in D.
* **address_cluster** spans partitions: ``alerts/warnings/address.py``.

Against a flood: a window rule (complaint_surge, penalty_cluster) fires at most once per
window: after a warning at t it stays silent for events before t + W (a late event older than
t too). near_boundary fires once per approach: silent while the score stays in the band of the
same boundary, armed again once it leaves it. first_d fires once per enterprise.

The warning's id is derived from the enterprise, the rule and its evidence (the events that
fired it), so the same evidence gives the same id whichever worker evaluates it; the worker
also stores what it sent for each event (supervision's ledger), so a redelivery re-sends the
very same messages. An outcome with ``new_class`` 0 (unknown: a scoring duplicate of an event
whose first copy was no news, which supervision sees for the first time only when a worker
died between scoring's write and supervision's) fires nothing and makes the last score
unknown: a near-boundary warning may then be missed, never raised on a wrong comparison.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from alerts.rules import Message, derived_id, message, time_cause
from alerts.warnings.config import (
    AddressCluster,
    ComplaintSurge,
    EnterpriseRule,
    FirstD,
    NearBoundary,
    PenaltyCluster,
    WarningsConfig,
)
from alerts.warnings.state import MAX_KEPT, MAX_REVOKED, EnterpriseWarnings, Kept
from schemas.alerts import ALERT_WARNING, Evidence, WarningRaised, Window
from schemas.events import EnterpriseRegistered, EventType, PenaltyImposed, PenaltyRevoked
from scoring.fold import Outcome
from scoring.partition import Fired

__all__ = ["DAY", "Event", "Raised", "Rules", "evaluate_change", "evaluate_event", "make_warning"]

DAY = 86_400
_D = 4


@dataclass(frozen=True, slots=True)
class Rules:
    """The enterprise rules of a warnings file by kind, and the scoring model's thresholds
    (micro-points: B, C, D) near_boundary measures against."""

    version: str
    complaint: tuple[ComplaintSurge, ...]
    penalty: tuple[PenaltyCluster, ...]
    near: tuple[NearBoundary, ...]
    first_d: tuple[FirstD, ...]
    thresholds: tuple[int, int, int]
    #: Evaluated by the store, across partitions (``alerts/warnings/address.py``).
    address: tuple[AddressCluster, ...] = ()

    @classmethod
    def of(cls, config: WarningsConfig, thresholds: tuple[int, int, int]) -> Rules:
        rules = config.enterprise
        return cls(
            version=config.version,
            complaint=tuple(r for r in rules if isinstance(r, ComplaintSurge)),
            penalty=tuple(r for r in rules if isinstance(r, PenaltyCluster)),
            near=tuple(r for r in rules if isinstance(r, NearBoundary)),
            first_d=tuple(r for r in rules if isinstance(r, FirstD)),
            thresholds=thresholds,
            address=tuple(r for r in rules if isinstance(r, AddressCluster)),
        )

    def concerns(self, etype: str) -> bool:
        """Whether an event of ``etype`` can change a state whatever its outcome (the outcome
        matters only with near_boundary or first_d rules)."""
        if etype == EventType.COMPLAINT_RECEIVED:
            return bool(self.complaint)
        if etype in (EventType.PENALTY_IMPOSED, EventType.PENALTY_REVOKED):
            return bool(self.penalty)
        return etype == EventType.ENTERPRISE_REGISTERED

    @property
    def scored(self) -> bool:
        """Whether any rule looks at outcomes."""
        return bool(self.near or self.first_d)


@dataclass(frozen=True, slots=True)
class Event:
    """One input event as the rules see it."""

    uscc: str
    etype: str
    source: str
    event_id: str
    #: Event time, Unix s.
    time: int
    data: object
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class Raised:
    """A warning raised: its rule and severity (for metrics) and the message to send."""

    rule: str
    severity: str
    message: Message


def _utc(t: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def make_warning(
    rule: EnterpriseRule,
    version: str,
    uscc: str,
    evidence: Sequence[Evidence],
    window: tuple[int, int],
    asof: int,
    measures: dict[str, float],
    place: tuple[str, str] = ("", ""),
    mid: str | None = None,
) -> Raised:
    """The ``riskmon.alert.warning`` of ``rule`` on ``uscc``; its id (unless ``mid`` is given)
    derived from the enterprise, the rule and the evidence (``source`` + ``id`` of each)."""
    if mid is None:
        mid = derived_id(uscc, "warning", rule.id, *(f"{e.source}\x00{e.id}" for e in evidence))
    data = WarningRaised(
        rule=rule.id,
        rule_kind=rule.kind,
        severity=rule.severity,
        uscc=uscc,
        evidence=list(evidence),
        window=Window(start=_utc(window[0]), end=_utc(window[1])),
        asof=_utc(asof),
        warnings_version=version,
        measures=measures,
        division=place[0] or None,
        industry=place[1] or None,
    )
    return Raised(
        rule.id, rule.severity, message("alert", ALERT_WARNING, mid, uscc, _utc(asof), data)
    )


def _evidence(kept: Sequence[Kept], etype: str) -> list[Evidence]:
    return [Evidence(source=k.source, id=k.id, type=etype, time=_utc(k.time)) for k in kept]


#: Evidence listed per warning at most (the newest); ``measures`` has the full count.
MAX_EVIDENCE = 50


def _quiet(s: EnterpriseWarnings, rule_id: str, t: int, window: int) -> bool:
    last = s.fired.get(rule_id)
    return last is not None and t < last + window


def _add(kept: list[Kept], k: Kept) -> list[Kept]:
    return sorted([*kept, k], key=lambda x: (x.time, x.source, x.id))[-MAX_KEPT:]


def _complaint(s: EnterpriseWarnings, ev: Event, rules: Rules, out: list[Raised]) -> None:
    t = ev.time
    s.complaints = _add(s.complaints, Kept(t, ev.source, ev.event_id))
    for r in rules.complaint:
        w, tr = r.window_days * DAY, r.trailing_days * DAY
        inside = [k for k in s.complaints if t - w < k.time <= t]
        before = sum(1 for k in s.complaints if t - w - tr < k.time <= t - w)
        if len(inside) < r.min_count or _quiet(s, r.id, t, w):
            continue
        rate = len(inside) / r.window_days
        trailing = before / r.trailing_days
        if before and rate < r.min_ratio * trailing:
            continue
        measures = {"count": float(len(inside)), "trailing_count": float(before)}
        measures["trailing_rate_per_day"] = trailing
        if before:
            measures["ratio"] = rate / trailing
        shown = _evidence(inside[-MAX_EVIDENCE:], EventType.COMPLAINT_RECEIVED.value)
        place = (s.division, s.industry)
        window = (t - w + 1, t + 1)
        out.append(make_warning(r, rules.version, ev.uscc, shown, window, t, measures, place))
        s.fired[r.id] = t
    keep = max((r.window_days + r.trailing_days) * DAY for r in rules.complaint)
    newest = s.complaints[-1].time
    s.complaints = [k for k in s.complaints if k.time > newest - keep]


def _penalty(s: EnterpriseWarnings, ev: Event, rules: Rules, out: list[Raised]) -> None:
    t = ev.time
    if isinstance(ev.data, PenaltyRevoked):
        ref = ev.data.decision_number
        s.revoked = [*[x for x in s.revoked if x != ref], ref][-MAX_REVOKED:]
        s.penalties = [k for k in s.penalties if k.ref != ref]
        return
    if not isinstance(ev.data, PenaltyImposed):
        return
    ref = ev.data.decision_number
    if ref in s.revoked:
        return
    old = next((k for k in s.penalties if k.ref == ref), None)
    if old is not None and old.time >= t:
        return  # the same penalty again (scoring keeps the later one too)
    s.penalties = _add(
        [k for k in s.penalties if k.ref != ref], Kept(t, ev.source, ev.event_id, ref)
    )
    for r in rules.penalty:
        w = r.window_days * DAY
        inside = [k for k in s.penalties if t - w < k.time <= t]
        if len(inside) < r.min_count or _quiet(s, r.id, t, w):
            continue
        shown = _evidence(inside[-MAX_EVIDENCE:], EventType.PENALTY_IMPOSED.value)
        measures = {"count": float(len(inside))}
        place = (s.division, s.industry)
        window = (t - w + 1, t + 1)
        out.append(make_warning(r, rules.version, ev.uscc, shown, window, t, measures, place))
        s.fired[r.id] = t
    keep = max(r.window_days for r in rules.penalty) * DAY
    newest = s.penalties[-1].time
    s.penalties = [k for k in s.penalties if k.time > newest - keep]


def _scored(
    s: EnterpriseWarnings,
    uscc: str,
    o: Outcome,
    proof: Kept,
    etype: str,
    rules: Rules,
    out: list[Raised],
    near: bool,
) -> None:
    """The score-based rules on outcome ``o`` (known: ``new_class`` > 0)."""
    t = proof.time
    place = (s.division, s.industry)
    for r in rules.first_d:
        if o.new_class == _D and o.old_class != _D and not s.ever_d:
            measures = {"score": o.score / 1_000_000}
            out.append(
                make_warning(
                    r,
                    rules.version,
                    uscc,
                    _evidence([proof], etype),
                    (t, t + 1),
                    t,
                    measures,
                    place,
                )
            )
    if o.new_class == _D or o.old_class == _D:
        s.ever_d = True
    if near and rules.near and o.new_class < _D:
        threshold = rules.thresholds[o.new_class - 1]
        nxt = o.new_class + 1
        for nr in rules.near:
            band = round(nr.within_points * 1_000_000)
            inside = threshold - band <= o.score < threshold
            rising = 0 <= s.score < o.score
            if inside and rising and s.near != nxt:
                measures = {
                    "score": o.score / 1_000_000,
                    "previous_score": s.score / 1_000_000,
                    "threshold": threshold / 1_000_000,
                }
                window = (t, t + 1)
                out.append(
                    make_warning(
                        nr,
                        rules.version,
                        uscc,
                        _evidence([proof], etype),
                        window,
                        t,
                        measures,
                        place,
                    )
                )
            s.near = nxt if inside else 0
    elif near:
        s.near = 0
    s.score = o.score


def evaluate_event(
    state: EnterpriseWarnings | None, ev: Event, rules: Rules
) -> tuple[EnterpriseWarnings | None, list[Raised]]:
    """Apply one event (first copy: the caller's ledger answers duplicates) to its
    enterprise's state. Returns the new state (``state`` itself, unchanged, when nothing
    changed; None when there was none and still is none) and the warnings raised, in order."""
    concerns = rules.concerns(ev.etype)
    known = ev.outcome.new_class > 0 and rules.scored
    forget = bool(rules.near) and ev.outcome.new_class == 0 and state is not None
    if not (concerns or known or forget):
        return state, []
    s = _copy(state)
    out: list[Raised] = []
    if ev.etype == EventType.COMPLAINT_RECEIVED and rules.complaint:
        _complaint(s, ev, rules, out)
    elif ev.etype in (EventType.PENALTY_IMPOSED, EventType.PENALTY_REVOKED) and rules.penalty:
        _penalty(s, ev, rules, out)
    elif isinstance(ev.data, EnterpriseRegistered) and ev.time >= s.registered_at:
        s.division, s.industry = ev.data.division_code, ev.data.industry_code
        s.registered_at = ev.time
    if known:
        proof = Kept(ev.time, ev.source, ev.event_id)
        _scored(s, ev.uscc, ev.outcome, proof, ev.etype, rules, out, near=True)
    elif rules.near and ev.outcome.new_class == 0 and s.score >= 0:
        # Unknown (module docstring): the last score is forgotten, not kept, so the next event
        # cannot be found rising against a score from before this one.
        s.score = -1
    if state is None and s == EnterpriseWarnings():
        return None, out
    return (state if s == state else s), out


def evaluate_change(
    state: EnterpriseWarnings | None, change: Fired, rules: Rules
) -> tuple[EnterpriseWarnings | None, list[Raised]]:
    """Apply a time-driven class change (scoring/partition.py) of ``change.uscc``: only
    first_d looks at it (its evidence: the ticker's re-evaluation at the due moment, as
    ``alerts.rules.time_cause`` names it); the score it reports becomes the last one."""
    if not rules.scored:
        return state, []
    s = _copy(state)
    cause = time_cause(change.uscc, change.outcome.asof)
    proof = Kept(change.outcome.asof, cause.source, cause.id)
    out: list[Raised] = []
    _scored(s, change.uscc, change.outcome, proof, cause.type, rules, out, near=False)
    return (state if s == state else s), out


def _copy(state: EnterpriseWarnings | None) -> EnterpriseWarnings:
    if state is None:
        return EnterpriseWarnings()
    # By hand, not dataclasses.replace (a third of the cost of an event here): the lists are
    # never mutated, only rebound, so sharing them is safe.
    s = state
    return EnterpriseWarnings(
        s.complaints, s.penalties, s.revoked, dict(s.fired), s.score, s.near, s.ever_d,
        s.division, s.industry, s.registered_at,
    )  # fmt: skip
