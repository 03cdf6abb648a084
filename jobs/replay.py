"""Replay: rebuild all state from the event log into a fresh Redis key prefix (``riskmon
replay``; the command's text is cli/replay.py's).

The bulk path: records are read in large batches (the topic from its beginning to its end, or a
JSON-lines file), validated, scored and planned by the worker's own :func:`plan` (so the
ticker's ``riskmon.reevaluate`` records count only from the ticker's source), and applied by
:meth:`Store.execute`, one script call per partition in offset order, through the same Lua
script as the live path, then folded by supervision (tasks, observation periods, reminders:
:class:`~supervision.store.store.SupervisionStore`, as the worker does after each write). The
result is the state the live worker built from the same records.
Nothing is sent: no alerts, no tasks; dead letters are counted by reason, not re-sent. Given an
:class:`~jobs.outputs.Outputs`, replay also collects the ids of every alert, task and dead
letter the log warrants, supervision's messages included: those a live worker sent for the same
log, since time-driven class changes and supervision's due entries follow each partition's event
time, not the wall clock (scoring/partition.py).

A file stands for a topic: each line's partition is murmur2 of its subject (as a producer's
would be) and its offset is its position among the lines of that partition.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from alerts.rules import Message, event_messages
from alerts.warnings import WarningsConfig
from alerts.warnings import load as load_warnings
from jobs.outputs import Outputs
from schemas.codec import loads
from scoring.fold import Params
from scoring.model import ScoringModel
from scoring.store import Store, StoreResult
from streams.handler import supervision_inputs
from streams.planning import DecodePool, Planned, Planner, Record, plan
from streams.redis_client import connect_async
from streams.topics import partition_for
from supervision.config import SupervisionConfig
from supervision.config import load as load_supervision
from supervision.store.store import SupervisionStore

__all__ = [
    "DEFAULT_BATCH",
    "ReplayStats",
    "file_records",
    "from_thread",
    "replay",
    "replay_log",
    "topic_batches",
]

#: Processes that validate and score beside the one reading and writing: all but one core
#: (replay is CPU-bound in Python once Redis' script is fast; Redis takes part of a core).
DEFAULT_PROCESSES = max(1, (os.cpu_count() or 2) - 1)

#: Apply calls per pipelined round trip.
DEFAULT_BATCH = 2_000


@dataclass
class ReplayStats:
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    classes: dict[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0


def _subject(line: bytes) -> bytes | None:
    try:
        doc = loads(line)
    except ValueError:
        return None
    subject = doc.get("subject") if isinstance(doc, dict) else None
    return subject.encode() if isinstance(subject, str) else None


def file_records(
    path: Path, topic: str, partitions: int, batch: int = DEFAULT_BATCH
) -> Iterator[list[Record]]:
    """The lines of a JSON-lines file as records of a ``partitions``-partition topic, in
    batches. A line without a subject goes to partition 0 (and will be a dead letter)."""
    offsets: dict[int, int] = defaultdict(int)
    out: list[Record] = []
    with path.open("rb") as f:
        for raw in f:
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            key = _subject(line)
            p = partition_for(key, partitions) if key else 0
            out.append(Record(topic, p, offsets[p], key, line))
            offsets[p] += 1
            if len(out) >= batch:
                yield out
                out = []
    if out:
        yield out


async def topic_batches(
    bootstrap: str,
    topic: str,
    batch: int = DEFAULT_BATCH,
    quiet_polls: int = 3,
    kafka_config: Mapping[str, Any] | None = None,
) -> tuple[int, AsyncIterator[list[Record]]]:
    """(partition count, batches of every record of ``topic`` from its beginning to its end).

    aiokafka, whose record parsing is compiled: it fetches ahead while a batch is applied.
    Reads to the reported end offsets and then on until ``quiet_polls`` polls in a row return
    nothing: Tansu reports the end of a multi-record batch as its base offset + 1.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap.split(","),
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        **(kafka_config or {}),
    )
    await consumer.start()
    parts = sorted(consumer.partitions_for_topic(topic) or ())
    if not parts:
        await consumer.stop()
        raise ValueError(f"topic {topic} does not exist at {bootstrap}")
    tps = [TopicPartition(topic, p) for p in parts]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    end = await consumer.end_offsets(tps)

    async def read() -> AsyncIterator[list[Record]]:
        try:
            quiet = 0
            while quiet < quiet_polls or any([await consumer.position(tp) < end[tp] for tp in tps]):
                polled = await consumer.getmany(timeout_ms=300, max_records=batch)
                quiet = 0 if polled else quiet + 1
                out = [
                    Record(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp / 1000)
                    for msgs in polled.values()
                    for m in msgs
                ]
                if out:
                    yield out
        finally:
            await consumer.stop()

    return len(parts), read()


