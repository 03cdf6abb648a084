"""What every fault scenario does: publish a seeded log, wait for convergence, compare with the
reference fold (tests/support/oracle.py) of that log as published, and note a row for the
summary table printed after the fault suite.

"Exact" means, against the reference over the log the test published (not the events topic read
back: the reference must not take its input from the system under test): every enterprise's
state and class, each partition's event-time watermark, the set of alert ids (and among them
the set of early warnings' ids), the set of task ids, the set of reminder ids, every tracked
task (supervision's), and the dead letters: each poison record dead-lettered exactly once,
with its original key and bytes and the headers dlq_reason / dlq_topic / dlq_partition /
dlq_offset. And the events topic must hold exactly the published log: test workers run with
``RISKMON_IDLE_SECONDS=0`` (tests/support/harness.py), so their ticker publishes nothing, and
every time-driven class change is an outcome of a published event.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from kafka import KafkaProducer

from schemas.events import TICKER_SOURCE
from scoring.model import load_model
from scoring.store import Keys
from streams.handler import Record
from streams.redis_client import connect
from streams.topics import TopicSpec, ensure_topics
from tests.support.eventlog import LogRecord, as_published
from tests.support.harness import Worker, read_topic, wait_for, worker_env
from tests.support.observe import (
    event_watermarks,
    observed,
    redis_states,
    redis_tasks,
    reminders,
)
from tests.support.oracle import Expected, reference


@dataclass
class Row:
    """One line of the summary table printed after ``--faults=full``."""

    scenario: str
    events: int = 0
    faults: str = "none"
    duplicates: int = 0
    result: str = "FAIL"


#: Filled by the scenarios, printed by tests/faults/conftest.py's terminal summary.
ROWS: list[Row] = []


def publish(
    bootstrap: str,
    topic: str,
    records: Iterable[LogRecord],
    partitions: Mapping[int, int] | None = None,
) -> int:
    """Send ``records`` in order (murmur2 on the key unless ``partitions[i]`` names one).

    The producer is idempotent (kafka-python's default), so each partition keeps the order of
    sending even through retries: :func:`tests.support.eventlog.as_published` can tell where
    each record lands."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    n = 0
    try:
        for i, rec in enumerate(records):
            part = (partitions or {}).get(i)
            producer.send(topic, key=rec.key, value=rec.value, partition=part)
            n += 1
        producer.flush()
    finally:
        producer.close()
    return n


class Published:
    """The events topic of ``env`` as the test publishes it: what the reference folds."""

    def __init__(self, bootstrap: str, env: Mapping[str, str]) -> None:
        self.bootstrap = bootstrap
        self.topic = env["RISKMON_EVENTS_TOPIC"]
        self.partitions = int(env["RISKMON_PARTITIONS"])
        self.sent: list[LogRecord] = []
        self.forced: dict[int, int] = {}

    def send(self, records: Sequence[LogRecord], forced: Mapping[int, int] | None = None) -> int:
        """Publish ``records`` after those already sent (``forced``: index in ``records`` ->
        partition, for a misrouted one); the number sent."""
        n = publish(self.bootstrap, self.topic, records, forced)
        self.forced.update({len(self.sent) + i: p for i, p in (forced or {}).items()})
        self.sent += records
        return n

    @property
    def records(self) -> list[Record]:
        """Every record sent so far, where it stands in the topic (by partition, offset)."""
        return as_published(self.sent, self.topic, self.partitions, self.forced)


@dataclass
class Outcome:
    ok: bool
    why: str
    expected: Expected
    #: the published log the reference folded (the events topic held exactly it)
    log: list[Record] = field(default_factory=list)
    dlq: list[Record] = field(default_factory=list)


def _topic_problems(published: Sequence[Record], topic: Sequence[Record]) -> list[str]:
    """What the events topic holds beyond (or short of) the published log."""
    want = {(r.partition, r.offset): (r.key, r.value) for r in published}
    got = {(r.partition, r.offset): (r.key, r.value) for r in topic}
    if got == want:
        return []
    extra = [pos for pos in got if pos not in want]
    ticker = [pos for pos in extra if TICKER_SOURCE.encode() in (got[pos][1] or b"")]
    other = [pos for pos in want if pos in got and got[pos] != want[pos]]
    return [
        f"the events topic is not the published log: {len(extra)} records more ({len(ticker)}"
        f" from the ticker, e.g. {sorted(extra)[:3]}), {len(set(want) - set(got))} missing,"
        f" {len(other)} different (e.g. {sorted(other)[:3]})"
    ]


def _dlq_problems(
    log: Sequence[Record], expected: Expected, dlq: Sequence[Record], once: bool
) -> list[str]:
    by_pos = {(r.partition, r.offset): r for r in log}
    want = Counter((p, o, reason) for p, o, reason in expected.dead)
    got: Counter[tuple[int, int, str]] = Counter()
    problems = []
    for d in dlq:
        h = {k: v.decode() for k, v in d.headers}
        if not {"dlq_reason", "dlq_topic", "dlq_partition", "dlq_offset"} <= set(h):
            problems.append(f"dead letter without its headers: {sorted(h)}")
            continue
        pos = (int(h["dlq_partition"]), int(h["dlq_offset"]))
        got[(*pos, h["dlq_reason"])] += 1
        orig = by_pos.get(pos)
        if orig is None or h["dlq_topic"] != orig.topic:
            problems.append(f"dead letter names no record of the published log: {h}")
        elif (d.key, d.value) != (orig.key, orig.value):
            problems.append(f"dead letter at {pos} does not carry the original key and bytes")
    if not once:
        # A crash before the commit redelivers records whose dead letters were already sent, as
        # it re-sends alerts: a dead letter is identified by its dlq_topic/partition/offset.
        got = Counter(set(got))
    if got != want:
        problems.append(
            f"dead letters: {sorted((got - want).elements())} unexpected or repeated,"
            f" {sorted((want - got).elements())} missing"
        )
    return problems


def check(
    bootstrap: str,
    redis_url: str,
    env: dict[str, str],
    *,
    published: Sequence[Record],
    dead_letters_once: bool = True,
) -> Outcome:
    """Compare the pipeline's result with the reference fold over the ``published`` log (see
    :class:`Published`); the events topic must hold exactly that log.

    ``dead_letters_once=False`` for scenarios that kill or crash a worker before it commits:
    then each poison record must be dead-lettered at least once, every copy naming it.
    """
    parts = int(env["RISKMON_PARTITIONS"])
    log = list(published)
    expected = reference(log, load_model(), parts)
    states = redis_states(redis_url, env["RISKMON_REDIS_PREFIX"], parts)
    alerts, tasks = observed(bootstrap, env)
    dlq = read_topic(bootstrap, env["RISKMON_DLQ_TOPIC"])
    problems = _topic_problems(log, read_topic(bootstrap, env["RISKMON_EVENTS_TOPIC"]))
    if states != expected.states:
        diff = sorted(
            u for u in set(states) | set(expected.states) if states.get(u) != expected.states.get(u)
        )
        classes = [
            (
                u,
                getattr(states.get(u), "klass", None),
                getattr(expected.states.get(u), "klass", None),
            )
            for u in diff[:5]
        ]
        problems.append(f"{len(diff)} enterprise states differ, e.g. (uscc, got, want) {classes}")
    watermarks = event_watermarks(redis_url, env["RISKMON_REDIS_PREFIX"], parts)
    if watermarks != {p: expected.watermarks.get(p, 0) for p in range(parts)}:
        problems.append(f"event-time watermarks {watermarks}, want {expected.watermarks}")
    if alerts != expected.alert_ids:
        types = _alert_types(bootstrap, env, alerts ^ expected.alert_ids)
        problems.append(
            f"alerts: {len(alerts - expected.alert_ids)} unexpected, "
            f"{len(expected.alert_ids - alerts)} missing (unexpected ones by type: {types})"
        )
    sent_warnings = _warning_ids(bootstrap, env)
    if sent_warnings != expected.warning_ids:
        kinds = _warning_kinds(bootstrap, env, sent_warnings - expected.warning_ids)
        problems.append(
            f"warnings: {len(sent_warnings - expected.warning_ids)} unexpected, "
            f"{len(expected.warning_ids - sent_warnings)} missing, of which"
            f" {len((expected.warning_ids - sent_warnings) & expected.near_boundary_ids)}"
            f" near-boundary (unexpected ones by rule kind: {kinds})"
        )
    if tasks != expected.task_ids:
        problems.append(
            f"tasks: {len(tasks - expected.task_ids)} unexpected, "
            f"{len(expected.task_ids - tasks)} missing"
        )
    sent_reminders = reminders(bootstrap, env)
    if sent_reminders != expected.reminder_ids:
        problems.append(
            f"reminders: {len(sent_reminders - expected.reminder_ids)} unexpected, "
            f"{len(expected.reminder_ids - sent_reminders)} missing"
        )
    tracked = redis_tasks(redis_url, env["RISKMON_REDIS_PREFIX"], parts)
    if tracked != expected.tasks:
        diff = sorted(
            t for t in set(tracked) | set(expected.tasks) if tracked.get(t) != expected.tasks.get(t)
        )
        first = diff[0]
        problems.append(
            f"{len(diff)} tracked tasks differ, e.g. {diff[:3]}; the first: got"
            f" {tracked.get(first)!r}, want {expected.tasks.get(first)!r}"
        )
    problems += _dlq_problems(log, expected, dlq, dead_letters_once)
    return Outcome(not problems, "; ".join(problems), expected, log, dlq)


def _alert_types(bootstrap: str, env: dict[str, str], ids: set[str]) -> dict[str, int]:
    """How many of the alerts on the topic with one of ``ids`` there are, by type."""
    docs = (orjson.loads(r.value) for r in read_topic(bootstrap, env["RISKMON_ALERTS_TOPIC"]))
    return dict(Counter(d["type"] for d in docs if d["id"] in ids))


def _warning_kinds(bootstrap: str, env: dict[str, str], ids: set[str]) -> dict[str, int]:
    """How many of the early warnings with one of ``ids`` there are, by rule kind."""
    docs = (orjson.loads(r.value) for r in read_topic(bootstrap, env["RISKMON_ALERTS_TOPIC"]))
    return dict(Counter(d["data"].get("rule_kind", "?") for d in docs if d["id"] in ids))


def _warning_ids(bootstrap: str, env: dict[str, str]) -> set[str]:
    """The ids of the early warnings on the alerts topic."""
    docs = (orjson.loads(r.value) for r in read_topic(bootstrap, env["RISKMON_ALERTS_TOPIC"]))
    return {d["id"] for d in docs if d["type"] == "riskmon.alert.warning"}


def wait_exact(
    bootstrap: str,
    redis_url: str,
    env: dict[str, str],
    workers: Sequence[Worker],
    timeout: float,
    *,
    published: Sequence[Record],
    dead_letters_once: bool = True,
) -> Outcome:
    """Wait until :func:`check` passes; fail with the last difference and the workers' logs."""
    last: list[Outcome] = []

    def done() -> bool:
        out = check(
            bootstrap, redis_url, env, published=published, dead_letters_once=dead_letters_once
        )
        last[:] = [out]
        return out.ok

    try:
        wait_for(done, timeout, interval=2, what="the reference result")
    except AssertionError:
        logs = "\n".join(w.log_tail(40) for w in workers)
        why = last[0].why if last else "never checked"
        raise AssertionError(f"not exact after {timeout}s: {why}\n{logs}") from None
    return last[0]


def crash_then_finish(
    bootstrap: str,
    redis_url: str,
    env: dict[str, str],
    worker: Worker,
    log: Published,
    tmp: Path,
) -> Outcome:
    """R3 over ``log``: a worker taking batches of 50 exits after the Redis write of its third
    batch that owes outputs, before sending them and committing; ``worker`` then finishes in
    batches of 7 (other cuts of the same log). Waits until the result is the reference's."""
    crashing = Worker(
        {**env, "RISKMON_FAULT_CRASH_AFTER_BATCHES": "3", "RISKMON_BATCH_MAX_EVENTS": "50"},
        tmp / "crashing.log",
    ).start()
    wait_for(
        lambda: crashing.proc is not None and crashing.proc.poll() is not None,
        120,
        what="the fault hook's exit",
    )
    assert crashing.proc is not None and crashing.proc.returncode == 70, crashing.log_tail()
    worker.env["RISKMON_BATCH_MAX_EVENTS"] = "7"
    worker.start().wait_ready()
    return wait_exact(
        bootstrap, redis_url, env, [worker], 240, published=log.records, dead_letters_once=False
    )


def metric(worker: Worker, name: str, labels: str = "") -> float:
    """Sum of the samples of ``name`` (whose label text contains ``labels``) on /metrics."""
    status, text = worker.get("/metrics")
    assert status == 200
    total = 0.0
    pattern = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$")
    for line in text.splitlines():
        m = pattern.match(line)
        if m and labels in (m.group(1) or ""):
            total += float(m.group(2))
    return total


def applied(redis_url: str, env: dict[str, str]) -> int:
    """Sum over partitions of watermark + 1 (a cheap measure of progress)."""
    r = connect(redis_url)
    keys = Keys(env["RISKMON_REDIS_PREFIX"])
    try:
        return sum(
            int(r.hget(keys.meta(p), "wm") or -1) + 1 for p in range(int(env["RISKMON_PARTITIONS"]))
        )
    finally:
        r.close()


def alert_causes(bootstrap: str, env: dict[str, str]) -> dict[str, str]:
    """Class-change alert id → the ``source`` of the event that caused it."""
    return {
        doc["id"]: doc["data"]["cause"]["source"]
        for doc in (
            orjson.loads(r.value) for r in read_topic(bootstrap, env["RISKMON_ALERTS_TOPIC"])
        )
        if doc["type"] == "riskmon.alert.class_changed"
    }


@contextmanager
def fresh_env(bootstrap: str, redis_url: str, prefix: str, tmp: Path) -> Iterator[dict[str, str]]:
    """A worker environment of its own, beside the ``env`` fixture's: its topics (created),
    key prefix (deleted afterwards), consumer group, port and data directory."""
    tmp.mkdir(parents=True, exist_ok=True)
    e = worker_env(bootstrap=bootstrap, redis_url=redis_url, prefix=prefix, tmp=tmp)
    names = ("RISKMON_EVENTS_TOPIC", "RISKMON_ALERTS_TOPIC", "RISKMON_TASKS_TOPIC")
    more = ("RISKMON_DLQ_TOPIC", "RISKMON_REMINDERS_TOPIC")
    parts = int(e["RISKMON_PARTITIONS"])
    ensure_topics(bootstrap, [TopicSpec(e[n], parts) for n in (*names, *more)])
    try:
        yield e
    finally:
        client = connect(redis_url)
        try:
            keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
            if keys:
                client.unlink(*keys)
        finally:
            client.close()
