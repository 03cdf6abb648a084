"""``riskmon tasks list``'s table, from the API's task JSON."""

from __future__ import annotations

from typing import Any

from cli.main import parser
from cli.tasks import render


def _task(task_id: str, **over: Any) -> dict[str, Any]:
    doc = {
        "task_id": task_id,
        "state": "created",
        "trigger": "class_d",
        "mode": "on_site",
        "uscc": "91610112MA6TGQ1K2M",
        "plan_id": None,
        "risk_class": "D",
        "inspectors": [],
        "result": None,
        "overdue": False,
        "due": "2026-04-04T00:00:00+00:00",
        "created_at": "2026-03-05T00:00:00+00:00",
        "history": [],
    }
    return {**doc, **over}


def test_the_table_has_a_column_per_field_and_says_how_many_it_shows() -> None:
    tasks = [
        _task("t-1"),
        _task(
            "t-22",
            state="completed",
            trigger="random_plan",
            plan_id="SJ-1",
            inspectors=["i-01", "i-02"],
            result="problems_found",
            overdue=True,
        ),
    ]
    lines = render(tasks, total=5).splitlines()
    assert lines[0].split() == [
        "TASK",
        "STATE",
        "TRIGGER",
        "USCC",
        "CLASS",
        "DUE",
        "OVERDUE",
        "INSPECTORS",
        "RESULT",
        "PLAN",
    ]
    assert lines[1].split() == [
        "t-1", "created", "class_d", "91610112MA6TGQ1K2M", "D", "2026-04-04", "no", "-", "-", "-"
    ]  # fmt: skip
    assert lines[2].split()[6:] == ["yes", "i-01,i-02", "problems_found", "SJ-1"]
    # the columns line up under their headers
    assert lines[1].index("created") == lines[2].index("completed") == lines[0].index("STATE")
    assert lines[2].index("yes") == lines[0].index("OVERDUE")
    assert lines[-1] == "2 of 5 task(s)"
    assert render([], total=0).splitlines()[-1] == "0 task(s)"


def test_the_filters_are_options_of_tasks_list() -> None:
    args = parser().parse_args(
        [
            "tasks",
            "list",
            "--state",
            "assigned",
            "--trigger",
            "random_plan",
            "--plan-id",
            "SJ-1",
            "--division",
            "6101",
            "--uscc",
            "91610112MA6TGQ1K2M",
            "--limit",
            "0",
        ]
    )
    assert (args.state, args.trigger, args.plan_id, args.division, args.uscc, args.limit) == (
        "assigned",
        "random_plan",
        "SJ-1",
        "6101",
        "91610112MA6TGQ1K2M",
        0,
    )