async def from_thread(batches: Iterator[list[Record]]) -> AsyncIterator[list[Record]]:
    """A blocking iterator read in a thread, one batch ahead of the caller."""
    loop = asyncio.get_running_loop()
    nxt = loop.run_in_executor(None, next, batches, None)
    while (records := await nxt) is not None:
        nxt = loop.run_in_executor(None, next, batches, None)
        yield records


async def replay(
    batches: AsyncIterator[list[Record]],
    *,
    redis_url: str,
    prefix: str,
    model: ScoringModel,
    partitions: int,
    max_event_bytes: int,
    lanes: int = 4,
    processes: int = DEFAULT_PROCESSES,
    ledger_window: int = 0,
    outputs: Outputs | None = None,
    supervision: SupervisionConfig | None = None,
    redis_options: Mapping[str, Any] | None = None,
    warnings: WarningsConfig | None = None,
) -> ReplayStats:
    """Apply every record of ``batches`` to ``prefix``; raises ValueError if it has keys.
    ``processes`` validate and score beside this one (0: inline). ``outputs``, if given,
    collects the output ids the records warrant. ``supervision``: its configuration, and
    ``warnings``: the early-warning rules (None: the default files), so that the warning
    states and the warnings sent are rebuilt as well. ``redis_options``: TLS files
    (``streams.connections``)."""
    client = connect_async(
        redis_url, socket_timeout=30, socket_connect_timeout=5, **(redis_options or {})
    )
    try:
        await _ensure_fresh(client, prefix)
        store = Store(
            client,
            prefix=prefix,
            params=Params.of(model),
            partitions=partitions,
            ledger_window=ledger_window,
        )
        sup = SupervisionStore(
            client,
            prefix=prefix,
            config=supervision if supervision is not None else load_supervision(None),
            model_version=model.version,
            lateness=store.params.lateness,
            warnings=warnings if warnings is not None else load_warnings(None),
            thresholds=store.params.thresholds,
        )
        planner = Planner(
            model,
            store.keys,
            store.params_arg,
            partitions,
            max_event_bytes,
        )
        stats = ReplayStats()
        pool = DecodePool(planner, processes) if processes > 0 else None
        started = time.perf_counter()
        # Lanes own disjoint sets of partitions, each applying its records in offset order on
        # its own connection: while Redis runs one lane's pipeline, Python prepares another's.
        queues: list[asyncio.Queue[list[Record] | None]] = [
            asyncio.Queue(maxsize=2) for _ in range(min(lanes, partitions))
        ]

        async def lane(q: asyncio.Queue[list[Record] | None]) -> None:
            while (recs := await q.get()) is not None:
                await _apply(store, sup, planner, pool, recs, stats, outputs)

        tasks = [asyncio.create_task(lane(q)) for q in queues]
        try:
            async for records in batches:
                split: dict[int, list[Record]] = defaultdict(list)
                for rec in records:
                    split[rec.partition % len(queues)].append(rec)
                for i, recs in split.items():
                    await queues[i].put(recs)
                    if tasks[i].done():  # it failed: surface its error now
                        await tasks[i]
            for q in queues:
                await q.put(None)
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            if pool is not None:
                pool.close()
        stats.seconds = time.perf_counter() - started
        stats.classes = await store.class_counts()
        return stats
    finally:
        await client.aclose()


