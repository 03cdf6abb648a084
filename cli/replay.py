"""``riskmon replay``: rebuild all state from the event log into a fresh Redis key prefix."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from cli import runfile
from cli.arguments import Subparsers
from cli.errors import CommandError
from scoring.model import load_model
from streams.connections import aiokafka_config, redis_options
from streams.settings import Settings

if TYPE_CHECKING:
    from jobs.outputs import Outputs
    from jobs.replay import ReplayStats

__all__ = ["add", "render", "run"]

#: ``--outputs`` value meaning standard output (jobs.outputs.STDOUT, without importing it).
STDOUT = "-"


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "replay",
        help="rebuild all state from the event log into a new prefix",
        description="Rebuild every enterprise's state from the event log (the events topic from"
        " its beginning, or a JSON-lines file) into a fresh Redis key prefix, through the"
        " worker's own scoring. Nothing is sent: no alerts, no tasks; dead letters are counted."
        " With --outputs, the ids of the alerts, tasks and dead letters the log warrants are"
        " written too: the same a live worker sent for the same log."
        " Redis and Kafka: RISKMON_REDIS_URL and RISKMON_KAFKA_BOOTSTRAP, else those of a"
        " running riskmon run.",
    )
    p.add_argument("--prefix", required=True, help="a fresh Redis key prefix")
    p.add_argument("--file", type=Path, help="a JSON-lines file instead of the topic")
    p.add_argument("--batch", type=int, default=2_000, help="apply calls per round trip")
    p.add_argument(
        "--outputs",
        metavar="FILE",
        help="also write the alert, task and dead-letter ids the log warrants to FILE, one JSON"
        ' object a line, sorted: {"kind": "alert"|"task", "id", "type"} and {"kind":'
        ' "dead_letter", "partition", "offset", "reason"} (-: standard output, and the summary'
        " goes to standard error)",
    )
    p.set_defaults(handler=run)


def render(
    stats: ReplayStats, source: str, prefix: str, outputs: tuple[Outputs, str] | None = None
) -> str:
    """What a replay did, as lines for a terminal; ``outputs``: the ids collected and where
    they were written."""
    dead = ", ".join(f"{k} {v}" for k, v in sorted(stats.dead_letters.items())) or "none"
    lines = [
        f"replayed {stats.records} record(s) from {source} into prefix {prefix!r}",
        f"  applied {stats.applied}, duplicates {stats.duplicates}",
        f"  dead letters (counted, not re-sent): {dead}",
        "  classes: " + "  ".join(f"{k} {v}" for k, v in stats.classes.items()),
        f"  {stats.seconds:.1f}s, {stats.events_per_second:,.0f} events/s",
    ]
    if outputs is not None:
        out, target = outputs
        kinds = Counter(kind for kind, _, _ in out.messages)
        where = "standard output" if target == STDOUT else target
        lines.append(
            f"  output ids written to {where}: {kinds['alert']} alert(s), {kinds['task']}"
            f" task(s), {len(out.dead_letters)} dead letter(s)"
        )
    return "\n".join(lines)


def run(args: argparse.Namespace, s: Settings) -> int:
    from aiokafka.errors import KafkaError
    from redis.exceptions import RedisError

    from alerts.warnings import load as load_warnings
    from jobs.outputs import Outputs
    from jobs.replay import replay_log
    from scoring.exceptions import StoreError
    from supervision.config import load as load_supervision
    from supervision.exceptions import ConfigError as SupervisionConfigError

    redis_url = runfile.redis_url(s)
    bootstrap = None if args.file is not None else runfile.bootstrap(s)
    model = load_model(s.model_path)
    try:
        supervision = load_supervision(s.supervision_path)
    except SupervisionConfigError as exc:
        raise CommandError(str(exc)) from None
    warnings = load_warnings(s.warnings_path)  # a bad file: WarningsError, naming the field
    target: str | None = args.outputs
    outputs = None if target is None else Outputs(model.version)
    if target is not None and target != STDOUT:
        _check_writable(Path(target))
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
                ledger_window=s.ledger_window,
                outputs=outputs,
                supervision=supervision,
                warnings=warnings,
                kafka_config=aiokafka_config(s),
                redis_options=redis_options(s),
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
    if outputs is None or target is None:
        print(render(stats, source, args.prefix), flush=True)
        return 0
    try:
        outputs.write(target)
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}", status=1) from None
    summary = render(stats, source, args.prefix, (outputs, target))
    print(summary, file=sys.stderr if target == STDOUT else sys.stdout, flush=True)
    return 0


def _check_writable(path: Path) -> None:
    """Fail before a long replay, not after it, if ``path`` cannot be written (an existing
    file is left as it is until then)."""
    try:
        with path.open("ab"):
            pass
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None
