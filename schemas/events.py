"""Credit events: the CloudEvents 1.0 envelope and one pydantic model per event ``type``.

Upstream systems (the credit publicity system, the 12315 complaint platform, the spot-check
platform) are not ours, so the envelope accepts CloudEvents extension attributes, but every
``data`` model is strict (``extra="forbid"``): a field we do not know is a producer bug that must
surface as a dead letter, not be ignored.

Identity: ``source`` + ``id`` identify an event (CloudEvents); an equal pair is a duplicate.
``subject`` is the enterprise's USCC and also the Kafka key. ``time`` is event time and is
required: scores are computed from it, never from the wall clock.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from schemas.classes import ClassName
from schemas.uscc import USCC

__all__ = [
    "DATA_MODELS",
    "PLANS_SOURCE",
    "TASK_COMMANDS",
    "TICKER_SOURCE",
    "AbnormalListAdded",
    "AbnormalListRemoved",
    "CaseLeadTransferred",
    "CloudEvent",
    "ComplaintReceived",
    "EnterpriseRegistered",
    "Envelope",
    "EventType",
    "InspectionCompleted",
    "InspectionRequired",
    "MonitoringSignal",
    "PenaltyImposed",
    "PenaltyRevoked",
    "Reevaluate",
    "SeriousViolationAdded",
    "SeriousViolationRemoved",
    "TaskAssigned",
    "TaskCancelled",
    "TaskPlanned",
    "TaskStarted",
]


class EventType(StrEnum):
    """The closed set of event types riskmon accepts on its input topic."""

    ENTERPRISE_REGISTERED = "enterprise.registered"
    PENALTY_IMPOSED = "penalty.imposed"
    PENALTY_REVOKED = "penalty.revoked"
    ABNORMAL_LIST_ADDED = "abnormal_list.added"
    ABNORMAL_LIST_REMOVED = "abnormal_list.removed"
    SERIOUS_VIOLATION_ADDED = "serious_violation.added"
    SERIOUS_VIOLATION_REMOVED = "serious_violation.removed"
    COMPLAINT_RECEIVED = "complaint.received"
    INSPECTION_COMPLETED = "inspection.completed"
    #: A lead transferred from another department (trigger-based supervision).
    CASE_LEAD_TRANSFERRED = "case_lead.transferred"
    #: A big-data monitoring hit (trigger-based supervision).
    MONITORING_SIGNAL = "monitoring.signal"
    #: An inspection a law requires (trigger-based supervision).
    INSPECTION_REQUIRED = "inspection.required"
    #: What people do with tasks enters the log as events too, so a replay rebuilds every task:
    #: a published spot-check plan's task (``riskmon plan draw --publish``), and an operator's
    #: assignment, start or cancellation (the API's ``POST /tasks/{id}/...``).
    TASK_PLANNED = "riskmon.task.planned"
    TASK_ASSIGNED = "riskmon.task.assigned"
    TASK_STARTED = "riskmon.task.started"
    TASK_CANCELLED = "riskmon.task.cancelled"
    #: Internal: riskmon's own ticker asks for an enterprise to be re-evaluated at ``data.asof``
    #: (only for a partition idle by the wall clock); also the cause of every class change
    #: made by time alone. Goes through the same exactly-once path.
    REEVALUATE = "riskmon.reevaluate"


#: ``source`` of riskmon's own re-evaluation events and of the cause of a time-driven class
#: change; events from it are accepted as ``riskmon.reevaluate`` and from no one else.
TICKER_SOURCE = "/riskmon/ticker"
#: ``source`` of a published plan's ``riskmon.task.planned`` events.
PLANS_SOURCE = "/riskmon/plans"


_STRICT = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)

DecisionNumber = Annotated[str, StringConstraints(min_length=1, max_length=128)]
DivisionCode = Annotated[str, StringConstraints(pattern=r"^[1-8]\d{5}$")]
#: GB/T 4754-2017: section letter A-T, then the 2-digit division, optionally group and class.
IndustryCode = Annotated[str, StringConstraints(pattern=r"^[A-T](\d{2}(\d{1,2})?)?$")]

EntityType = Literal["enterprise", "individual_business", "farmers_cooperative"]
PenaltyDomain = Literal[
    "food",
    "drug",
    "special_equipment",
    "quality",
    "price",
    "consumer_protection",
    "advertising",
    "competition",
    "licensing",
    "other",
]
Severity = Literal["minor", "ordinary", "serious", "grave"]
#: The statutory reasons of the abnormal-operations list (企业经营异常名录管理暂行办法 art. 4).
AbnormalReason = Literal[
    "annual_report_missing",
    "information_not_disclosed",
    "false_information",
    "unreachable_at_address",
]
ComplaintChannel = Literal[
    "12315_hotline", "12315_platform", "letter", "visit", "transfer", "other"
]
ComplaintCategory = Literal[
    "quality", "price", "contract", "advertising", "food_safety", "service", "other"
]
InspectionResult = Literal["no_problem", "corrected", "problems_found", "not_at_address", "refused"]


class EnterpriseRegistered(BaseModel):
    """An enterprise was registered, or its registration changed (latest event time wins)."""

    model_config = _STRICT
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    entity_type: EntityType = "enterprise"
    division_code: DivisionCode = Field(description="GB/T 2260 code of the registered address")
    industry_code: IndustryCode = Field(description="GB/T 4754-2017 code, e.g. F5191 or C13")
    founded_on: dt.date
    registered_capital_cny: float = Field(ge=0, strict=True)
    new_economy: bool = Field(
        default=False, strict=True, description="new industry, business format or model (三新)"
    )
    address: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = Field(
        default=None,
        description="registered address (注册地址) as written; compared normalised, for the"
        " address-cluster warning; never logged",
    )


class PenaltyImposed(BaseModel):
    model_config = _STRICT
    decision_number: DecisionNumber
    domain: PenaltyDomain
    fine_cny: float = Field(ge=0, strict=True)
    severity: Severity
    licence_revoked: bool = Field(default=False, strict=True)


class PenaltyRevoked(BaseModel):
    """Revokes the penalty with ``decision_number``: its contribution is cancelled entirely."""

    model_config = _STRICT
    decision_number: DecisionNumber
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class AbnormalListAdded(BaseModel):
    model_config = _STRICT
    decision_number: DecisionNumber
    reason: AbnormalReason


class AbnormalListRemoved(BaseModel):
    """Removes the listing made by ``decision_number`` (the listing decision, not the removal's)."""

    model_config = _STRICT
    decision_number: DecisionNumber
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class SeriousViolationAdded(BaseModel):
    model_config = _STRICT
    decision_number: DecisionNumber
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class SeriousViolationRemoved(BaseModel):
    model_config = _STRICT
    decision_number: DecisionNumber
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class ComplaintReceived(BaseModel):
    model_config = _STRICT
    channel: ComplaintChannel
    category: ComplaintCategory


class InspectionCompleted(BaseModel):
    model_config = _STRICT
    result: InspectionResult
    plan_id: Annotated[str, StringConstraints(max_length=128)] = ""
    #: The task this inspection completes (riskmon's ``task_id``); "" if none is named.
    task_id: Annotated[str, StringConstraints(max_length=128)] = ""


class CaseLeadTransferred(BaseModel):
    model_config = _STRICT
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    from_department: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MonitoringSignal(BaseModel):
    model_config = _STRICT
    code: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    severity: Literal["low", "medium", "high"]


class InspectionRequired(BaseModel):
    model_config = _STRICT
    legal_basis: Annotated[str, StringConstraints(min_length=1, max_length=500)]


TaskId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Actor = Annotated[str, StringConstraints(min_length=1, max_length=128)]
InspectorId = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class TaskPlanned(BaseModel):
    """One task of a published spot-check plan (the enterprise is the event's subject)."""

    model_config = _STRICT
    task_id: TaskId
    plan_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    class_at_draw: ClassName
    inspectors: list[InspectorId]
    domain: Annotated[str, StringConstraints(max_length=64)] = ""


class TaskAssigned(BaseModel):
    model_config = _STRICT
    task_id: TaskId
    actor: Actor
    #: Inspectors assigned (empty: keep those the task has).
    inspectors: list[InspectorId] = Field(default_factory=list)
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class TaskStarted(BaseModel):
    model_config = _STRICT
    task_id: TaskId
    actor: Actor
    note: Annotated[str, StringConstraints(max_length=500)] = ""


class TaskCancelled(BaseModel):
    model_config = _STRICT
    task_id: TaskId
    actor: Actor
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


class Reevaluate(BaseModel):
    model_config = _STRICT
    asof: AwareDatetime


DATA_MODELS: dict[EventType, type[BaseModel]] = {
    EventType.ENTERPRISE_REGISTERED: EnterpriseRegistered,
    EventType.PENALTY_IMPOSED: PenaltyImposed,
    EventType.PENALTY_REVOKED: PenaltyRevoked,
    EventType.ABNORMAL_LIST_ADDED: AbnormalListAdded,
    EventType.ABNORMAL_LIST_REMOVED: AbnormalListRemoved,
    EventType.SERIOUS_VIOLATION_ADDED: SeriousViolationAdded,
    EventType.SERIOUS_VIOLATION_REMOVED: SeriousViolationRemoved,
    EventType.COMPLAINT_RECEIVED: ComplaintReceived,
    EventType.INSPECTION_COMPLETED: InspectionCompleted,
    EventType.CASE_LEAD_TRANSFERRED: CaseLeadTransferred,
    EventType.MONITORING_SIGNAL: MonitoringSignal,
    EventType.INSPECTION_REQUIRED: InspectionRequired,
    EventType.TASK_PLANNED: TaskPlanned,
    EventType.TASK_ASSIGNED: TaskAssigned,
    EventType.TASK_STARTED: TaskStarted,
    EventType.TASK_CANCELLED: TaskCancelled,
    EventType.REEVALUATE: Reevaluate,
}

#: The event types that change a task and nothing else.
TASK_COMMANDS = frozenset(
    {
        EventType.TASK_PLANNED,
        EventType.TASK_ASSIGNED,
        EventType.TASK_STARTED,
        EventType.TASK_CANCELLED,
    }
)

_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_CONTEXT_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"}
)