async def _ensure_fresh(client: aioredis.Redis, prefix: str) -> None:
    async for _ in client.scan_iter(match=f"{prefix}:*", count=1000):
        raise ValueError(f"Redis prefix {prefix!r} already has keys: replay into a fresh one")


async def _apply(
    store: Store,
    sup: SupervisionStore,
    planner: Planner,
    pool: DecodePool | None,
    records: Sequence[Record],
    stats: ReplayStats,
    outputs: Outputs | None,
) -> None:
    # The worker's own planning (validate, score, one script call per partition in offset
    # order), so replay and the live path cannot drift apart.
    wire = [(r.topic, r.partition, r.offset, r.key, r.value) for r in records]
    planned = await pool.plan(wire) if pool is not None else plan(wire, planner)
    stats.records += len(records)
    for _i, reason, _detail in planned.dead:
        stats.dead_letters[reason] += 1
    results = await store.execute(planned.calls)  # parsed, as the worker reads them
    applied = sum(not r.duplicate for r in results)
    stats.applied += applied
    stats.duplicates += len(results) - applied
    sent = await _supervise(sup, planned, results, model_version=sup.model_version)
    if outputs is not None:
        outputs.add(records, planned, results)
        for m in sent:
            outputs.messages.add((m.kind, m.id, m.type))


async def _supervise(
    sup: SupervisionStore, planned: Planned, results: Sequence[StoreResult], model_version: str
) -> list[Message]:
    """Supervision's fold of a planned batch, partition by partition (as the worker runs it
    after the scoring write); the messages it warrants."""
    scoring = [
        event_messages(subject, source, eid, etype, res.outcome, res.fired, model_version)
        for (_, etype, subject, source, eid, _), res in zip(planned.events, results, strict=True)
    ]
    by_partition = sorted(supervision_inputs(planned, results, scoring).items())
    # Partitions have keys of their own: their calls overlap.
    done = await asyncio.gather(*(sup.apply(p, [i for _, i in rows]) for p, rows in by_partition))
    return [m for effects in done for per_event in effects.messages for m in per_event]


async def replay_log(
    *,
    file: Path | None,
    topic: str,
    kafka_bootstrap: str | None,
    redis_url: str,
    prefix: str,
    model: ScoringModel,
    partitions: int,
    max_event_bytes: int,
    batch: int,
    ledger_window: int = 0,
    outputs: Outputs | None = None,
    supervision: SupervisionConfig | None = None,
    kafka_config: Mapping[str, Any] | None = None,
    redis_options: Mapping[str, Any] | None = None,
    warnings: WarningsConfig | None = None,
) -> tuple[str, ReplayStats]:
    """Replay ``file`` (a JSON-lines log), or else ``topic`` at ``kafka_bootstrap`` from its
    beginning, into the fresh ``prefix``; returns (what was read, as text; the stats).
    ``outputs``, if given, collects the output ids the log warrants.

    Raises ValueError if the prefix has keys (checked before the log is opened) or the topic
    does not exist; OSError if the file cannot be read; RedisError, StoreError or KafkaError
    if a server fails (nothing half-done to undo: replay again into a new prefix).
    """
    client = connect_async(redis_url, socket_connect_timeout=5, **(redis_options or {}))
    try:
        await _ensure_fresh(client, prefix)
    finally:
        await client.aclose()
    n = partitions
    if file is not None:
        file.open("rb").close()  # unreadable: fail here, not in the reading thread
        batches = from_thread(file_records(file, topic, n, batch))
        source = str(file)
    elif kafka_bootstrap is None:
        raise ValueError("neither a file nor a broker to replay from")
    else:
        n, batches = await topic_batches(kafka_bootstrap, topic, batch, kafka_config=kafka_config)
        source = f"{topic} at {kafka_bootstrap}"
    stats = await replay(
        batches,
        redis_url=redis_url,
        prefix=prefix,
        model=model,
        partitions=n,
        max_event_bytes=max_event_bytes,
        ledger_window=ledger_window,
        outputs=outputs,
        supervision=supervision,
        redis_options=redis_options,
        warnings=warnings,
    )
    return source, stats
