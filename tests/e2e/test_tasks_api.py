"""End to end, with a worker, the real broker and Redis: the tasks, observation and discovery
API and ``riskmon tasks list``.

Events drive one enterprise into D by a grave penalty (a ``class_d`` task) and another by a
serious-violation listing; a new-economy firm in A is observed; a random-plan task is completed
with problems found. Then the operator's view: GET /tasks finds them by filter, POST assign
moves a task, and the API refuses (409) what a completed or cancelled task cannot do, and (404)
a task that does not exist. ``riskmon tasks list`` prints the same from the shell.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest
from kafka import KafkaProducer

from schemas.codec import encode_event
from schemas.events import PLANS_SOURCE
from supervision.ids import plan_task_id
from tests.support.builders import RESTAURANT, event
from tests.support.harness import ROOT, Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PENALISED = "91610112MA6TGQ1K2M"  # a grave food penalty: D by points, a class_d task
LISTED = "91110108551385082Q"  # a serious-violation listing: D, a serious_violation task
NEW = "91440101MA5CJQ4N59"  # new economy, in A: an observation period
PLAN = "SJ-E2E-001"
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=20)
FOUNDED = (T0 - dt.timedelta(days=60)).date()


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def _send(bootstrap: str, topic: str, events: list[tuple[str, dict[str, Any], int, str]]) -> None:
    """Publish (type, data, day, uscc) events keyed by their USCC, as any producer would; a
    plan's task comes from the plans' source, as ``riskmon plan draw --publish`` sends it."""
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks="all")
    try:
        for etype, data, n, uscc in events:
            source = PLANS_SOURCE if etype == "riskmon.task.planned" else "/e2e"
            eid = f"e2e-{etype}-{uscc}-{n}"
            ev = event(etype, data, when=day(n), subject=uscc, eid=eid, source=source)
            producer.send(topic, key=uscc.encode(), value=encode_event(ev))
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)


def _post(worker: Worker, path: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        worker.web + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _tasks(worker: Worker, query: str) -> list[dict[str, Any]]:
    status, doc = worker.get(f"/tasks?{query}")
    assert status == 200, doc
    tasks: list[dict[str, Any]] = doc["tasks"]
    return tasks


def _cli(
    env: dict[str, str], *args: str, command: str = "list"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "tasks", command, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_tasks_through_the_api_and_the_cli(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str
) -> None:
    worker.start().wait_ready()
    events_topic = env["RISKMON_EVENTS_TOPIC"]
    grave = {"decision_number": "P-1", "domain": "food", "fine_cny": 200000.0, "severity": "grave"}
    listing = {"decision_number": "SV-1", "reason": "fraud"}
    beijing = {**RESTAURANT, "division_code": "110108"}
    new_firm = {
        **RESTAURANT,
        "division_code": "440104",
        "new_economy": True,
        "founded_on": str(FOUNDED),
    }
    planned = {
        "task_id": plan_task_id(PLAN, NEW),
        "plan_id": PLAN,
        "class_at_draw": "A",
        "inspectors": ["i-01", "i-02"],
    }
    _send(
        kafka_bootstrap,
        events_topic,
        [
            ("enterprise.registered", RESTAURANT, 0, PENALISED),
            ("enterprise.registered", beijing, 0, LISTED),
            ("enterprise.registered", new_firm, 0, NEW),
            ("penalty.imposed", grave, 1, PENALISED),
            ("serious_violation.added", listing, 1, LISTED),
        ],
    )

    # D by points: the class_d task, found by the enterprise and by its trigger
    (d_task,) = wait_for(lambda: _tasks(worker, f"uscc={PENALISED}"), 60, what="the D task")
    assert (d_task["trigger"], d_task["state"], d_task["risk_class"]) == ("class_d", "created", "D")
    assert d_task["history"][0]["state"] == "created"
    (listed,) = wait_for(
        lambda: _tasks(worker, "trigger=serious_violation"), 30, what="the listing's task"
    )
    assert listed["uscc"] == LISTED
    assert [t["task_id"] for t in _tasks(worker, "division=610112&state=created")] == [
        d_task["task_id"]
    ]
    assert worker.get(f"/tasks/{d_task['task_id']}") == (200, d_task)

    # assign: published as an event, applied by the worker, answered with the task as it is
    # by a supervisor's own token, made as an operator would: `riskmon token create`
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "token",
            "create",
            "--role",
            "supervisor",
            "--name",
            "wang.li",
        ],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    clerk = made.stdout.splitlines()[-1]
    assert clerk.startswith("rmk_")
    status, assigned = _post(
        worker,
        f"/tasks/{d_task['task_id']}/assign",
        {"inspectors": ["i-07", "i-12"], "note": "food team"},
        clerk,
    )
    assert status == 200, assigned
    assert (assigned["state"], assigned["inspectors"]) == ("assigned", ["i-07", "i-12"])
    step = assigned["history"][-1]
    assert (step["state"], step["actor"], step["note"], step["rejected"]) == (
        "assigned",
        "token:wang.li",
        "food team",
        False,
    )
    assert worker.get(f"/tasks/{d_task['task_id']}")[1]["state"] == "assigned"

    # cancelled, then nothing more; unknown tasks are 404
    path = f"/tasks/{listed['task_id']}"
    status, cancelled = _post(worker, f"{path}/cancel", {"reason": "moved"}, clerk)
    assert (status, cancelled["state"]) == (200, "cancelled")
    status, refused = _post(worker, f"{path}/assign", {}, clerk)
    assert (status, refused["error"]) == (409, "a task cancelled cannot assign")
    status, missing = _post(worker, "/tasks/no-such-task/assign", {}, clerk)
    assert (status, missing) == (404, {"error": "unknown task", "task_id": "no-such-task"})
    assert worker.get("/tasks/no-such-task")[0] == 404
    status, bad = _post(worker, f"{path}/cancel", {}, clerk)
    assert (status, bad["detail"]) == (400, "reason: Field required")
    # a token revoked is refused at once; the run's own (admin) still works
    revoked = subprocess.run(
        [sys.executable, "-m", "cli", "token", "revoke", "wang.li"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert revoked.returncode == 0, revoked.stderr
    assert _post(worker, f"{path}/start", {}, clerk)[0] == 401
    assert worker.get(f"/tasks/{d_task['task_id']}", token=clerk)[0] == 401

    # a random-plan task completed by its inspection: completed, counted in the discovery rate
    done = {"result": "problems_found", "plan_id": PLAN, "task_id": planned["task_id"]}
    _send(
        kafka_bootstrap,
        events_topic,
        [("riskmon.task.planned", planned, 2, NEW), ("inspection.completed", done, 3, NEW)],
    )
    (completed,) = wait_for(
        lambda: _tasks(worker, f"plan_id={PLAN}&state=completed"), 60, what="the completed task"
    )
    assert (completed["uscc"], completed["result"]) == (NEW, "problems_found")
    admin = worker.token()
    assert admin is not None
    status, refused = _post(worker, f"/tasks/{completed['task_id']}/assign", {}, admin)
    assert (status, refused["error"]) == (409, "a task completed cannot assign")
    status, discovery = worker.get("/stats/discovery")
    assert status == 200
    a = discovery["classes"]["A"]
    assert (a["inspected"], a["problems_found"], a["rate"]) == (1, 1, 1.0)
    assert a["wilson_low"] > 0.0 and a["wilson_high"] == 1.0
    assert discovery["classes"]["D"]["inspected"] == 0

    # the new-economy firm's observation period; none for the others
    status, new_doc = worker.get(f"/enterprises/{NEW}")
    assert status == 200
    observation = new_doc["observation"]
    assert observation["active"] is True
    assert observation["since"].startswith(str(FOUNDED))
    assert observation["ended_reason"] is None
    assert worker.get(f"/enterprises/{PENALISED}")[1]["observation"] is None

    # the same from the shell
    listed_cli = _cli(env, "--state", "assigned")
    assert listed_cli.returncode == 0, listed_cli.stderr
    lines = listed_cli.stdout.splitlines()
    assert lines[0].split()[:4] == ["TASK", "STATE", "TRIGGER", "USCC"]
    assert len(lines) == 3 and lines[-1] == "1 task(s)"
    assert lines[1].split()[:4] == [d_task["task_id"], "assigned", "class_d", PENALISED]
    # the operator acted after its due moment (15 days for class_d): it is overdue too
    assert lines[1].split()[6:8] == ["yes", "i-07,i-12"]
    every = _cli(env, "--division", "61")
    assert every.returncode == 0, every.stderr
    assert every.stdout.splitlines()[-1] == "1 task(s)"
    refused_cli = _cli(env, "--uscc", "NOTAUSCC")
    assert refused_cli.returncode == 2
    assert "'NOTAUSCC' is not a valid USCC" in refused_cli.stderr
    table = _cli(env, command="discovery")
    assert table.returncode == 0, table.stderr
    rows = {line.split()[0]: line.split()[1:] for line in table.stdout.splitlines()[1:]}
    assert rows["A"][:4] == ["1", "1", "100.0", "%"]
    assert rows["D"] == ["0", "0", "-", "-"]

    assert worker.stop() == 0
