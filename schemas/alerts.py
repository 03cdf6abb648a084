"""What riskmon publishes: class-change alerts and trigger-based inspection tasks (CloudEvents).

Ids are derived from the cause (enterprise + the event that caused it + the kind), so a
redelivered or re-published cause re-sends the very same id; consumers dedup on it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from schemas.classes import ClassName
from schemas.uscc import USCC

__all__ = [
    "ALERT_CLASS_CHANGED",
    "TASK_CREATED",
    "Cause",
    "ClassChanged",
    "OutgoingEnvelope",
    "Reason",
    "TaskCreated",
]

ALERT_CLASS_CHANGED = "riskmon.alert.class_changed"
TASK_CREATED = "riskmon.task.created"

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
    trigger: Literal["class_d", "serious_violation"]
    mode: Literal["on_site"] = "on_site"
    risk_class: ClassName
    asof: AwareDatetime
    model_version: str
    cause: Cause


class OutgoingEnvelope(BaseModel):
    """The CloudEvents envelope of an alert or task (structured JSON mode)."""

    model_config = _OURS
    specversion: Literal["1.0"] = "1.0"
    id: Annotated[str, Field(min_length=1)]
    source: str
    type: Literal["riskmon.alert.class_changed", "riskmon.task.created"]
    subject: USCC
    time: AwareDatetime
    datacontenttype: Literal["application/json"] = "application/json"
    data: ClassChanged | TaskCreated

    @model_validator(mode="after")
    def _data_matches_type(self) -> OutgoingEnvelope:
        expected = ClassChanged if self.type == ALERT_CLASS_CHANGED else TaskCreated
        if not isinstance(self.data, expected):
            raise ValueError(f"{self.type} carries {expected.__name__} data")
        return self
