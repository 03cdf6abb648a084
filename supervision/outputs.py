"""The messages supervision sends (pure): one builder per output type, each with its
deterministic id and its event time.

Ids: a task's ``task.created`` carries the task id; its overdue alert ``derived_id(task id,
"overdue")``; an observation period's start and end ``derived_id(uscc, "observation",
"started"|"ended")`` (an enterprise has at most one period); a reminder
:func:`supervision.reminders.reminder_id`.
"""

from __future__ import annotations

import datetime as dt

from alerts.rules import Message, derived_id, message
from schemas.alerts import (
    OBSERVATION_ENDED,
    OBSERVATION_STARTED,
    REMINDER_SENT,
    TASK_CREATED,
    TASK_OVERDUE,
    Cause,
    ObservationEnded,
    ObservationStarted,
    ReminderKind,
    ReminderSent,
    TaskCreated,
    TaskOverdue,
)
from supervision import reminders
from supervision.records import ObservationRecord, TaskRecord

__all__ = [
    "at",
    "observation_ended",
    "observation_started",
    "reminder",
    "task_created",
    "task_overdue",
]


def at(t: int) -> dt.datetime:
    """Unix seconds as an aware UTC datetime."""
    return dt.datetime.fromtimestamp(t, dt.UTC)


def task_created(task: TaskRecord, cause: Cause, model_version: str) -> Message:
    """``riskmon.task.created`` for ``task`` (on ``riskmon.tasks``), as of its creation."""
    data = TaskCreated(
        task_id=task.task_id,
        uscc=task.uscc,
        trigger=task.trigger,  # type: ignore[arg-type]
        mode=task.mode,  # type: ignore[arg-type]
        risk_class=task.risk_class,  # type: ignore[arg-type]
        asof=at(task.created_at),
        model_version=model_version,
        cause=cause,
        plan_id=task.plan_id or None,
        inspectors=list(task.inspectors),
        due=at(task.due),
    )
    return message(
        "task", TASK_CREATED, task.task_id, task.uscc, at(task.created_at), data, task.trigger
    )


def task_overdue(task: TaskRecord) -> Message:
    """``riskmon.task.overdue`` (on ``riskmon.alerts``), as of the task's due moment."""
    data = TaskOverdue(
        task_id=task.task_id,
        uscc=task.uscc,
        trigger=task.trigger,  # type: ignore[arg-type]
        state=task.state,  # type: ignore[arg-type]
        due=at(task.due),
        plan_id=task.plan_id or None,
    )
    mid = derived_id(task.task_id, "overdue")
    return message("alert", TASK_OVERDUE, mid, task.uscc, at(task.due), data)


def observation_started(obs: ObservationRecord, t: int, cause: Cause) -> Message:
    """``riskmon.observation.started`` as of ``t`` (the registration's time)."""
    data = ObservationStarted(uscc=obs.uscc, since=at(obs.since), until=at(obs.until), cause=cause)
    mid = derived_id(obs.uscc, "observation", "started")
    return message("alert", OBSERVATION_STARTED, mid, obs.uscc, at(t), data)


def observation_ended(obs: ObservationRecord, cause: Cause) -> Message:
    """``riskmon.observation.ended`` as of its end (``obs.ended_at``, ``obs.ended_reason``)."""
    data = ObservationEnded(
        uscc=obs.uscc,
        since=at(obs.since),
        until=at(obs.until),
        ended_at=at(obs.ended_at),
        reason=obs.ended_reason,  # type: ignore[arg-type]
        cause=cause,
    )
    mid = derived_id(obs.uscc, "observation", "ended")
    return message("alert", OBSERVATION_ENDED, mid, obs.uscc, at(obs.ended_at), data)


def reminder(uscc: str, kind: ReminderKind, ref: str, reason: str, t: int, cause: Cause) -> Message:
    """``riskmon.reminder.sent`` (on ``riskmon.reminders``) as of ``t``."""
    texts = reminders.texts(kind, ref, reason)
    data = ReminderSent(uscc=uscc, kind=kind, ref=ref, texts=texts, asof=at(t), cause=cause)
    mid = reminders.reminder_id(uscc, kind, ref)
    return message("reminder", REMINDER_SENT, mid, uscc, at(t), data)
