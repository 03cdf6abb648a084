"""``riskmon bench``: the benchmarks (the only part of riskmon that imports benchmarks/)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from cli.arguments import Subparsers

__all__ = ["add", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "bench",
        help="measure throughput, latency, replay, bytes and reclassify time (riskmon bench -h)",
        add_help=False,
    )
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    # Its arguments are the benchmark's own: main() hands them over unparsed, without settings.
    p.set_defaults(passthrough=run)


def run(argv: Sequence[str]) -> int:
    from benchmarks.bench import main

    return main(list(argv))
