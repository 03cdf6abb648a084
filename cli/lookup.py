"""``riskmon lookup``: an enterprise's class and why, from a running worker's API."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cli.api_client import call
from cli.arguments import Subparsers
from cli.errors import CommandError
from schemas.uscc import problem as uscc_problem
from streams.settings import Settings

__all__ = ["add", "render", "run"]

# A decision number says more than an event hash; complaints show their category.
_PER_EVENT = ("complaint.received", "inspection.completed")


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "lookup",
        help="print an enterprise's class and why",
        description="Print an enterprise's class, score and the events behind them, from the API"
        " of a running riskmon run (the one on RISKMON_WEB_PORT, else the only one running).",
    )
    p.add_argument("uscc", help="the unified social credit code, 18 characters, upper case")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(handler=run)


def render(uscc: str, doc: dict[str, Any]) -> str:
    """The API's answer for ``uscc`` as lines for a terminal."""
    lines = [
        f"{uscc}  class {doc['class']}  score {doc['score']:.2f}"
        f"  (model {doc['model_version']}, as of {doc['asof']})"
    ]
    if doc.get("next_time_driven_change"):
        lines.append(f"  class changes by time alone at {doc['next_time_driven_change']}")
    lines.append("  why:")
    for c in doc["contributions"]:
        state = "cancelled" if c["cancelled"] else f"{c['points_now']:7.2f} pts"
        floor = f"  min class {c['min_class']}" if c["min_class"] and not c["cancelled"] else ""
        shown = c["detail"] if c["event_type"] in _PER_EVENT else c["reference"]
        ref = f" {shown}" if shown else ""
        lines.append(f"    {state:>11}  {c['event_type']}{ref} ({c['recorded_at'][:10]}){floor}")
    return "\n".join(lines)


def run(args: argparse.Namespace, s: Settings) -> int:
    uscc: str = args.uscc
    problem = uscc_problem(uscc)
    if problem is not None:
        raise CommandError(problem)
    status, doc = call(s, "GET", f"/enterprises/{uscc}", timeout=10)
    if status != 200:
        reason = doc.get("detail") if status == 403 else doc.get("error")
        print(f"{uscc}: {reason or f'HTTP {status}'}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        print(render(uscc, doc))
    return 0
