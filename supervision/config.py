"""Supervision's parameters (pure): observation periods, their triggers, task due days and
reminders, as data in a TOML file (``RISKMON_SUPERVISION_PATH``; unset: the shipped
``supervision/default.toml``, which says why each value is what it is).

Every value is required (the file is the one place they are set, so they cannot drift from
a default in code). Validated once at start: an error names the field
(``observation.days: ...``), as the scoring model's loader does, and the worker refuses to start.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Literal, Self, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.alerts import TaskTrigger
from schemas.classes import ClassName
from schemas.events import ComplaintCategory, PenaltyDomain
from schemas.toml_files import load_validated
from supervision.exceptions import ConfigError

__all__ = [
    "DEFAULT_CONFIG",
    "MinorTrigger",
    "ObservationConfig",
    "OnSiteTrigger",
    "RemindersConfig",
    "SupervisionConfig",
    "TasksConfig",
    "load",
]

#: The shipped configuration, beside this module (package data).
DEFAULT_CONFIG = "default.toml"

#: Minor triggers of an observation period: the first in a window reminds, the second interviews.
MinorTrigger = Literal["complaint", "monitoring.signal"]
#: Triggers that send inspectors at once and end the period.
OnSiteTrigger = Literal["bottom_line_penalty", "case_lead.transferred", "inspection.required"]

_OURS = ConfigDict(frozen=True, extra="forbid")
_CLASSES: tuple[str, ...] = get_args(ClassName)
_TRIGGERS: tuple[str, ...] = get_args(TaskTrigger)

PositiveInt = Annotated[int, Field(gt=0, strict=True)]


class ObservationConfig(BaseModel):
    model_config = _OURS
    #: Length of the period from the founding date (days).
    days: PositiveInt
    #: A second minor trigger within this many days of the first makes an interview.
    trigger_window_days: PositiveInt
    #: This many complaints within ``complaint_window_days`` make one minor trigger.
    complaint_threshold: PositiveInt
    complaint_window_days: PositiveInt
    #: Complaint categories that make a minor trigger at once (one complaint is enough).
    safety_categories: frozenset[ComplaintCategory]
    #: Penalty domains whose penalty breaches a bottom line (on-site task, the period ends).
    bottom_line_domains: frozenset[PenaltyDomain]
    minor_triggers: frozenset[MinorTrigger]
    on_site_triggers: frozenset[OnSiteTrigger]


class TasksConfig(BaseModel):
    model_config = _OURS
    #: trigger -> class -> days from creation until the task falls overdue.
    due_days: dict[TaskTrigger, dict[ClassName, PositiveInt]]

    @model_validator(mode="after")
    def _complete(self) -> Self:
        missing = [t for t in _TRIGGERS if t not in self.due_days]
        if missing:
            raise ValueError(f"due_days: no entry for trigger(s) {', '.join(missing)}")
        for trigger, per_class in self.due_days.items():
            gaps = [c for c in _CLASSES if c not in per_class]
            if gaps:
                raise ValueError(f"due_days.{trigger}: no entry for class(es) {', '.join(gaps)}")
        return self

    def days(self, trigger: str, risk_class: str) -> int:
        """Days a task of ``trigger`` for an enterprise in ``risk_class`` has until overdue."""
        return self.due_days[trigger][risk_class]  # type: ignore[index]


class RemindersConfig(BaseModel):
    model_config = _OURS
    #: Days after an ordinary penalty when its publicity may be repaired (the reminder's time).
    penalty_repair_days: PositiveInt
    #: The same for a penalty in one of ``key_domains``.
    key_domain_repair_days: PositiveInt
    key_domains: frozenset[PenaltyDomain]

    def repair_days(self, domain: str) -> int:
        """Days from a penalty in ``domain`` until its repair window opens."""
        return (
            self.key_domain_repair_days if domain in self.key_domains else self.penalty_repair_days
        )


class SupervisionConfig(BaseModel):
    model_config = _OURS
    version: Annotated[str, Field(min_length=1)]
    observation: ObservationConfig
    tasks: TasksConfig
    reminders: RemindersConfig


def load(path: Path | None = None) -> SupervisionConfig:
    """Load and validate a supervision file (TOML). ``None`` loads the shipped default.

    Raises :class:`ConfigError` naming the file and every invalid field."""
    return load_validated(
        SupervisionConfig,
        path,
        resources.files("supervision").joinpath(DEFAULT_CONFIG),
        what="supervision config",
        default_name=f"default supervision {DEFAULT_CONFIG}",
        error=ConfigError,
    )
