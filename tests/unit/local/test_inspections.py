"""The demo's inspection office carries a plan out: one inspection.completed per task, naming
the task and the plan, its result drawn from the firm's hidden propensity; and the district's
inspector pool is one ``riskmon plan`` accepts."""

from __future__ import annotations

import datetime as dt
import random

from district.staff import inspector_pool
from local.inspections import inspections
from schemas.codec import decode_event
from schemas.events import EventType
from supervision.inspectors import parse_pool, qualified

NOW = dt.datetime(2026, 12, 7, 8, 30, 15, 123_456, tzinfo=dt.UTC)
GOOD, BAD = "91610112MA6TGQ1K2M", "91110108551385082Q"


def plan(n: int) -> dict[str, object]:
    tasks = [
        {"task_id": f"t-{i}", "uscc": GOOD if i % 2 else BAD, "class": "B", "inspectors": []}
        for i in range(n)
    ]
    return {"plan_id": "P-2026-1", "tasks": tasks}


def test_each_task_gets_its_inspection_naming_the_task_and_the_plan() -> None:
    firms = {GOOD: (0.0, "610112"), BAD: (1.0, "610113")}
    records = list(inspections(plan(4), firms, random.Random(1), lambda: NOW))
    events = [decode_event(value) for _, value in records]
    assert [key for key, _ in records] == [BAD.encode(), GOOD.encode()] * 2
    assert [e.data.task_id for e in events] == ["t-0", "t-1", "t-2", "t-3"]
    assert {e.data.plan_id for e in events} == {"P-2026-1"}
    assert {e.type for e in events} == {EventType.INSPECTION_COMPLETED}
    assert len({(e.source, e.id) for e in events}) == 4
    assert events[0].source == "/sjjc/610113" and events[1].source == "/sjjc/610112"
    assert events[0].time == NOW.replace(microsecond=0)


def test_the_result_follows_the_propensity() -> None:
    firms = {GOOD: (0.02, "610112"), BAD: (0.8, "610112")}
    found = {GOOD: 0, BAD: 0}
    for _, value in inspections(plan(2_000), firms, random.Random(7), lambda: NOW):
        ev = decode_event(value)
        found[ev.subject] += ev.data.result in ("problems_found", "corrected")
    assert found[GOOD] / 1_000 < 0.15 < 0.6 < found[BAD] / 1_000


def test_the_district_s_inspectors_make_a_pool_for_every_key_domain() -> None:
    pool = parse_pool(inspector_pool(), "the district's inspectors")
    assert len(pool) == 30 and len({i.id for i in pool}) == 30
    for domain in ("food", "drug", "special_equipment", "quality", ""):
        assert len(qualified(pool, domain)) >= 4, domain
