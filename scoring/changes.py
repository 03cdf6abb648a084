"""What one credit event changes in an enterprise's state, under a scoring model (pure).

Every event maps to a :class:`Change`: at most one contribution to add, at most one key to
cancel, at most one profile to set. Contributions are keyed by what they *are* (the penalty's
decision number, the listing's decision number), so a revocation or removal names exactly the
contribution it cancels, and a corrected re-issue of the same decision replaces the original.

The value types built once per event on the worker's hot path (these, and the record, event,
request, result and outcome types around them) are plain slotted dataclasses, never mutated
after construction: a frozen dataclass costs several times as much to build.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from pydantic import BaseModel

from schemas.classes import RiskClass
from schemas.codec import CreditEvent
from schemas.events import (
    AbnormalListAdded,
    AbnormalListRemoved,
    ComplaintReceived,
    EnterpriseRegistered,
    EventType,
    InspectionCompleted,
    PenaltyImposed,
    PenaltyRevoked,
    Reevaluate,
    SeriousViolationAdded,
    SeriousViolationRemoved,
)
from scoring.model import Dimension, Fade, ScoringModel

#: Event types that carry no points: triggers of supervision and the task commands.
_NO_POINTS = frozenset(
    {
        EventType.CASE_LEAD_TRANSFERRED,
        EventType.MONITORING_SIGNAL,
        EventType.INSPECTION_REQUIRED,
        EventType.TASK_PLANNED,
        EventType.TASK_ASSIGNED,
        EventType.TASK_STARTED,
        EventType.TASK_CANCELLED,
    }
)

__all__ = ["KEY_PREFIXES", "Change", "Contribution", "Profile", "change_for", "event_hash"]

#: Contribution key prefix → the event type that creates it (for explanations).
KEY_PREFIXES: dict[str, EventType] = {
    "reg": EventType.ENTERPRISE_REGISTERED,
    "pen": EventType.PENALTY_IMPOSED,
    "abn": EventType.ABNORMAL_LIST_ADDED,
    "svl": EventType.SERIOUS_VIOLATION_ADDED,
    "cmp": EventType.COMPLAINT_RECEIVED,
    "ins": EventType.INSPECTION_COMPLETED,
}


@dataclass(slots=True)
class Contribution:
    """One event's standing contribution to a score.

    ``time``/``expires`` are Unix seconds (``expires`` 0: never); ``half_life`` seconds (0: no
    fading); ``floor`` the minimum class while active (0: none). ``tiebreak`` orders two
    contributions of the same key with equal time. ``cancelled`` contributions count 0 but stay
    for the audit trail, and a cancel that arrives before its contribution still wins.
    """

    key: str
    dimension: int
    time: int
    points: float
    half_life: int = 0
    expires: int = 0
    floor: int = 0
    tiebreak: int = 0
    cancelled: bool = False
    ref: str = ""


@dataclass(slots=True)
class Profile:
    """Registration facts used for regional and industry views (latest event time wins)."""

    division: str
    industry: str
    new_economy: bool
    entity_type: str
    time: int
    tiebreak: int


@dataclass(slots=True)
class Change:
    event_hash: str
    asof: int
    contribution: Contribution | None = None
    cancel: str | None = None
    profile: Profile | None = None


def event_hash(source: str, event_id: str) -> str:
    """16 hex chars identifying ``source`` + ``id`` (the CloudEvents identity) in the ledger."""
    digest = hashlib.blake2b(f"{source}\x00{event_id}".encode(), digest_size=8).hexdigest()
    return digest


def _tiebreak(ehash: str) -> int:
    # 32 bits: only orders two versions of one contribution with the same time, and packs in
    # 5 bytes of MessagePack (the state keeps one per contribution).
    return int(ehash[:8], 16)


def _contribution(
    key: str,
    rule: Fade,
    dimension: str,
    points: float,
    time: int,
    ehash: str,
    *,
    floor: str | None = None,
    impact_days: float | None = None,
    ref: str = "",
) -> Contribution:
    impact = rule.impact_seconds(impact_days)
    return Contribution(
        key=key,
        dimension=int(Dimension[dimension.upper()]),
        time=time,
        # At most 6 decimals: the value round-trips exactly through Lua's cjson (14 digits).
        points=round(points, 6),
        half_life=rule.half_life_seconds(),
        expires=time + impact if impact else 0,
        floor=int(RiskClass[floor]) if floor else 0,
        tiebreak=_tiebreak(ehash),
        ref=ref,
    )


def _penalty_points(model: ScoringModel, data: PenaltyImposed) -> float:
    rule = model.penalty
    points = rule.points_by_severity[data.severity]
    # fine_steps are validated to increase: the last step the fine reaches applies.
    reached = [s.points for s in rule.fine_steps if data.fine_cny >= s.from_cny]
    points += reached[-1] if reached else 0.0
    if data.licence_revoked:
        points += rule.licence_revoked_points
    if data.domain in rule.key_domains:
        points *= rule.key_domain_multiplier
    return round(points, 6)


def change_for(event: CreditEvent, model: ScoringModel) -> Change:
    """The state change ``event`` asks for under ``model``. Pure and deterministic."""
    ehash = event_hash(event.source, event.id)
    t = event.epoch_seconds
    data: BaseModel = event.data
    m = model
    if isinstance(data, EnterpriseRegistered):
        # Founding is a local date: midnight in the event's own time zone (deterministic).
        midnight = dt.datetime.combine(data.founded_on, dt.time(), tzinfo=event.time.tzinfo)
        founded = int(midnight.timestamp())
        reg = m.registration
        young = Contribution(
            key="reg",
            dimension=int(Dimension[reg.dimension.upper()]),
            time=founded,
            points=reg.young_firm_points,
            expires=founded + round(reg.young_firm_days * 86_400),
            tiebreak=_tiebreak(ehash),
        )
        profile = Profile(
            division=data.division_code,
            industry=data.industry_code,
            new_economy=data.new_economy,
            entity_type=data.entity_type,
            time=t,
            tiebreak=_tiebreak(ehash),
        )
        # The young-firm contribution dates from founding; the state's clock only from the event.
        return Change(ehash, t, contribution=young, profile=profile)
    if isinstance(data, PenaltyImposed):
        rule = m.penalty
        key_domain = data.domain in rule.key_domains
        c = _contribution(
            f"pen:{data.decision_number}",
            rule,
            rule.dimension,
            _penalty_points(m, data),
            t,
            ehash,
            impact_days=rule.key_domain_impact_days if key_domain else None,
            ref=f"{data.domain}/{data.severity}",
        )
        return Change(ehash, t, contribution=c)
    if isinstance(data, PenaltyRevoked):
        return Change(ehash, t, cancel=f"pen:{data.decision_number}")
    if isinstance(data, AbnormalListAdded):
        ar = m.abnormal_list
        c = _contribution(
            f"abn:{data.decision_number}",
            ar,
            ar.dimension,
            ar.points_by_reason[data.reason],
            t,
            ehash,
            floor=ar.min_class,
            ref=data.reason,
        )
        return Change(ehash, t, contribution=c)
    if isinstance(data, AbnormalListRemoved):
        return Change(ehash, t, cancel=f"abn:{data.decision_number}")
    if isinstance(data, SeriousViolationAdded):
        sr = m.serious_violation
        c = _contribution(
            f"svl:{data.decision_number}", sr, sr.dimension, sr.points, t, ehash, floor=sr.min_class
        )
        return Change(ehash, t, contribution=c)
    if isinstance(data, SeriousViolationRemoved):
        return Change(ehash, t, cancel=f"svl:{data.decision_number}")
    if isinstance(data, ComplaintReceived):
        cr = m.complaint
        c = _contribution(f"cmp:{ehash}", cr, cr.dimension, cr.points, t, ehash, ref=data.category)
        return Change(ehash, t, contribution=c)
    if isinstance(data, InspectionCompleted):
        ir = m.inspection
        c = _contribution(
            f"ins:{ehash}",
            ir,
            ir.dimension,
            ir.points_by_result[data.result],
            t,
            ehash,
            ref=data.result,
        )
        return Change(ehash, t, contribution=c)
    if isinstance(data, Reevaluate):
        return Change(ehash, int(data.asof.timestamp()))
    if event.type in _NO_POINTS:
        # Supervision's inputs (supervision/): they score nothing, but are news of the
        # enterprise at their time, so it is evaluated then.
        return Change(ehash, t)
    raise AssertionError(f"no change rule for {event.type}")  # pragma: no cover
