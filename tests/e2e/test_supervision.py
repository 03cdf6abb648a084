"""End to end, against the real broker and Redis with a worker: supervision follows the class.

An enterprise driven into D by a serious-violation listing gets a tracked on-site task, which
the task commands move (assigned, then in progress) and an inspection naming it completes; a
new-economy firm registered in A starts its observation period on ``riskmon.alerts``; an
enterprise put on the abnormal-operations list gets a risk reminder on ``riskmon.reminders``
that says how to leave it and never names its class. Every output equals the reference fold of
the published log. An idle partition whose only due entry is a task past due gets the
ticker's record, and the task its overdue alert."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.codec import encode_event
from scoring.model import load_model
from streams.redis_client import connect
from streams.topics import partition_for
from supervision.records import TaskRecord, decode_task
from supervision.store.keys import SupervisionKeys
from tests.support.builders import RESTAURANT, event
from tests.support.eventlog import LogRecord
from tests.support.harness import Worker, read_topic, wait_for
from tests.support.oracle import reference
from tests.support.scenario import Published

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

LISTED = "91610112MA6TGQ1K2M"  # serious violation: D, an on-site task
NEW = "91110108551385082Q"  # new economy, A: observed
ABNORMAL = "91440101MA5CJQ4N59"  # abnormal-operations list: a reminder
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=20)


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def _rec(etype: str, data: dict[str, Any], when: dt.datetime, uscc: str, eid: str) -> LogRecord:
    ev = event(etype, data, when=when, subject=uscc, eid=eid, source="/e2e")
    return LogRecord(uscc.encode(), encode_event(ev))


def _first_part() -> list[LogRecord]:
    founded = str((T0 - dt.timedelta(days=60)).date())
    return [
        _rec("enterprise.registered", RESTAURANT, day(0), LISTED, "reg-listed"),
        _rec(
            "enterprise.registered",
            {**RESTAURANT, "new_economy": True, "founded_on": founded},
            day(0),
            NEW,
            "reg-new",
        ),
        _rec("enterprise.registered", RESTAURANT, day(0), ABNORMAL, "reg-abnormal"),
        _rec(
            "serious_violation.added",
            {"decision_number": "西未市监严〔2026〕0003号", "reason": "fraud"},
            day(1),
            LISTED,
            "sv-1",
        ),
        _rec(
            "abnormal_list.added",
            {"decision_number": "西未市监异〔2026〕0042号", "reason": "unreachable_at_address"},
            day(2),
            ABNORMAL,
            "abn-1",
        ),
    ]


def _docs(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    return [orjson.loads(r.value) for r in read_topic(bootstrap, topic)]


def _task(redis_url: str, env: dict[str, str], task_id: str) -> TaskRecord | None:
    r = connect(redis_url)
    try:
        p = partition_for(LISTED.encode(), int(env["RISKMON_PARTITIONS"]))
        raw = r.hget(SupervisionKeys(env["RISKMON_REDIS_PREFIX"]).tasks(p), task_id)
    finally:
        r.close()
    return decode_task(raw) if isinstance(raw, bytes) else None


def test_supervision_follows_the_class_end_to_end(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str
) -> None:
    log = Published(kafka_bootstrap, env)
    log.send(_first_part())
    worker.start().wait_ready()

    # D: the listing's on-site task, tracked from its creation
    tasks = wait_for(
        lambda: _docs(kafka_bootstrap, env["RISKMON_TASKS_TOPIC"]), 60, what="the D task"
    )
    (created,) = [t for t in tasks if t["subject"] == LISTED]
    assert created["data"]["trigger"] == "serious_violation"
    task_id = created["data"]["task_id"]
    task = wait_for(lambda: _task(redis_url, env, task_id), 30, what="the tracked task")
    assert task.state == "created"

    # a new-economy firm in A: its observation period starts, on riskmon.alerts
    alerts = wait_for(
        lambda: [
            a
            for a in _docs(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])
            if a["type"] == "riskmon.observation.started"
        ],
        30,
        what="riskmon.observation.started",
    )
    assert [a["subject"] for a in alerts] == [NEW]

    # the abnormal-operations list: a reminder that says how to leave it, without the class
    (reminder,) = wait_for(
        lambda: _docs(kafka_bootstrap, env["RISKMON_REMINDERS_TOPIC"]), 30, what="a reminder"
    )
    assert reminder["type"] == "riskmon.reminder.sent"
    assert reminder["subject"] == ABNORMAL
    text = orjson.dumps(reminder["data"]).decode()
    assert "class" not in reminder["data"] and "score" not in reminder["data"]
    assert '"C"' not in text and "default-2026" not in text

    # the task's commands and its inspection, keyed by the enterprise like every event
    commands = [
        _rec(
            "riskmon.task.assigned", {"task_id": task_id, "actor": "chief-li"}, day(3), LISTED, "c1"
        ),
        _rec("riskmon.task.started", {"task_id": task_id, "actor": "wang"}, day(4), LISTED, "c2"),
    ]
    log.send(commands)
    wait_for(
        lambda: (t := _task(redis_url, env, task_id)) is not None and t.state == "in_progress",
        30,
        what="the task in progress",
    )
    log.send(
        [
            _rec(
                "inspection.completed",
                {"result": "problems_found", "task_id": task_id},
                day(5),
                LISTED,
                "insp-1",
            )
        ]
    )
    done = wait_for(
        lambda: (t := _task(redis_url, env, task_id)) is not None and t.state == "completed" and t,
        30,
        what="the task completed",
    )
    assert done.result == "problems_found"
    assert [(h.state, h.actor) for h in done.history if not h.rejected][:3] == [
        ("created", done.history[0].actor),
        ("assigned", "chief-li"),
        ("in_progress", "wang"),
    ]

    # and everything sent is what the reference fold of the published log sends
    expected = reference(log.records, load_model(), int(env["RISKMON_PARTITIONS"]))
    sent_alerts = {a["id"] for a in _docs(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])}
    sent_tasks = {t["id"] for t in _docs(kafka_bootstrap, env["RISKMON_TASKS_TOPIC"])}
    sent_reminders = {r["id"] for r in _docs(kafka_bootstrap, env["RISKMON_REMINDERS_TOPIC"])}
    assert (sent_alerts, sent_tasks, sent_reminders) == (
        expected.alert_ids,
        expected.task_ids,
        expected.reminder_ids,
    )
    assert expected.tasks[task_id].state == "completed"


def test_an_idle_partition_with_a_task_past_due_gets_its_overdue_alert(
    env: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    # Listed 30 days ago (D, a task due in 15 days): no class change is due by the clock, but
    # the task is overdue, and no event will come. The idle partition's ticker record moves
    # supervision's time past the task's due moment.
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    listed = now - dt.timedelta(days=30)
    records = [
        _rec("enterprise.registered", RESTAURANT, listed - dt.timedelta(days=10), LISTED, "r"),
        _rec(
            "serious_violation.added",
            {"decision_number": "西未市监严〔2026〕0009号", "reason": "fraud"},
            listed,
            LISTED,
            "sv",
        ),
    ]
    idle_env = {**env, "RISKMON_IDLE_SECONDS": "1"}
    Published(kafka_bootstrap, idle_env).send(records)
    worker = Worker(idle_env, tmp_path / "idle.log").start()
    try:
        worker.wait_ready()
        overdue = wait_for(
            lambda: [
                a
                for a in _docs(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])
                if a["type"] == "riskmon.task.overdue"
            ],
            60,
            what="riskmon.task.overdue",
        )
    finally:
        worker.stop()
    (alert,) = overdue
    (task,) = _docs(kafka_bootstrap, env["RISKMON_TASKS_TOPIC"])
    assert alert["subject"] == LISTED
    assert alert["data"]["task_id"] == task["data"]["task_id"]
    # the ticker's record is in the log now: folded again, the topic warrants what was sent
    topic = read_topic(kafka_bootstrap, env["RISKMON_EVENTS_TOPIC"])
    assert len(topic) == len(records) + 1
    expected = reference(topic, load_model(), int(env["RISKMON_PARTITIONS"]))
    assert {a["id"] for a in _docs(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])} == (
        expected.alert_ids
    )
