"""``riskmon schemas``: write the JSON Schemas of the events, or check they are current."""

from __future__ import annotations

import argparse
import sys

from cli.arguments import Subparsers
from streams.settings import Settings

__all__ = ["add", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "schemas",
        help="write the JSON Schemas of all events",
        description="Write the JSON Schema of every event and output type into"
        " schemas/jsonschema/, from the models they are validated with.",
    )
    p.add_argument("--check", action="store_true", help="fail if the files are stale")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, s: Settings) -> int:
    from schemas.jsonschemas import SCHEMA_DIR, stale, write

    if args.check:
        behind = stale()
        for name in behind:
            print(f"stale: {SCHEMA_DIR / name}", file=sys.stderr)
        return 1 if behind else 0
    for path in write():
        print(path)
    return 0
