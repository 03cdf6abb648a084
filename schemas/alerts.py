"""What riskmon publishes (CloudEvents): class-change alerts, early warnings on enterprises,
regions and industries, inspection tasks and what befalls them, observation periods, and risk
reminders to enterprises.

Ids are derived from the cause (enterprise + the event that caused it + the kind), so a
redelivered or re-published cause re-sends the very same id; consumers dedup on it.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.classes import ClassName
from schemas.uscc import USCC

__all__ = [
    "ALERT_CLASS_CHANGED",
    "ALERT_INDUSTRY",
    "ALERT_REGION",
    "ALERT_WARNING",
    "AREA_SUBJECT_PATTERN",
    "DATA_OF_TYPE",
    "OBSERVATION_ENDED",
    "OBSERVATION_STARTED",
    "REMINDER_SENT",
    "TASK_CREATED",
    "TASK_OVERDUE",
    "AreaCounts",
    "AreaKind",
    "AreaWarning",
    "Cause",
    "ClassChanged",
    "EndReason",
    "Evidence",
    "ObservationEnded",
    "ObservationStarted",
    "OutgoingEnvelope",
    "OutputData",
    "OutputType",
    "Reason",
    "ReminderKind",
    "ReminderSent",
    "Severity",
    "TaskCreated",
    "TaskOverdue",
    "TaskTrigger",
    "WarningRaised",
    "Window",
]

ALERT_CLASS_CHANGED: Final = "riskmon.alert.class_changed"
ALERT_WARNING: Final = "riskmon.alert.warning"
ALERT_REGION: Final = "riskmon.alert.region"
ALERT_INDUSTRY: Final = "riskmon.alert.industry"
TASK_CREATED: Final = "riskmon.task.created"
TASK_OVERDUE: Final = "riskmon.task.overdue"
OBSERVATION_STARTED: Final = "riskmon.observation.started"
OBSERVATION_ENDED: Final = "riskmon.observation.ended"
REMINDER_SENT: Final = "riskmon.reminder.sent"

OutputType = Literal[
    "riskmon.alert.class_changed",
    "riskmon.alert.warning",
    "riskmon.alert.region",
    "riskmon.alert.industry",
    "riskmon.task.created",
    "riskmon.task.overdue",
    "riskmon.observation.started",
    "riskmon.observation.ended",
    "riskmon.reminder.sent",
]

#: Why a task exists: a class (D), a listing, a published spot-check plan, or an observation
#: period's trigger (a second minor one: an interview; a bottom-line one: on site).
TaskTrigger = Literal[
    "class_d", "serious_violation", "random_plan", "observation_interview", "observation_trigger"
]
#: Why an observation period ended.
EndReason = Literal[
    "expired", "class_c", "class_d", "bottom_line", "case_lead", "legal_requirement"
]
#: How urgent an early warning is (the warning rules file gives each rule one).
Severity = Literal["info", "warning", "critical"]
#: What an area warning is about: a county-level division (GB/T 2260) or an industry (GB/T
#: 4754 section letter, or section and two-digit division, e.g. ``F`` or ``F51``).
AreaKind = Literal["division", "industry"]
#: The subject of an area warning: ``division:<code>`` or ``industry:<code>``.
AREA_SUBJECT_PATTERN = r"^(division:[0-9]{6}|industry:[A-T]([0-9]{2})?)$"
#: What a risk reminder is about.
ReminderKind = Literal["abnormal_list", "observation_trigger", "penalty_repair"]

_OURS = ConfigDict(frozen=True, extra="forbid")


class Cause(BaseModel):
    """The input event that caused an alert or task (CloudEvents identity and type)."""

    model_config = _OURS
    source: str
    id: str
    type: str


class Reason(BaseModel):
    """One contribution behind a class: what it is and its points at the time of the alert."""

    model_config = _OURS
    key: str = Field(description="contribution key, e.g. pen:<decision number>")
    event_type: str
    points: float
    floor: bool = Field(description="true if it sets a minimum class (a listing)")


class ClassChanged(BaseModel):
    model_config = _OURS
    uscc: USCC
    old_class: ClassName | None = Field(description="null: first classification")
    new_class: ClassName
    score: float
    asof: AwareDatetime
    model_version: str
    cause: Cause
    reasons: list[Reason]


class TaskCreated(BaseModel):
    model_config = _OURS
    task_id: str
    uscc: USCC
    trigger: TaskTrigger
    mode: Literal["on_site", "interview"] = "on_site"
    risk_class: ClassName
    asof: AwareDatetime
    model_version: str
    cause: Cause
    #: The spot-check plan it belongs to (trigger ``random_plan``), else null.
    plan_id: str | None = None
    #: Inspectors drawn or assigned (empty until someone is).
    inspectors: list[str] = Field(default_factory=list)
    #: When it falls overdue (per trigger and class in the supervision configuration).
    due: AwareDatetime | None = None


class TaskOverdue(BaseModel):
    """A task still open at its due moment (by event time: the partition's watermark)."""

    model_config = _OURS
    task_id: str
    uscc: USCC
    trigger: TaskTrigger
    state: Literal["created", "assigned", "in_progress"]
    due: AwareDatetime
    plan_id: str | None = None


class ObservationStarted(BaseModel):
    """A new-economy enterprise in A or B enters its observation period (观察期)."""

    model_config = _OURS
    uscc: USCC
    since: AwareDatetime
    until: AwareDatetime
    cause: Cause


class ObservationEnded(BaseModel):
    model_config = _OURS
    uscc: USCC
    since: AwareDatetime
    until: AwareDatetime
    ended_at: AwareDatetime
    reason: EndReason
    cause: Cause


class ReminderSent(BaseModel):
    """A risk reminder (风险提醒) for the channel that writes to enterprises. Its texts name
    the fact and the remedy, never the class, the score or the model."""

    model_config = _OURS
    uscc: USCC
    kind: ReminderKind
    #: What it refers to, e.g. the listing's or the penalty's decision number.
    ref: str
    #: The text per language (``zh-CN``, ``en``).
    texts: dict[str, str]
    asof: AwareDatetime
    cause: Cause


class Evidence(BaseModel):
    """One input event behind an early warning (CloudEvents identity, type and event time)."""

    model_config = _OURS
    source: str
    id: str
    type: str
    time: AwareDatetime


class Window(BaseModel):
    """The span of event time a rule looked at: ``[start, end)``."""

    model_config = _OURS
    start: AwareDatetime
    end: AwareDatetime


class WarningRaised(BaseModel):
    """An early warning on one enterprise (``riskmon.alert.warning``): a rule of the warnings
    file fired. Its id is derived from the rule and the evidence, so a redelivered event
    re-sends the same id."""

    model_config = _OURS
    rule: str = Field(description="the rule's id in the warnings file")
    rule_kind: str = Field(
        description="complaint_surge, penalty_cluster, address_cluster, near_boundary, first_d"
    )
    severity: Severity
    uscc: USCC
    evidence: list[Evidence] = Field(description="the events that fired it, oldest first")
    window: Window
    asof: AwareDatetime
    warnings_version: str = Field(description="the warnings file's version")
    #: What the rule measured, by name (e.g. count, trailing_rate, ratio, score, threshold).
    measures: dict[str, float] = Field(default_factory=dict)
    #: The enterprise's division and industry where known (for filters and routing).
    division: str | None = None
    industry: str | None = None


class AreaCounts(BaseModel):
    """An area's enterprises per class and entries into C and D."""

    model_config = _OURS
    enterprises: int
    by_class: dict[ClassName, int]
    cd_share: float = Field(description="share of C and D among its classified enterprises")
    d_entries_7d: int


class AreaWarning(BaseModel):
    """A warning on a region or an industry (``riskmon.alert.region``,
    ``riskmon.alert.industry``): its counts, the baseline it was held against and the test
    statistic. Its id is derived from the rule, the area and the window."""

    model_config = _OURS
    rule: str
    rule_kind: Literal["cd_share", "d_surge"]
    severity: Severity
    kind: AreaKind
    code: str
    window: Window
    counts: AreaCounts
    #: What it was compared with: the district's C+D share, or the trailing weekly mean of D
    #: entries, by name.
    baseline: dict[str, float]
    #: The test: e.g. share_excess_points, or ratio and the Poisson tail p_value.
    statistic: dict[str, float]
    warnings_version: str


OutputData = (
    ClassChanged
    | WarningRaised
    | AreaWarning
    | TaskCreated
    | TaskOverdue
    | ObservationStarted
    | ObservationEnded
    | ReminderSent
)

#: The data model of each output type.
DATA_OF_TYPE: dict[str, type[BaseModel]] = {
    ALERT_CLASS_CHANGED: ClassChanged,
    ALERT_WARNING: WarningRaised,
    ALERT_REGION: AreaWarning,
    ALERT_INDUSTRY: AreaWarning,
    TASK_CREATED: TaskCreated,
    TASK_OVERDUE: TaskOverdue,
    OBSERVATION_STARTED: ObservationStarted,
    OBSERVATION_ENDED: ObservationEnded,
    REMINDER_SENT: ReminderSent,
}


class OutgoingEnvelope(BaseModel):
    """The CloudEvents envelope of an alert or task (structured JSON mode)."""

    model_config = _OURS
    specversion: Literal["1.0"] = "1.0"
    id: Annotated[str, Field(min_length=1)]
    source: str
    type: OutputType
    #: The enterprise's USCC; for an area warning, ``division:<code>`` or ``industry:<code>``.
    subject: USCC | Annotated[str, Field(pattern=AREA_SUBJECT_PATTERN)]
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: OutputData

    @model_validator(mode="after")
    def _data_matches_type(self) -> OutgoingEnvelope:
        expected = DATA_OF_TYPE[self.type]
        if not isinstance(self.data, expected):
            raise ValueError(f"{self.type} carries {expected.__name__} data")
        return self
