"""``riskmon send``: validate JSON-lines CloudEvents and publish them to the events topic."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli import runfile
from cli.arguments import Subparsers
from cli.errors import CommandError, unlogged
from schemas.codec import decode_event, loads
from schemas.exceptions import InvalidEventError
from streams.connections import kafka_python_config
from streams.settings import Settings

#: How long a command waits for the broker to answer at all.
_CONNECT_MS = 10_000

__all__ = ["add", "read_source", "run"]


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "send",
        help="validate and publish JSON-lines CloudEvents",
        description="Validate every line of a JSON-lines file of CloudEvents and publish them to"
        " the events topic, keyed by their subject. Nothing is sent if a line is invalid, unless"
        " --allow-invalid. Kafka: RISKMON_KAFKA_BOOTSTRAP, else the broker of a running"
        " riskmon run.",
    )
    p.add_argument("file", help="a .jsonl file, or - for standard input")
    p.add_argument(
        "--allow-invalid",
        action="store_true",
        help="send invalid lines too (they will be dead-lettered)",
    )
    p.set_defaults(handler=run)


def read_source(source: str) -> bytes:
    """The bytes of ``source`` (a path, or ``-`` for standard input). Raises
    :class:`CommandError` naming the file and why it cannot be read."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {source}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace, s: Settings) -> int:
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    text = read_source(args.file)
    records: list[tuple[bytes | None, bytes]] = []
    bad = 0
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            ev = decode_event(line, s.max_event_bytes)
            records.append((ev.subject.encode(), line))
        except InvalidEventError as exc:
            bad += 1
            print(f"line {n}: {exc}", file=sys.stderr)
            if args.allow_invalid:
                records.append((_subject_guess(line), line))
    if bad and not args.allow_invalid:
        raise CommandError(
            f"{bad} invalid line(s); nothing sent (--allow-invalid sends them to be dead-lettered)"
        )
    bootstrap = runfile.bootstrap(s)
    try:
        with unlogged("kafka"):
            producer = KafkaProducer(
                bootstrap_servers=bootstrap.split(","),
                **kafka_python_config(s),
                acks="all",
                linger_ms=5,
                bootstrap_timeout_ms=_CONNECT_MS,
            )
    except KafkaError as exc:
        raise CommandError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    try:
        for key, value in records:
            producer.send(s.events_topic, key=key, value=value)
        producer.flush(timeout=60)
    except KafkaError as exc:
        raise CommandError(f"not all sent to {s.events_topic} at {bootstrap}: {exc}", 1) from None
    finally:
        producer.close(timeout=10)
    print(f"sent {len(records)} event(s) to {s.events_topic} at {bootstrap}")
    return 0


def _subject_guess(line: bytes) -> bytes | None:
    try:
        subject = loads(line).get("subject")
    except Exception:
        return None
    return subject.encode() if isinstance(subject, str) else None