def _rfc3339_string(value: object) -> object:
    # CloudEvents' time is an RFC 3339 string; pydantic would also take Unix seconds.
    if not isinstance(value, str):
        raise ValueError("time must be an RFC 3339 string")
    return value


class Envelope(BaseModel):
    """The CloudEvents 1.0 context attributes riskmon relies on; ``data`` is validated per type."""

    model_config = ConfigDict(frozen=True, extra="allow")
    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    subject: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    time: Annotated[AwareDatetime, BeforeValidator(_rfc3339_string)]
    datacontenttype: Literal["application/json"] | None = None
    dataschema: Annotated[str, StringConstraints(max_length=512)] | None = None
    data: dict[str, Any]

    @model_validator(mode="after")
    def _extensions_are_cloudevents_attributes(self) -> Envelope:
        for name, value in (self.model_extra or {}).items():
            if not _EXTENSION_NAME.match(name):
                raise ValueError(f"extension attribute {name!r} is not [a-z0-9]{{1,20}}")
            if not isinstance(value, str | int | bool) or value is None:
                raise ValueError(f"extension attribute {name!r} must be a string, int or bool")
        return self


D = TypeVar("D", bound=BaseModel)


class CloudEvent(BaseModel, Generic[D]):
    """A fully typed credit event; used to publish JSON Schemas and to build events in Python."""

    # Extension attributes are allowed, as by the decoder's Envelope.
    model_config = ConfigDict(frozen=True, extra="allow")
    specversion: Literal["1.0"]
    id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    source: Annotated[str, StringConstraints(min_length=1, max_length=512)]
    type: str
    subject: USCC
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: D
