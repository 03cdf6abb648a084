"""``riskmon plan`` end to end, as an operator runs it: a worker fills the store from a small
history on the real broker and Redis, then the real CLI draws a plan, publishes its tasks
(twice: the same ids), lists it, and verifies the plan file (and catches an edited one)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.codec import encode_event
from schemas.events import PLANS_SOURCE
from schemas.uscc import make_uscc
from scoring.store import Keys, iter_states
from streams.redis_client import connect
from tests.support.builders import at, event
from tests.support.harness import ROOT, Worker, read_topic, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

POOL = ROOT / "examples" / "inspectors.csv"
RECENT_DAY = 300  # the last day of the history; one D enterprise is inspected that day


def _history() -> tuple[list[bytes], dict[str, str], str]:
    """40 Weiyang restaurants: 10 each pushed to A, B, C and D by penalties; one D inspected on
    the last day. The lines to send, uscc -> the class it ends in, and the inspected one."""
    rng = random.Random(17)
    lines, classes = [], {}
    penalty = {
        "B": {"domain": "food", "severity": "ordinary", "fine_cny": 0},
        "C": {"domain": "food", "severity": "serious", "fine_cny": 0},
        "D": {"domain": "price", "severity": "grave", "fine_cny": 0, "licence_revoked": True},
    }
    for i in range(40):
        uscc = make_uscc(rng)
        klass = "ABCD"[i % 4]
        classes[uscc] = klass
        reg = {
            "name": f"示例餐饮{i}",
            "division_code": "610112",
            "industry_code": "H6210",
            "founded_on": "2015-03-01",
            "registered_capital_cny": 1_000_000,
        }
        lines.append(encode_event(event("enterprise.registered", reg, when=at(0), subject=uscc)))
        if klass in penalty:
            data = {"decision_number": f"罚{i}", **penalty[klass]}
            lines.append(encode_event(event("penalty.imposed", data, when=at(299), subject=uscc)))
    inspected = next(u for u, k in classes.items() if k == "D")
    ins = event("inspection.completed", {"result": "problems_found"}, when=at(RECENT_DAY),
                subject=inspected)  # fmt: skip
    lines.append(encode_event(ins))
    return lines, classes, inspected


def _riskmon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _stored(env: dict[str, str]) -> dict[str, str]:
    client = connect(env["RISKMON_REDIS_URL"])
    try:
        parts = int(env["RISKMON_PARTITIONS"])
        return {
            u: "_ABCD"[s.klass]
            for _, u, s in iter_states(client, Keys(env["RISKMON_REDIS_PREFIX"]), parts)
        }
    finally:
        client.close()


def test_draw_publish_list_and_verify_a_plan(
    worker: Worker, env: dict[str, str], tmp_path: Path
) -> None:
    env["RISKMON_PLANS_TOPIC"] = f"{env['RISKMON_REDIS_PREFIX']}.plans"
    worker.env.update(env)
    worker.start().wait_ready()
    lines, classes, inspected = _history()
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join(lines) + b"\n")
    sent = _riskmon(env, "send", str(history))
    assert sent.returncode == 0, sent.stderr
    wait_for(lambda: _stored(env) == classes, 90, what="the history applied")

    plan_file = tmp_path / "plan.json"
    draw = [
        "plan", "draw", "--preset", "yancheng-2022", "--name", "2026 Q4 catering",
        "--scope", "division=610112", "--scope", "domain=food", "--inspectors", str(POOL),
        "--seed", "20261201", "--publish", "--out", str(plan_file),
    ]  # fmt: skip
    done = _riskmon(env, *draw)
    assert done.returncode == 0, done.stderr
    plan = json.loads(plan_file.read_text())
    for key in (
        "plan_id", "name", "preset", "seed", "model_version", "asof", "directory_digest",
        "inspector_digest", "strata", "tasks",
    ):  # fmt: skip
        assert key in plan, key
    assert plan["preset"] == "yancheng-2022" and plan["seed"] == 20261201
    assert plan["model_version"] == "default-2026.1"
    assert plan["asof"].startswith(at(RECENT_DAY).date().isoformat())
    # The table: the plan id, then a row per class with its population, ratio and drawn.
    assert f"plan {plan['plan_id']}" in done.stdout
    d_row = next(x for x in done.stdout.splitlines() if x.strip().startswith("D "))
    assert d_row.split() == ["D", "9", "100", "%", "9"]
    # The D enterprise inspected on the plan's day is excluded (recent); the rest are drawn
    # from, every D among them (yancheng: 100 %).
    assert plan["excluded"]["recent"] == 1
    assert inspected not in {e["uscc"] for e in plan["snapshot"]}
    strata = plan["strata"]
    assert [strata[c]["population"] for c in "ABCD"] == [10, 10, 10, 9]
    assert strata["C"]["drawn"] == 4 and strata["D"]["drawn"] == 9
    tasks = plan["tasks"]
    assert len(tasks) == sum(s["drawn"] for s in strata.values())
    food = {"INS-001", "INS-002", "INS-003", "INS-004", "INS-005", "INS-006", "INS-017"}
    for t in tasks:
        assert t["class"] == classes[t["uscc"]]
        assert len(t["inspectors"]) == 2 and set(t["inspectors"]) <= food

    def planned() -> list[tuple[str, str, str]]:
        out = []
        for r in read_topic(env["RISKMON_KAFKA_BOOTSTRAP"], env["RISKMON_EVENTS_TOPIC"]):
            doc = json.loads(r.value or b"{}")
            if doc.get("type") == "riskmon.task.planned":
                assert doc["source"] == PLANS_SOURCE and r.key == doc["subject"].encode()
                assert doc["data"]["plan_id"] == plan["plan_id"]
                out.append((doc["id"], doc["subject"], doc["data"]["task_id"]))
        return out

    first = planned()
    assert sorted(first) == sorted((t["task_id"], t["uscc"], t["task_id"]) for t in tasks)

    # The worker turns each into a tracked task: riskmon.task.created, trigger random_plan.
    def created() -> dict[str, dict[str, object]]:
        out = {}
        for r in read_topic(env["RISKMON_KAFKA_BOOTSTRAP"], env["RISKMON_TASKS_TOPIC"]):
            doc = json.loads(r.value or b"{}")
            if (
                doc.get("type") == "riskmon.task.created"
                and doc["data"]["trigger"] == "random_plan"
            ):
                out[doc["data"]["task_id"]] = doc["data"]
        return out

    made = wait_for(lambda: len(c := created()) == len(tasks) and c, 60, what="the plan's tasks")
    for t in tasks:
        assert made[t["task_id"]]["plan_id"] == plan["plan_id"]
        assert made[t["task_id"]]["inspectors"] == t["inspectors"]
        assert made[t["task_id"]]["risk_class"] == t["class"]

    # Publishing the plan again: the very same event ids sent once more, no new task.
    again = _riskmon(env, "plan", "publish", str(plan_file))
    assert again.returncode == 0, again.stderr
    assert f"plan {plan['plan_id']}: published {len(tasks)} task(s)" in again.stdout
    second = planned()
    assert len(second) == 2 * len(first) and set(second) == set(first)
    assert set(created()) == {t["task_id"] for t in tasks}

    # A new draw from the store now: the enterprises just planned have those inspectors as
    # their previous ones, so none is sent the same inspector twice in a row.
    redraw = _riskmon(
        env, *[a for a in draw if a != "--publish"][:-2], "--out", str(tmp_path / "p2.json")
    )
    assert redraw.returncode == 0, redraw.stderr
    plan2 = json.loads((tmp_path / "p2.json").read_text())
    before = {t["uscc"]: set(t["inspectors"]) for t in tasks}
    assert plan2["plan_id"] != plan["plan_id"]
    again_drawn = [t for t in plan2["tasks"] if t["uscc"] in before]
    assert again_drawn  # every D is drawn again (100 %)
    for t in again_drawn:
        assert not before[t["uscc"]] & set(t["inspectors"]), t

    listed = _riskmon(env, "plan", "list")
    assert listed.returncode == 0, listed.stderr
    (row,) = [x for x in listed.stdout.splitlines() if plan["plan_id"] in x]
    assert "published" in row and f"{len(tasks)} task(s)" in row and "yancheng-2022" in row

    ok = _riskmon(env, "plan", "verify", str(plan_file))
    assert ok.returncode == 0, ok.stderr
    assert f"plan {plan['plan_id']} verified" in ok.stdout

    # An edited snapshot: a C enterprise made A. The digest recomputed from it differs.
    edited = json.loads(plan_file.read_text())
    entry = next(e for e in edited["snapshot"] if e["class"] == "C")
    entry["class"] = "A"
    bad_file = tmp_path / "edited.json"
    bad_file.write_text(json.dumps(edited))
    bad = _riskmon(env, "plan", "verify", str(bad_file))
    assert bad.returncode == 1
    assert "does not verify: directory_digest" in bad.stderr and "Traceback" not in bad.stderr


def test_a_pool_too_small_fails_before_anything_is_published(
    worker: Worker, env: dict[str, str], tmp_path: Path
) -> None:
    env["RISKMON_PLANS_TOPIC"] = f"{env['RISKMON_REDIS_PREFIX']}.plans"
    worker.env.update(env)
    worker.start().wait_ready()
    lines, classes, _ = _history()
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"\n".join(lines) + b"\n")
    assert _riskmon(env, "send", str(history)).returncode == 0
    wait_for(lambda: _stored(env) == classes, 90, what="the history applied")
    pool = tmp_path / "two.csv"
    pool.write_text("id,name,department,qualifications\nX1,甲,food,food\nX2,乙,food,food\n")
    events_before = len(read_topic(env["RISKMON_KAFKA_BOOTSTRAP"], env["RISKMON_EVENTS_TOPIC"]))
    done = _riskmon(
        env, "plan", "draw", "--preset", "yancheng-2022", "--name", "too few",
        "--inspectors", str(pool), "--seed", "1", "--per-task", "3", "--publish",
        "--out", str(tmp_path / "plan.json"),
    )  # fmt: skip
    assert done.returncode == 2
    assert "needs 3 inspectors" in done.stderr and "task " in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "plan.json").exists()
    after = read_topic(env["RISKMON_KAFKA_BOOTSTRAP"], env["RISKMON_EVENTS_TOPIC"])
    assert len(after) == events_before
    listed = _riskmon(env, "plan", "list")
    assert listed.returncode == 0 and "no plans" in listed.stdout
