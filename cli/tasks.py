"""``riskmon tasks list``: inspection tasks and their states; ``riskmon tasks discovery``: the
discovery rate per class. Both from a running worker's API."""

from __future__ import annotations

import argparse
import json
import urllib.parse
from collections.abc import Sequence
from typing import Any, get_args

from cli.api_client import get_json
from cli.arguments import Subparsers
from cli.errors import CommandError
from schemas.alerts import TaskTrigger
from streams.settings import Settings
from supervision.discovery import ClassDiscovery, render_table
from supervision.records import TaskState

__all__ = ["add", "render", "run", "run_discovery"]

#: Tasks a page of the API holds (its maximum): fewer round trips for a long list.
_PAGE = 500


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "tasks",
        help="list inspection tasks",
        description="Inspection tasks from the API of a running riskmon run (the one on"
        " RISKMON_WEB_PORT, else the only one running).",
    )
    actions = p.add_subparsers(dest="tasks_command", required=True)
    ls = actions.add_parser(
        "list",
        help="list tasks, oldest first, filtered",
        description="List tasks, oldest first; the filters combine (all must hold).",
    )
    ls.add_argument("--state", choices=get_args(TaskState), help="only tasks in this state")
    ls.add_argument("--trigger", choices=get_args(TaskTrigger), help="only tasks of this trigger")
    ls.add_argument("--plan-id", help="only the tasks of this spot-check plan")
    ls.add_argument(
        "--division",
        help="only enterprises registered in this GB/T 2260 division (a code or its prefix)",
    )
    ls.add_argument("--uscc", help="only this enterprise's tasks")
    ls.add_argument(
        "--limit", type=int, default=100, help="print at most this many (default 100; 0: all)"
    )
    ls.add_argument("--json", action="store_true", help="print the tasks as the API's JSON")
    ls.set_defaults(handler=run)
    disc = actions.add_parser(
        "discovery",
        help="print the discovery rate per class",
        description="Per class at draw, the random spot checks completed, how many found"
        " problems (problems_found or corrected), the rate and its Wilson 95 %% interval.",
    )
    disc.set_defaults(handler=run_discovery)


def _short_time(iso: str | None) -> str:
    return "-" if iso is None else iso[:10]


def render(tasks: Sequence[dict[str, Any]], total: int) -> str:
    """The tasks as a table for a terminal, with how many of ``total`` it shows."""
    header = (
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
    )
    rows = [header]
    for t in tasks:
        rows.append(
            (
                t["task_id"],
                t["state"],
                t["trigger"],
                t["uscc"],
                t["risk_class"] or "-",
                _short_time(t["due"]),
                "yes" if t["overdue"] else "no",
                ",".join(t["inspectors"]) or "-",
                t["result"] or "-",
                t["plan_id"] or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    shown = f"{len(tasks)} of {total} task(s)" if len(tasks) < total else f"{total} task(s)"
    return "\n".join([*lines, shown])


def run(args: argparse.Namespace, s: Settings) -> int:
    if args.limit < 0:
        raise CommandError("--limit must be 0 (all) or more")
    query = {
        "state": args.state,
        "trigger": args.trigger,
        "plan_id": args.plan_id,
        "division": args.division,
        "uscc": args.uscc,
    }
    params = {k: v for k, v in query.items() if v}
    tasks: list[dict[str, Any]] = []
    cursor: str | None = None
    total = 0
    while True:
        want = _PAGE if args.limit == 0 else min(_PAGE, args.limit - len(tasks))
        page_query = {**params, "limit": str(want), **({"cursor": cursor} if cursor else {})}
        doc = get_json(s, f"/tasks?{urllib.parse.urlencode(page_query)}")
        tasks.extend(doc["tasks"])
        total, cursor = doc["total"], doc["next_cursor"]
        if cursor is None or (args.limit and len(tasks) >= args.limit):
            break
    if args.json:
        print(json.dumps(tasks, ensure_ascii=False, indent=2))
    else:
        print(render(tasks, total))
    return 0


def run_discovery(args: argparse.Namespace, s: Settings) -> int:
    doc = get_json(s, "/stats/discovery")
    rows = [ClassDiscovery(klass, **counts) for klass, counts in doc["classes"].items()]
    print(render_table(rows))
    return 0
