"""``riskmon alerts``: what riskmon published (alerts, tasks, observation periods, reminders),
as readable lines."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import orjson

from cli import runfile
from cli.arguments import Subparsers
from cli.errors import CommandError, unlogged
from schemas.alerts import (
    ALERT_CLASS_CHANGED,
    OBSERVATION_ENDED,
    OBSERVATION_STARTED,
    REMINDER_SENT,
    TASK_CREATED,
    TASK_OVERDUE,
)
from streams.connections import kafka_python_config
from streams.settings import Settings

#: How long a command waits for the broker to answer at all.
_CONNECT_MS = 10_000

__all__ = ["TYPES", "add", "line", "run", "topics_for"]

#: The CloudEvents types riskmon publishes, each with the setting naming its topic.
TYPES: Mapping[str, str] = {
    ALERT_CLASS_CHANGED: "alerts_topic",
    TASK_CREATED: "tasks_topic",
    TASK_OVERDUE: "alerts_topic",
    OBSERVATION_STARTED: "alerts_topic",
    OBSERVATION_ENDED: "alerts_topic",
    REMINDER_SENT: "reminders_topic",
}
# Reason keys whose reference is a decision number worth showing (others are event hashes).
_NUMBERED = ("pen", "abn", "svl")
_POLL_MS = 300
# Polls in a row that bring nothing before a reading without --follow ends: the embedded broker
# can report a topic's end short of its last records.
_QUIET_POLLS = 2


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "alerts",
        help="print the alerts, tasks and reminders riskmon published",
        description="Print what riskmon published on its topics, one line each: class-change"
        " alerts (time, USCC, old->new class, the event that caused it and the top reason),"
        " tasks with their trigger, overdue tasks, observation periods started and ended, and"
        " risk reminders. Without --follow it prints all there are and exits. Kafka:"
        " RISKMON_KAFKA_BOOTSTRAP, else the broker of a running riskmon run.",
    )
    p.add_argument(
        "--follow",
        action="store_true",
        help="keep printing new ones as they come, until Ctrl-C",
    )
    p.add_argument(
        "--from-beginning",
        action="store_true",
        help="with --follow, print those already published first (without --follow, all are)",
    )
    p.add_argument(
        "--types",
        nargs="+",
        metavar="TYPE",
        choices=list(TYPES),
        help=f"only these CloudEvents types: {', '.join(TYPES)} (default: all)",
    )
    p.set_defaults(handler=run)


def _when(doc: Mapping[str, Any]) -> str:
    text = str(doc.get("time", ""))
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return when.isoformat(sep=" ", timespec="seconds").replace("+00:00", "Z")


def _reason(reasons: Sequence[Mapping[str, Any]]) -> str:
    if not reasons:
        return "none"
    top = reasons[0]
    prefix, _, ref = str(top.get("key", "")).partition(":")
    shown = f" {ref}" if prefix in _NUMBERED and ref else ""
    floor = ", sets a minimum class" if top.get("floor") else ""
    return f"{top.get('event_type', '?')}{shown} ({float(top.get('points', 0)):.1f} pts{floor})"


def line(doc: Mapping[str, Any]) -> str:
    """One published output (a CloudEvent, as parsed JSON) as a line for a terminal.

    ``2026-04-01 10:00:00  91610112MA6TGQ1K2M  B→C  cause abnormal_list.added  top reason ...``
    for an alert; ``... task on_site, trigger class_d (class D)  cause ...`` for a task; the
    task, period or reminder for the others. A record of a type it does not know is shown by
    its type, not dropped.
    """
    kind = doc.get("type")
    data = doc.get("data")
    if not isinstance(data, Mapping):
        return f"{_when(doc)}  {doc.get('subject', '?')}  {kind}: no data"
    subject = doc.get("subject") or data.get("uscc", "?")
    cause = data.get("cause")
    cause_type = cause.get("type", "?") if isinstance(cause, Mapping) else "?"
    if kind == ALERT_CLASS_CHANGED:
        old = data.get("old_class") or "new"
        reasons = data.get("reasons")
        top = _reason(reasons if isinstance(reasons, list) else [])
        return (
            f"{_when(doc)}  {subject}  {old}→{data.get('new_class', '?')}"
            f"  cause {cause_type}  top reason {top}"
        )
    if kind == TASK_CREATED:
        return (
            f"{_when(doc)}  {subject}  task {data.get('mode', '?')}, trigger"
            f" {data.get('trigger', '?')} (class {data.get('risk_class', '?')})"
            f"  cause {cause_type}"
        )
    head = f"{_when(doc)}  {subject}"
    if kind == TASK_OVERDUE:
        return (
            f"{head}  task overdue since {data.get('due', '?')}, trigger"
            f" {data.get('trigger', '?')}, still {data.get('state', '?')}"
            f"  task {data.get('task_id', '?')}"
        )
    if kind == OBSERVATION_STARTED:
        return f"{head}  observation period until {data.get('until', '?')}  cause {cause_type}"
    if kind == OBSERVATION_ENDED:
        return f"{head}  observation period ended: {data.get('reason', '?')}  cause {cause_type}"
    if kind == REMINDER_SENT:
        return f"{head}  reminder {data.get('kind', '?')} ({data.get('ref', '?')})"
    return f"{head}  {kind}"


def topics_for(s: Settings, types: Iterable[str] | None) -> list[str]:
    """The topics that carry ``types`` (all of riskmon's outputs when None)."""
    wanted = list(TYPES) if not types else list(dict.fromkeys(types))
    return list(dict.fromkeys(str(getattr(s, TYPES[t])) for t in wanted))


def _order(doc: Mapping[str, Any]) -> float:
    """A published time as epoch seconds, for sorting (0: none or malformed)."""
    try:
        return dt.datetime.fromisoformat(str(doc.get("time"))).timestamp()
    except ValueError:
        return 0.0


def _decoded(value: bytes | None) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    return doc if isinstance(doc, dict) else None


def run(args: argparse.Namespace, s: Settings) -> int:
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError

    bootstrap = runfile.bootstrap(s)
    types = set(args.types or TYPES)
    topics = topics_for(s, args.types)
    try:
        with unlogged("kafka"):
            consumer = KafkaConsumer(
                bootstrap_servers=bootstrap.split(","),
                **kafka_python_config(s),
                enable_auto_commit=False,
                bootstrap_timeout_ms=_CONNECT_MS,
            )
    except KafkaError as exc:
        raise CommandError(f"cannot reach Kafka at {bootstrap}: {exc}") from None
    try:
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        if not tps:
            raise CommandError(
                f"no topic {' or '.join(topics)} at {bootstrap}: has a worker run there?"
            )
        consumer.assign(tps)
        if args.follow and not args.from_beginning:
            consumer.seek_to_end(*tps)
        else:
            consumer.seek_to_beginning(*tps)

        def show(records: Iterable[Any]) -> None:
            docs = [d for r in records if (d := _decoded(r.value)) is not None]
            for doc in sorted(docs, key=_order):
                if doc.get("type") in types:
                    print(line(doc), flush=True)

        if args.follow:
            try:
                while True:
                    polled = consumer.poll(timeout_ms=_POLL_MS)
                    show(r for recs in polled.values() for r in recs)
            except KeyboardInterrupt:
                return 0
        end = consumer.end_offsets(tps)
        show(_to_end(consumer.poll, lambda: any(consumer.position(tp) < end[tp] for tp in tps)))
    except KafkaError as exc:
        raise CommandError(f"reading from {bootstrap}: {exc}", status=1) from None
    finally:
        consumer.close()
    return 0


def _to_end(poll: Callable[..., Any], behind: Callable[[], bool]) -> list[Any]:
    """Every record up to the topics' end: polls until none is ``behind`` and the last polls
    brought nothing."""
    out: list[Any] = []
    quiet = 0
    deadline = time.monotonic() + 60
    while (quiet < _QUIET_POLLS or behind()) and time.monotonic() < deadline:
        polled = poll(timeout_ms=_POLL_MS)
        quiet = 0 if polled else quiet + 1
        out.extend(r for recs in polled.values() for r in recs)
    if time.monotonic() >= deadline:
        print("riskmon alerts: stopped reading after 60 s; more may follow", file=sys.stderr)
    return out
