"""``riskmon reclassify``: re-evaluate every stored enterprise after a change of thresholds, caps
or horizon, and send a class-change alert for each whose class moved."""

from __future__ import annotations

import argparse
import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from cli import runfile
from cli.arguments import Subparsers
from cli.audited import record
from cli.errors import CommandError
from scoring.model import load_model
from streams.connections import aiokafka_config, redis_options
from streams.settings import PREFIX_PATTERN, Settings

if TYPE_CHECKING:
    from jobs.reclassify import ReclassifyStats

__all__ = ["add", "render", "run"]

_PREFIX = re.compile(PREFIX_PATTERN)


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "reclassify",
        help="re-evaluate every enterprise after a change of thresholds, caps or horizon",
        description="Re-evaluate every stored enterprise, each at its own as-of time, under the"
        " model's thresholds, dimension caps and horizon; send a class-change alert for each"
        " enterprise whose class changed. A model whose event points changed needs riskmon"
        " replay into a new prefix instead. Roll the workers to the new model first, then run"
        " this: workers stamp what they touch with the new version, so it skips those; it can"
        " be stopped and run again at any time (done enterprises are skipped).",
    )
    p.add_argument("--model", type=Path, help="the new scoring model (default: RISKMON_MODEL_PATH)")
    p.add_argument("--prefix", help="Redis key prefix (default: RISKMON_REDIS_PREFIX)")
    p.add_argument(
        "--force",
        action="store_true",
        help="re-evaluate enterprises already at the model's version too",
    )
    p.add_argument(
        "--no-alerts",
        action="store_true",
        help="send no alerts (default: alerts to the alerts topic when Kafka is configured)",
    )
    p.set_defaults(handler=run)


def render(stats: ReclassifyStats, prefix: str, version: str, alerts: str) -> str:
    """What a run did, as lines for a terminal; ``alerts`` says where its alerts went."""
    skipped = stats.scanned - stats.reevaluated
    pairs = sorted(stats.transitions.items())
    transitions = ", ".join(f"{old}->{new} {n}" for (old, new), n in pairs) or "none"
    return "\n".join(
        [
            f"reclassified prefix {prefix!r} to model {version}",
            f"  enterprises {stats.scanned}: re-evaluated {stats.reevaluated},"
            f" already at {version} {skipped}; class changed {stats.changed}",
            f"  transitions: {transitions}",
            "  classes: " + "  ".join(f"{k} {v}" for k, v in stats.classes.items()),
            f"  alerts: {alerts}",
            f"  {stats.seconds:.1f}s, {stats.enterprises_per_second:,.0f} enterprises/s",
        ]
    )


def run(args: argparse.Namespace, s: Settings) -> int:
    """Exit status 2: not configured; 1: stopped by a Redis or Kafka error (a re-run picks up
    where it stopped)."""
    from aiokafka.errors import KafkaError
    from redis.exceptions import RedisError

    from jobs.reclassify import KafkaAlerts, ReclassifyStats, reclassify_prefix
    from scoring.exceptions import StoreError

    redis_url = runfile.redis_url(s)
    prefix: str = args.prefix or s.redis_prefix
    if not _PREFIX.match(prefix):
        raise CommandError(f"not a key prefix: {prefix!r}")
    model = load_model(args.model or s.model_path)
    alerts = not args.no_alerts
    bootstrap = runfile.served(s, "kafka") if s.kafka_bootstrap is None else s.kafka_bootstrap
    if not alerts:
        shown = "off (--no-alerts)"
    elif not bootstrap:
        shown = "off (no Kafka: RISKMON_KAFKA_BOOTSTRAP unset and no `riskmon run`)"
    else:
        shown = f"to {s.alerts_topic} at {bootstrap}"
    stats = ReclassifyStats()
    details = {"prefix": prefix, "force": bool(args.force), "alerts": bool(alerts and bootstrap)}
    record(s, redis_url, "model.activate", model.version, details)

    async def work() -> None:
        if alerts and bootstrap:
            async with KafkaAlerts(bootstrap, s.alerts_topic, aiokafka_config(s)) as sink:
                await reclassify_prefix(
                    redis_url,
                    prefix,
                    model,
                    s.partitions,
                    force=args.force,
                    alerts=sink,
                    stats=stats,
                    redis_options=redis_options(s),
                )
        else:
            await reclassify_prefix(
                redis_url,
                prefix,
                model,
                s.partitions,
                force=args.force,
                stats=stats,
                redis_options=redis_options(s),
            )

    try:
        asyncio.run(work())
    except ValueError as exc:  # a malformed RISKMON_REDIS_URL
        raise CommandError(str(exc)) from None
    except (RedisError, StoreError, KafkaError) as exc:
        raise CommandError(
            f"stopped after {stats.scanned} enterprise(s) ({stats.changed} changed),"
            f" {type(exc).__name__}: {exc}\n"
            "  nothing is half-applied: run it again to finish (done enterprises are skipped)",
            status=1,
        ) from None
    if alerts and bootstrap:
        shown += f": {stats.alerts} sent"
        if stats.resent:
            shown += f", {stats.resent} of them left unsent by an earlier run"
    elif stats.unsent:
        shown += (
            f"; {stats.unsent} alert(s) of an earlier run that was cut short are still unsent:"
            " run it with Kafka to send them"
        )
    print(render(stats, prefix, model.version, shown), flush=True)
    if stats.scanned and not stats.reevaluated and not args.force:
        print(
            f"  every enterprise is already at {model.version}: nothing to do"
            " (--force re-evaluates anyway)",
            flush=True,
        )
    return 0
