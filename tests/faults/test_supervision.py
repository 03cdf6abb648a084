"""Supervision under R3 and R10 of docs/reliability.md: its outputs and its tasks equal the
reference fold of the log as published, through re-published events, different batching, and a
crash after the Redis write.

The seeded log (re-published duplicates, poison records, a feed in event-time order but for one
event in five) is given what supervision acts on: every task the reference tracks for it gets
its commands (assigned, started; some cancelled) and an inspection naming it; a published plan's
tasks (``riskmon.task.planned``) are completed by inspections naming the plan, counted by their
class at draw; new-economy firms get transferred leads, monitoring signals and legal
requirements. A third of those are then published again (same ``source`` + ``id``, new
offsets). A worker taking batches of 50 crashes after its third Redis write that owed outputs
(``RISKMON_FAULT_CRASH_AFTER_BATCHES``), before sending them or committing; its successor takes
batches of 7, so the redelivered events are cut into other batches than the first attempt's.
In the end: the alert, task and reminder ids, and every tracked task, are the reference's
(observation periods and overdue tasks among the alerts), the discovery counts too, and the
audit log's partition chains hold one record per class change and per task step, and verify.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.codec import encode_event
from schemas.events import PLANS_SOURCE
from scoring.model import load_model
from security.audit import DEFAULT_AUDIT_KEY, AuditRecord, verify
from security.store.audit import chains, read_head
from streams.redis_client import connect
from supervision.ids import plan_task_id
from supervision.store.keys import SupervisionKeys
from tests.support.builders import event
from tests.support.eventlog import LogRecord, as_published, seeded_log
from tests.support.harness import Worker, read_topic
from tests.support.oracle import reference
from tests.support.scenario import ROWS, Published, Row, crash_then_finish, metric

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PLAN = "plan-2026-food-01"


def _rec(
    etype: str, data: dict[str, Any], when: dt.datetime, uscc: str, eid: str, **kw: Any
) -> LogRecord:
    ev = event(etype, data, when=when, subject=uscc, eid=eid, **kw)
    return LogRecord(uscc.encode(), encode_event(ev))


def _registrations(log: list[LogRecord]) -> list[dict[str, Any]]:
    out = []
    for r in log:
        if r.poison:
            continue
        doc = orjson.loads(r.value)
        if doc["type"] == "enterprise.registered" and doc["id"].startswith("reg-"):
            out.append(doc)
    return out


def supervised_log(seed: int, partitions: int) -> list[LogRecord]:
    rng = random.Random(seed)
    base = seeded_log(seed=seed, enterprises=40, events=700, disorder=0.2)
    # the tasks the base log makes (their ids derive from their causes)
    expected = reference(as_published(base, "base", partitions), load_model(), partitions)
    extras: list[tuple[dt.datetime, LogRecord]] = []
    # every tracked task: its commands and its inspection (some cancelled instead)
    for n, task in enumerate(sorted(expected.tasks.values(), key=lambda t: t.task_id)):
        t0 = dt.datetime.fromtimestamp(task.created_at, dt.UTC)
        u, tid = task.uscc, task.task_id
        extras.append(
            (
                t0 + dt.timedelta(days=2),
                _rec(
                    "riskmon.task.assigned",
                    {"task_id": tid, "actor": "chief"},
                    t0 + dt.timedelta(days=2),
                    u,
                    f"as-{n}",
                ),
            )
        )
        if n % 4 == 3:
            extras.append(
                (
                    t0 + dt.timedelta(days=3),
                    _rec(
                        "riskmon.task.cancelled",
                        {"task_id": tid, "actor": "chief", "reason": "closed down"},
                        t0 + dt.timedelta(days=3),
                        u,
                        f"ca-{n}",
                    ),
                )
            )
            continue
        extras.append(
            (
                t0 + dt.timedelta(days=4),
                _rec(
                    "riskmon.task.started",
                    {"task_id": tid, "actor": "wang"},
                    t0 + dt.timedelta(days=4),
                    u,
                    f"st-{n}",
                ),
            )
        )
        result = rng.choice(["no_problem", "problems_found", "corrected"])
        extras.append(
            (
                t0 + dt.timedelta(days=9),
                _rec(
                    "inspection.completed",
                    {"result": result, "task_id": tid},
                    t0 + dt.timedelta(days=9),
                    u,
                    f"in-{n}",
                ),
            )
        )
    regs = _registrations(base)
    start = min(dt.datetime.fromisoformat(r["time"]) for r in regs)
    # a published plan: a task for one firm in four, completed by an inspection naming the plan
    for n, reg in enumerate(regs[::4]):
        u = reg["subject"]
        when = start + dt.timedelta(days=200 + n)
        data = {
            "task_id": plan_task_id(PLAN, u),
            "plan_id": PLAN,
            "class_at_draw": "A",
            "inspectors": ["i1", "i2"],
        }
        extras.append(
            (when, _rec("riskmon.task.planned", data, when, u, f"pl-{n}", source=PLANS_SOURCE))
        )
        result = rng.choice(["no_problem", "problems_found"])
        done = when + dt.timedelta(days=20)
        extras.append(
            (
                done,
                _rec(
                    "inspection.completed", {"result": result, "plan_id": PLAN}, done, u, f"pi-{n}"
                ),
            )
        )
    # new-economy firms: triggers of their observation periods
    for n, reg in enumerate(r for r in regs if r["data"]["new_economy"]):
        u = reg["subject"]
        when = dt.datetime.fromisoformat(reg["time"]) + dt.timedelta(days=30 + 7 * n)
        kind = n % 3
        if kind == 0:
            rec = _rec(
                "monitoring.signal", {"code": "M-17", "severity": "medium"}, when, u, f"ms-{n}"
            )
        elif kind == 1:
            rec = _rec(
                "case_lead.transferred",
                {"reason": "food sold unlicensed", "from_department": "public security"},
                when,
                u,
                f"cl-{n}",
            )
        else:
            rec = _rec(
                "inspection.required",
                {"legal_basis": "food safety law art. 87"},
                when,
                u,
                f"ir-{n}",
            )
        extras.append((when, rec))
        second = when + dt.timedelta(days=10)
        extras.append(
            (
                second,
                _rec(
                    "monitoring.signal", {"code": "M-18", "severity": "low"}, second, u, f"ms2-{n}"
                ),
            )
        )
    extras.sort(key=lambda e: e[0])
    added = [r for _, r in extras]
    return base + added + rng.sample(added, len(added) // 3)


def test_supervision_through_republished_events_rebatching_and_a_crash(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    row = Row(
        "R3+R10 supervision",
        faults="re-published commands, crash after Redis write, batches 50 then 7",
    )
    ROWS.append(row)
    parts = int(env["RISKMON_PARTITIONS"])
    log = Published(kafka_bootstrap, env)
    row.events = log.send(supervised_log(17, parts))

    out = crash_then_finish(kafka_bootstrap, redis_url, env, worker, log, tmp_path)
    expected = out.expected
    # supervision had plenty to do, or the comparison proves little
    states = [t.state for t in expected.tasks.values()]
    assert states.count("completed") >= 5 and "cancelled" in states, states
    assert expected.reminder_ids
    types = {
        orjson.loads(r.value)["type"]
        for r in read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])
    }
    assert {"riskmon.observation.started", "riskmon.observation.ended"} <= types
    triggers = {
        orjson.loads(r.value)["data"]["trigger"]
        for r in read_topic(kafka_bootstrap, env["RISKMON_TASKS_TOPIC"])
    }
    assert {"serious_violation", "random_plan", "observation_trigger"} <= triggers
    # the discovery counts are the reference's too (each completed plan task counted once)
    r = connect(redis_url)
    try:
        keys = SupervisionKeys(env["RISKMON_REDIS_PREFIX"])
        disc: dict[str, int] = {}
        for p in range(parts):
            for k, v in r.hgetall(keys.discovery(p)).items():
                disc[k.decode()] = disc.get(k.decode(), 0) + int(v)
    finally:
        r.close()
    want: dict[str, int] = {}
    for s in expected.supervision.values():
        for k, v in s.discovery.items():
            want[k] = want.get(k, 0) + v
    assert disc == want and sum(disc.values()) >= 5, (disc, want)
    # the audit log's partition chains: one class.change per class change, however often the
    # events came (the crash redelivered a batch, a third were re-published), and they verify
    changed: Counter[str] = Counter()
    alert_ids: set[str] = set()
    for rec in read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"]):
        doc = orjson.loads(rec.value)
        if doc["type"] == "riskmon.alert.class_changed" and doc["id"] not in alert_ids:
            alert_ids.add(doc["id"])
            changed[doc["subject"]] += 1
    r = connect(redis_url)
    try:
        prefix = env["RISKMON_REDIS_PREFIX"]
        chained = [
            AuditRecord.from_json(fields[b"r"])
            for c in chains(prefix, parts)[1:]
            for _, fields in r.xrange(c.log)
        ]
        known = {
            c.name: read_head(raw) for c in chains(prefix, parts) if (raw := r.hgetall(c.head))
        }
    finally:
        r.close()
    class_records = Counter(r.target for r in chained if r.action == "class.change")
    assert class_records == changed and sum(changed.values()) >= 10
    # and one record per task step an event asked for, as the reference's task histories say
    steps = Counter(r.target for r in chained if r.action.startswith("task."))
    want_steps = Counter(
        {
            tid: n
            for tid, t in expected.tasks.items()
            if (n := sum(1 for h in t.history if h.event_id))
        }
    )
    assert steps == want_steps and sum(want_steps.values()) >= 20
    assert verify(chained, DEFAULT_AUDIT_KEY, {k: v for k, v in known.items() if k != "ops"}).ok
    row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
    assert row.duplicates > expected.duplicates  # the crashed batches were redelivered
    row.result = (
        f"exact; {len(expected.tasks)} tracked tasks, {len(expected.reminder_ids)} reminders,"
        f" {sum(disc.values())} spot checks counted"
    )
