"""A plan document: the keys other systems rely on, its id from its inputs, and verify."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import pytest

from schemas.classes import ClassName
from schemas.uscc import make_uscc
from supervision.eligibility import Entry
from supervision.inspectors import parse_pool
from supervision.plan import make_plan, verify
from supervision.preset import load_preset
from supervision.scope import Scope, parse_scope

POOL = parse_pool(
    "id,name,department,qualifications\n"
    + "".join(f"I{k},inspector {k},food,food;general\n" for k in range(10))
)


MIX: tuple[ClassName, ...] = ("A", "B", "B", "C", "D")


def plan(seed: int = 42, name: str = "Q1", scope: Scope | None = None) -> dict[str, Any]:
    rng = random.Random(9)
    snap = [
        Entry(make_uscc(rng), rng.choice(MIX), ("I1",) if i % 7 == 0 else ()) for i in range(400)
    ]
    doc = make_plan(
        name=name,
        preset=load_preset("yancheng-2022"),
        scope=scope or Scope(),
        seed=seed,
        per_task=2,
        model_version="default-2026.1",
        asof=1_780_000_000,
        snapshot=snap,
        pool=POOL,
        excluded={"observation": 3},
    )
    again: dict[str, Any] = json.loads(json.dumps(doc))  # as written to and read from a file
    return again


def test_a_plan_has_the_documented_keys() -> None:
    p = plan()
    for key in (
        "plan_id", "name", "preset", "seed", "model_version", "asof",
        "directory_digest", "inspector_digest", "strata", "tasks",
    ):  # fmt: skip
        assert key in p
    assert p["preset"] == "yancheng-2022" and p["seed"] == 42 and p["asof"].endswith("Z")
    assert set(p["strata"]) == {"A", "B", "C", "D"}
    for s in p["strata"].values():
        assert set(s) == {"population", "ratio", "drawn"}
    assert sum(s["drawn"] for s in p["strata"].values()) == len(p["tasks"]) > 0
    for t in p["tasks"]:
        assert set(t) == {"task_id", "uscc", "class", "inspectors"}
        assert len(t["inspectors"]) == 2
    assert p["excluded"]["observation"] == 3


def test_the_same_inputs_give_the_same_plan_and_id() -> None:
    assert plan() == plan()
    assert plan(seed=43)["plan_id"] != plan()["plan_id"]
    assert plan(name="Q2")["plan_id"] != plan()["plan_id"]
    # Task ids are derived from the plan id: distinct per task, equal across draws.
    ids = [t["task_id"] for t in plan()["tasks"]]
    assert len(set(ids)) == len(ids)


def test_verify_accepts_an_untouched_plan() -> None:
    assert verify(plan()) is None
    assert verify(plan(scope=parse_scope(["domain=food"]))) is None


def _edited(edit: Any) -> dict[str, Any]:
    p = copy.deepcopy(plan())
    edit(p)
    return p


@pytest.mark.parametrize(
    ("edit", "difference"),
    [
        (
            lambda p: p["snapshot"][0].update(
                {"class": "D" if p["snapshot"][0]["class"] != "D" else "A"}
            ),
            "directory_digest",
        ),
        (lambda p: p["snapshot"].pop(5), "directory_digest"),
        (lambda p: p["snapshot"][3].update({"avoid": ["I2"]}), "plan_id"),
        (lambda p: p["pool"][0].update({"qualifications": ["drug"]}), "inspector_digest"),
        (lambda p: p["tasks"][0].update({"uscc": "91610112MA6TGQ1K2M"}), "tasks[0].uscc"),
        (lambda p: p["tasks"][1]["inspectors"].reverse(), "tasks[1].inspectors[0]"),
        (lambda p: p["tasks"].pop(), "tasks: "),
        (lambda p: p["strata"]["B"].update({"drawn": 1000}), "strata.B.drawn"),
        (lambda p: p.update({"seed": 7}), "plan_id"),
        (lambda p: p.pop("pool"), "pool: missing"),
    ],
)
def test_verify_names_the_first_difference(edit: Any, difference: str) -> None:
    found = verify(_edited(edit))
    assert found is not None and found.startswith(difference), found


def test_a_changed_snapshot_with_its_digest_recomputed_is_still_caught() -> None:
    # Someone edits a class and fixes up the directory digest: the id no longer matches.
    from supervision.plan import directory_digest, entries_from_content

    p = plan()
    p["snapshot"][0]["class"] = "D" if p["snapshot"][0]["class"] != "D" else "A"
    p["directory_digest"] = directory_digest(entries_from_content(p["snapshot"]))
    found = verify(p)
    assert found is not None and found.startswith("plan_id"), found
