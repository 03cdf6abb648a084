"""A published plan's events: one ``riskmon.task.planned`` per task, valid on the events topic,
keyed by the USCC, their ids the task ids (so publishing twice sends the same ids)."""

from __future__ import annotations

import random

from jobs.plans import summary, task_events
from schemas.codec import decode_event
from schemas.events import PLANS_SOURCE, EventType, TaskPlanned
from schemas.uscc import make_uscc
from supervision.eligibility import Entry
from supervision.inspectors import parse_pool
from supervision.plan import make_plan
from supervision.preset import load_preset
from supervision.scope import parse_scope


def _plan() -> dict[str, object]:
    rng = random.Random(4)
    snap = [Entry(make_uscc(rng), "D") for _ in range(12)]
    pool = parse_pool(
        "id,name,department,qualifications\n" + "".join(f"I{k},n{k},food,food\n" for k in range(5))
    )
    return make_plan(
        name="p",
        preset=load_preset("bayannur-2022"),
        scope=parse_scope(["domain=food"]),
        seed=3,
        per_task=2,
        model_version="m",
        asof=1_780_000_000,
        snapshot=snap,
        pool=pool,
    )


def test_one_valid_planned_event_per_task_with_the_task_id() -> None:
    plan = _plan()
    records = task_events(plan)
    tasks = plan["tasks"]
    assert isinstance(tasks, list) and len(records) == len(tasks) == 12
    for (key, value), task in zip(records, tasks, strict=True):
        ev = decode_event(value)
        assert ev.type == EventType.TASK_PLANNED and ev.source == PLANS_SOURCE
        assert key == ev.subject.encode() == task["uscc"].encode()
        assert ev.id == task["task_id"]
        assert isinstance(ev.data, TaskPlanned)
        assert ev.data.plan_id == plan["plan_id"] and ev.data.class_at_draw == "D"
        assert ev.data.inspectors == task["inspectors"] and ev.data.domain == "food"
        assert int(ev.time.timestamp()) == 1_780_000_000
    assert task_events(_plan()) == records  # publishing again: the very same records


def test_the_recorded_summary_leaves_out_the_snapshot() -> None:
    s = summary(_plan(), published=True, drawn_at="2026-12-07T06:00:00Z")
    assert s["tasks"] == 12 and s["published"] is True
    assert "snapshot" not in s and "pool" not in s
