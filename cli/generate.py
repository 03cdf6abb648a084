"""``riskmon generate``: a seeded synthetic district's credit events, to a file, stdout or Kafka."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from cli import runfile
from cli.arguments import TIME_FORMAT, Subparsers, aware_time
from cli.errors import CommandError
from streams.connections import confluent_config, kafka_python_config
from streams.settings import Settings

if TYPE_CHECKING:
    from local.feed import Pacer

__all__ = ["add", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "generate",
        help="a seeded synthetic district's credit events",
        description="Generate a synthetic district of Xi'an: its enterprises and two years of"
        " their credit events, the same bytes for the same seed and --now. Each enterprise has"
        " a hidden propensity to violate, written only to --truth (for riskmon judge).",
    )
    p.add_argument("--enterprises", type=int, default=20_000, help="default 20000")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=float, help="events/s, paced (default: as fast as possible)")
    p.add_argument("--out", help="JSON-lines file, or - for standard output (the default)")
    p.add_argument("--kafka", action="store_true", help="publish to the events topic instead")
    p.add_argument(
        "--now",
        type=aware_time,
        help=f"end of the simulated period, {TIME_FORMAT} (default: today 00:00 UTC)",
    )
    p.add_argument("--truth", type=Path, help="also write each enterprise's propensity (CSV)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, s: Settings) -> int:
    from district.generator import DistrictSpec
    from local.feed import Pacer, PublishError, default_now, keyed_lines, write_lines, write_truth

    try:
        now = args.now or default_now()
        spec = DistrictSpec(now=now, enterprises=args.enterprises, seed=args.seed)
        pacer = Pacer(args.rate)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    bootstrap = runfile.bootstrap(s) if args.kafka else None
    try:
        if args.truth is not None:
            write_truth(spec, args.truth)
        records = keyed_lines(spec)
        if bootstrap is not None:
            count = _to_kafka(records, bootstrap, s, pacer)
        elif args.out in (None, "-"):
            count = write_lines(records, sys.stdout.buffer, pacer)
        else:
            with open(args.out, "wb") as f:
                count = write_lines(records, f, pacer)
    except BrokenPipeError:
        raise  # the reader went away: riskmon's main ends quietly
    except OSError as exc:
        where = exc.filename or args.out or "standard output"
        raise CommandError(f"cannot write {where}: {exc.strerror or exc}") from None
    except PublishError as exc:
        raise CommandError(str(exc), status=1) from None
    seconds = pacer.elapsed
    rate = count / seconds if seconds > 0 else float("inf")
    print(f"generated {count} event(s) in {seconds:.1f}s ({rate:,.0f} events/s)", file=sys.stderr)
    return 0


def _to_kafka(
    records: Iterable[tuple[bytes, bytes]], bootstrap: str, s: Settings, pacer: Pacer
) -> int:
    from local.feed import publish
    from streams.topics import TopicError, TopicSpec, ensure_topics

    try:
        specs = [TopicSpec(s.events_topic, s.partitions)]
        ensure_topics(bootstrap, specs, client_config=kafka_python_config(s))
    except TopicError as exc:
        raise CommandError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    count = publish(
        records, bootstrap=bootstrap, topic=s.events_topic, pacer=pacer, config=confluent_config(s)
    )
    print(f"sent {count} event(s) to {s.events_topic} at {bootstrap}", file=sys.stderr)
    return count
