"""Supervision's messages: valid envelopes on the right topic, in event time, with ids that
depend only on their cause."""

from __future__ import annotations

import datetime as dt

from alerts.rules import time_cause
from schemas.alerts import Cause, OutgoingEnvelope
from supervision import outputs
from supervision.records import ObservationRecord, TaskRecord

U = "91610112MA6TGQ1K2M"
T = int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp())
CAUSE = Cause(source="/12315", id="c-1", type="complaint.received")


def env(m: object) -> OutgoingEnvelope:
    return OutgoingEnvelope.model_validate_json(m.value)  # type: ignore[attr-defined]


def test_a_task_is_created_on_the_tasks_topic_as_of_its_creation() -> None:
    task = TaskRecord("t-1", U, "observation_interview", "interview", "created", "B", T, T + 9,
                      plan_id="", inspectors=[])  # fmt: skip
    m = outputs.task_created(task, CAUSE, "v1")
    e = env(m)
    assert (m.kind, m.id, m.trigger, e.time) == ("task", "t-1", "observation_interview",
                                                outputs.at(T))  # fmt: skip
    assert e.data.model_dump()["plan_id"] is None and e.data.model_dump()["due"] == outputs.at(
        T + 9
    )
    assert outputs.task_created(task, CAUSE, "v1") == m


def test_overdue_is_an_alert_as_of_the_due_moment_with_an_id_of_its_task() -> None:
    task = TaskRecord("t-1", U, "random_plan", "on_site", "assigned", "A", T, T + 9, plan_id="p")
    m = outputs.task_overdue(task)
    assert (m.kind, env(m).time) == ("alert", outputs.at(T + 9))
    other = TaskRecord("t-2", U, "random_plan", "on_site", "assigned", "A", T, T + 9, plan_id="p")
    assert outputs.task_overdue(other).id != m.id


def test_an_observation_starts_and_ends_once_per_enterprise() -> None:
    o = ObservationRecord(U, T, T + 100, True)
    start = outputs.observation_started(o, T + 5, CAUSE)
    assert (start.kind, env(start).time) == ("alert", outputs.at(T + 5))
    o.active, o.ended_at, o.ended_reason = False, T + 100, "expired"
    ended = outputs.observation_ended(o, time_cause(U, T + 100))
    assert env(ended).data.model_dump()["reason"] == "expired"
    assert env(ended).time == outputs.at(T + 100)
    assert start.id != ended.id
    assert outputs.observation_started(o, T + 99, CAUSE).id == start.id  # one period a firm


def test_a_reminder_goes_to_the_reminders_topic() -> None:
    m = outputs.reminder(U, "penalty_repair", "罚-1", "", T, time_cause(U, T))
    assert m.kind == "reminder" and m.key == U.encode()
    assert set(env(m).data.model_dump()["texts"]) == {"zh-CN", "en"}
