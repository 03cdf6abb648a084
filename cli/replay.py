"""``riskmon replay``: rebuild all state from the event log into a fresh Redis key prefix."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from cli import runfile
from cli.arguments import Subparsers
from cli.errors import CommandError
from scoring.model import load_model
from streams.settings import Settings

if TYPE_CHECKING:
    from jobs.replay import ReplayStats

__all__ = ["add", "render", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "replay",
        help="rebuild all state from the event log into a new prefix",
        description="Rebuild every enterprise's state from the event log (the events topic from"
        " its beginning, or a JSON-lines file) into a fresh Redis key prefix, through the"
        " worker's own scoring. Nothing is sent: no alerts, no tasks; dead letters are counted."
        " Redis and Kafka: RISKMON_REDIS_URL and RISKMON_KAFKA_BOOTSTRAP, else those of a"
        " running riskmon run.",
    )
    p.add_argument("--prefix", required=True, help="a fresh Redis key prefix")
    p.add_argument("--file", type=Path, help="a JSON-lines file instead of the topic")
    p.add_argument("--batch", type=int, default=2_000, help="apply calls per round trip")
    p.set_defaults(handler=run)


def render(stats: ReplayStats, source: str, prefix: str) -> str:
    """What a replay did, as lines for a terminal."""
    dead = ", ".join(f"{k} {v}" for k, v in sorted(stats.dead_letters.items())) or "none"
    return "\n".join(
        [
            f"replayed {stats.records} record(s) from {source} into prefix {prefix!r}",
            f"  applied {stats.applied}, duplicates {stats.duplicates}",
            f"  dead letters (counted, not re-sent): {dead}",
            "  classes: " + "  ".join(f"{k} {v}" for k, v in stats.classes.items()),
            f"  {stats.seconds:.1f}s, {stats.events_per_second:,.0f} events/s",
        ]
    )


def run(args: argparse.Namespace, s: Settings) -> int:
    from aiokafka.errors import KafkaError
    from redis.exceptions import RedisError

    from jobs.replay import replay_log
    from scoring.exceptions import StoreError
    from streams.ticker import TICKER_SOURCE

    redis_url = runfile.redis_url(s)
    bootstrap = None if args.file is not None else runfile.bootstrap(s)
    model = load_model(s.model_path)
    try:
        source, stats = asyncio.run(
            replay_log(
                file=args.file,
                topic=s.events_topic,
                kafka_bootstrap=bootstrap,
                redis_url=redis_url,
                prefix=args.prefix,
                model=model,
                partitions=s.partitions,
                max_event_bytes=s.max_event_bytes,
                batch=args.batch,
                ticker_source=TICKER_SOURCE,
                ledger_window=s.ledger_window,
            )
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        if args.file is not None and exc.filename is not None:
            raise CommandError(f"cannot read {args.file}: {exc.strerror or exc}") from None
        raise CommandError(f"stopped, {type(exc).__name__}: {exc}", status=1) from None
    except (RedisError, StoreError, KafkaError) as exc:
        # Nothing half-done to undo: the prefix was fresh; replay again into a new one.
        raise CommandError(f"stopped, {type(exc).__name__}: {exc}", status=1) from None
    print(render(stats, source, args.prefix), flush=True)
    return 0
