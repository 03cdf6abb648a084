"""The composition root of a worker: Faust app, scoring loop, ticker and web API on one runtime.

Faust is used for what it is good at (group membership, fetching, committing, the web
server); state lives in Redis (never in Faust tables) and every record is consumed as raw
bytes and validated by the handler, so a poison record cannot be acked unseen.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
import redis.asyncio as aioredis
from aiohttp import web
from faust.types import Message
from prometheus_client import CollectorRegistry, Histogram

from schemas.codec import dumps
from schemas.uscc import is_valid
from scoring.exceptions import StoreUnavailableError
from scoring.explain import explain
from scoring.fold import Params
from scoring.model import ScoringModel
from scoring.store import Store
from streams.handler import FatalError, Handler, Record, SinkUnavailableError, Topics
from streams.kafka_transport import BulkTopic, RiskmonApp
from streams.metrics import CONTENT_TYPE, BatchStage, Metrics, render
from streams.settings import Settings
from streams.topics import partition_for

__all__ = ["TICKER_SOURCE", "Runtime", "build", "rewind_to_watermarks"]

log = logging.getLogger(__name__)

#: ``source`` of the re-evaluation events riskmon's ticker publishes; no one else may.
TICKER_SOURCE = "/riskmon/ticker"
_RESEND_SECONDS = 30.0
#: Batches applied but not yet acked by Kafka that the scoring loop lets wait before it stops
#: taking more (each holds up to ``batch_max_events`` records).
_UNACKED_BATCHES = 16
#: Whole batches the intake buffer holds before the consumer waits for the scoring loop.
_BUFFERED_BATCHES = 2


class FaustSink:
    """Queues records on the Faust app's producer; each ack is a future."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    async def enqueue(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> Awaitable[object]:
        try:
            ack: Awaitable[object] = await self._app.producer.send(
                topic, key, value, None, None, list(headers)
            )
        except Exception as exc:  # aiokafka raises KafkaError subclasses and asyncio timeouts
            raise SinkUnavailableError(repr(exc)) from exc
        return ack


@dataclass
class Runtime:
    """Everything one worker process holds; built once by :func:`build`."""

    settings: Settings
    model: ScoringModel
    app: RiskmonApp
    redis: aioredis.Redis
    store: Store
    handler: Handler
    registry: CollectorRegistry
    metrics: Metrics
    class_snapshot: dict[str, int] = field(default_factory=dict)
    inflight: dict[str, tuple[int, float]] = field(default_factory=dict)
    bootstrap: str = ""
    background: set[asyncio.Future[None]] = field(default_factory=set)

    def events_partitions(self) -> list[int]:
        return sorted(
            tp.partition
            for tp in self.app.consumer.assignment()
            if tp.topic == self.settings.events_topic
        )


def reevaluate_event(uscc: str, due: int) -> bytes:
    """The ticker's CloudEvent asking for ``uscc`` to be re-evaluated at ``due`` (Unix s)."""
    when = dt.datetime.fromtimestamp(due, dt.UTC).isoformat()
    return dumps(
        {
            "specversion": "1.0",
            "id": f"{uscc}@{due}",
            "source": TICKER_SOURCE,
            "type": "riskmon.reevaluate",
            "subject": uscc,
            "time": when,
            "datacontenttype": "application/json",
            "data": {"asof": when},
        }
    )


def build(settings: Settings, *, bootstrap: str, redis_url: str, model: ScoringModel) -> Runtime:
    s = settings
    app = RiskmonApp(
        s.group_id,
        fetch_max_wait_ms=s.fetch_max_wait_ms,
        broker=[f"kafka://{h.strip()}" for h in bootstrap.split(",")],
        store="memory://",
        autodiscover=False,
        web_enabled=True,
        web_bind=s.web_host,
        web_host=s.web_host,
        web_port=s.web_port,
        datadir=str(s.data_dir),
        topic_partitions=s.partitions,
        topic_replication_factor=s.replication_factor,
        topic_disable_leader=True,
        broker_session_timeout=s.session_timeout_seconds,
        broker_heartbeat_interval=min(1.0, s.session_timeout_seconds / 3),
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=s.instance_id,
        producer_acks=-1,
    )
    client = aioredis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
    store = Store(
        client,
        prefix=s.redis_prefix,
        params=Params.of(model),
        partitions=s.partitions,
        ledger_window=s.ledger_window,
    )
    registry = CollectorRegistry()
    snapshot: dict[str, int] = {}
    metrics = Metrics.create(registry, lambda: snapshot)
    metrics.set_model_version(model.version)
    handler = Handler(
        store=store,
        model=model,
        sink=FaustSink(app),
        metrics=metrics,
        topics=Topics(alerts=s.alerts_topic, tasks=s.tasks_topic, dlq=s.dlq_topic),
        partitions=s.partitions,
        max_event_bytes=s.max_event_bytes,
        retry_max_seconds=s.retry_max_seconds,
        ticker_source=TICKER_SOURCE,
        fault_crash_after_batches=s.fault_crash_after_batches,
        decode_processes=s.decode_processes,
    )
    rt = Runtime(s, model, app, client, store, handler, registry, metrics, snapshot)
    rt.bootstrap = bootstrap
    _wire(rt)
    return rt


def _wire(rt: Runtime) -> None:
    s, app = rt.settings, rt.app
    events = app.topic(
        s.events_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=s.partitions,
    )
    for name in (s.alerts_topic, s.tasks_topic, s.dlq_topic):
        app.topic(name, key_serializer="raw", value_serializer="raw", partitions=s.partitions)

    # Read a fetch at a time by the scoring loop below, not through an agent's stream: see
    # BulkTopic.
    bulk = app.bulk_topic(
        events, max_events=s.batch_max_events, capacity=_BUFFERED_BATCHES * s.batch_max_events
    )

    @app.task  # type: ignore[untyped-decorator]
    async def score() -> None:
        try:
            await _score(rt, bulk)
        except Exception:
            # Nothing after this batch may be committed (RELIABILITY #1): stop the process;
            # everything unacked is redelivered and deduplicated.
            log.critical("the scoring loop failed, stopping without commit", exc_info=True)
            logging.shutdown()
            os._exit(70)

    @app.task  # type: ignore[untyped-decorator]
    async def start_decoder() -> None:
        await rt.handler.start()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types async receivers badly
    async def on_assigned(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        assigned = args[0] if args else kwargs.get("assigned", ())
        parts = sorted(tp.partition for tp in assigned if tp.topic == s.events_topic)
        if parts:
            # Faust seeks to the committed offsets after this signal; check once it has.
            task = asyncio.ensure_future(_check_after_rebalance(rt, parts))
            rt.background.add(task)
            task.add_done_callback(rt.background.discard)

    @app.timer(s.tick_seconds, name="riskmon.ticker")  # type: ignore[untyped-decorator]
    async def ticker() -> None:
        await tick(rt)

    @app.page("/enterprises/{uscc}")
    async def enterprise(view: Any, request: Any, uscc: str) -> Any:
        if not is_valid(uscc):
            return view.json({"error": "invalid USCC", "uscc": uscc[:64]}, status=400)
        try:
            state = await rt.store.get(partition_for(uscc.encode(), s.partitions), uscc)
        except StoreUnavailableError as exc:
            return view.json({"error": str(exc)}, status=503)
        if state is None:
            return view.json({"error": "unknown enterprise", "uscc": uscc}, status=404)
        return view.json(explain(uscc, state, rt.model))

    @app.page("/metrics")
    async def metrics(view: Any, request: Any) -> Any:
        # aiohttp refuses a charset in content_type=, and the exposition type carries one.
        return web.Response(body=render(rt.registry), headers={"Content-Type": CONTENT_TYPE})

    @app.page("/healthz")
    async def healthz(view: Any, request: Any) -> Any:
        body = await health(rt)
        return view.json(body, status=200 if body["status"] == "ok" else 503)

    @app.page("/readyz")
    async def readyz(view: Any, request: Any) -> Any:
        reasons = []
        try:
            await rt.redis.ping()
        except Exception as exc:
            reasons.append(f"redis: {exc!r}")
        if not rt.events_partitions():
            reasons.append("no partitions of the events topic assigned yet")
        status = 200 if not reasons else 503
        return view.json({"ready": not reasons, "reasons": reasons}, status=status)


async def _score(rt: Runtime, bulk: BulkTopic) -> None:
    """Batches overlap: while one waits for Kafka to ack its alerts, the next is applied to
    Redis, the one after is planned, and the consumer reads on into the intake buffer.

    Batches apply in the log's order; a record is acked only once its batch is in Redis and
    its outputs are acked, and Faust commits only up to the first offset not acked, so a
    commit never passes an event whose effect is missing.
    """
    s = rt.settings
    unacked: collections.deque[asyncio.Future[None]] = collections.deque()
    unapplied: collections.deque[asyncio.Future[None]] = collections.deque()
    last_applied: asyncio.Future[None] | None = None
    ebb = rt.app.producer.buffer.wait_until_ebb
    async for messages in bulk.batches():
        records = [
            Record(
                topic=m.topic,
                partition=m.partition,
                offset=m.offset,
                key=m.key,
                value=m.value,
                timestamp=m.timestamp,
                headers=_headers(m),
            )
            for m in messages
        ]
        applied: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = _process(rt, records, functools.partial(bulk.ack, messages), last_applied, applied)
        unacked.append(asyncio.ensure_future(task))
        unapplied.append(applied)
        last_applied = applied
        # The next batch is taken only when it can be planned at once: records keep
        # arriving meanwhile, so the busier the worker, the bigger its batches.
        while unapplied and (unapplied[0].done() or len(unapplied) >= s.pipeline_batches):
            await unapplied.popleft()
        # Batches waiting only for Kafka's acks hold no one up, but their records stay in
        # memory: bounded in case the broker is slow to ack.
        while unacked and (unacked[0].done() or len(unacked) > _UNACKED_BATCHES):
            await unacked.popleft()
        await ebb()  # the producer's own buffer, as Faust's conductor waits for it


def _headers(message: Message) -> list[tuple[str, bytes]]:
    headers = message.headers
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers or ())


async def _process(
    rt: Runtime,
    records: list[Record],
    ack: Callable[[], None],
    previous: asyncio.Future[None] | None,
    applied: asyncio.Future[None],
) -> None:
    """One batch: plan it (overlapping earlier batches), apply it to Redis once the batch
    before has been applied (the log's order), queue its outputs, then wait for Kafka's acks
    (while the next batch applies) and only then ack its messages. Each stage's time goes to
    ``riskmon_batch_stage_seconds``."""
    stage = rt.metrics.batch_stage
    taken = time.time()
    stamps = [r.timestamp for r in records if r.timestamp is not None]
    if stamps:
        _observe_stage(stage, "queued", min(stamps), taken)
    try:
        planned = await rt.handler.plan_batch(records)
        t = _observe_stage(stage, "plan", taken)
        if previous is not None:
            await previous
        t = _observe_stage(stage, "order", t)
        results = await rt.handler.apply_planned(planned)
        outputs = rt.handler.start_outputs(records, planned, results)
        await asyncio.sleep(0)  # the sends reach the producer's queue before the next batch's
        applied.set_result(None)
        t = _observe_stage(stage, "apply", t)
        await outputs
        _observe_stage(stage, "acks", t)
    except FatalError:
        # Faust would commit past this batch if we let it go (RELIABILITY #1): stop the
        # process instead; everything unacked is redelivered and deduplicated.
        log.critical("fatal error, stopping without commit", exc_info=True)
        logging.shutdown()
        os._exit(70)
    except BaseException as exc:
        # The batches after this one wait for it to be applied; they must not wait for ever.
        if not applied.done():
            if isinstance(exc, Exception):
                applied.set_exception(exc)
            else:
                applied.cancel()
        raise
    ack()


def _observe_stage(
    stage: Histogram, name: BatchStage, since: float, now: float | None = None
) -> float:
    """Observe ``now - since`` (never negative: a producer's clock may run ahead) as
    ``name``'s time; returns ``now``, the next stage's start."""
    now = time.time() if now is None else now
    stage.labels(stage=name).observe(max(0.0, now - since))
    return now


async def health(rt: Runtime) -> dict[str, Any]:
    """Liveness judged by progress: lag that does not shrink for ``stall_seconds`` is a stall."""
    lag = 0
    for p in rt.events_partitions():
        tp = next(
            t
            for t in rt.app.consumer.assignment()
            if t.topic == rt.settings.events_topic and t.partition == p
        )
        try:
            high = rt.app.consumer.highwater(tp)
        except Exception:
            continue
        done = rt.handler.progress.last_offset.get(p, -1) + 1
        if high is not None and high > done:
            lag += high - done
    rt.metrics.consumer_lag.set(lag)
    idle = time.time() - (rt.handler.progress.last_batch_at or rt.handler.started_at)
    stalled = lag > 0 and idle > rt.settings.stall_seconds
    return {
        "status": "stalled" if stalled else "ok",
        "lag": lag,
        "seconds_since_progress": round(idle, 3),
    }


async def tick(rt: Runtime) -> None:
    """Publish a re-evaluation for each enterprise whose time-driven change is due.

    Only for this worker's partitions; scans one sorted set per partition, never the
    enterprises. Resent after a while if not yet applied (the ledger absorbs duplicates).
    """
    now = time.time()
    await health(rt)  # keeps riskmon_consumer_lag_records current
    try:
        rt.class_snapshot.update(await rt.store.class_counts())
        for p in rt.events_partitions():
            for uscc, due in await rt.store.due(p, int(now), limit=1000):
                sent = rt.inflight.get(uscc)
                if sent and sent[0] == due and now - sent[1] < _RESEND_SECONDS:
                    continue
                await rt.app.producer.send(
                    rt.settings.events_topic,
                    uscc.encode(),
                    reevaluate_event(uscc, due),
                    p,
                    None,
                    None,
                )
                rt.inflight[uscc] = (due, now)
    except StoreUnavailableError as exc:
        log.warning("ticker: redis unavailable: %s", exc)
        return
    if len(rt.inflight) > 100_000:
        cutoff = now - _RESEND_SECONDS
        for k in [k for k, (_, t) in rt.inflight.items() if t < cutoff]:
            del rt.inflight[k]
    await asyncio.sleep(0)


async def committed_offsets(rt: Runtime, partitions: Sequence[int]) -> dict[int, int]:
    """Kafka's committed offset (next offset to read) of each events partition that has one."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.structs import TopicPartition

    admin = AIOKafkaAdminClient(bootstrap_servers=rt.bootstrap.split(","))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(
            rt.settings.group_id,
            partitions=[TopicPartition(rt.settings.events_topic, p) for p in partitions],
        )
    finally:
        await admin.close()
    return {
        tp.partition: int(om.offset)
        for tp, om in offsets.items()
        if tp.topic == rt.settings.events_topic and om is not None and om.offset >= 0
    }


async def rewind_to_watermarks(rt: Runtime, partitions: Sequence[int]) -> dict[int, int]:
    """Seek each events partition whose committed offset is past Redis' watermark + 1 back to it.

    Faust commits after Redis acknowledged a batch, so committed <= watermark + 1 unless Redis
    lost acknowledged writes (restarted from an AOF missing its last second, or failed over to a
    lagging replica). Re-reading from watermark + 1 re-applies what was lost; the ledger makes
    everything else there a duplicate. The watermark moves only for applied events, so a
    partition whose newest records were duplicates or dead letters is re-read from its last
    applied event too: harmless (duplicates change nothing; a dead letter is sent again with the
    same dlq_partition/dlq_offset), and counted in riskmon_redis_rewinds_total like a real loss.
    Returns partition -> offset sought to.
    """
    committed = await committed_offsets(rt, partitions)
    rewound: dict[int, int] = {}
    for p in partitions:
        c = committed.get(p)
        if c is None:
            continue
        wm = await rt.store.watermark(p)
        if c > wm + 1:
            tp = next(
                t
                for t in rt.app.consumer.assignment()
                if t.topic == rt.settings.events_topic and t.partition == p
            )
            await rt.app.consumer.seek(tp, wm + 1)
            rt.metrics.redis_rewinds.inc()
            log.warning(
                "partition %s: committed offset %s is past the Redis watermark %s: Redis lost"
                " writes; re-reading from %s",
                p,
                c,
                wm,
                wm + 1,
            )
            rewound[p] = wm + 1
    return rewound


async def _check_after_rebalance(rt: Runtime, partitions: Sequence[int]) -> None:
    """Wait until Faust has sought to the committed offsets, then :func:`rewind_to_watermarks`.

    Retries while Redis or Kafka is unavailable; gives up quietly if the partitions are
    reassigned meanwhile (the next assignment checks again).
    """
    delay = 0.05
    while True:
        if rt.app.rebalancing:
            await asyncio.sleep(0.05)
            continue
        mine = set(rt.events_partitions())
        current = [p for p in partitions if p in mine]
        if not current:
            return
        try:
            await rewind_to_watermarks(rt, current)
            return
        except StoreUnavailableError as exc:
            log.warning("watermark check: redis unavailable, retrying: %s", exc)
        except Exception as exc:  # Kafka admin errors: the broker may be restarting
            log.warning("watermark check: committed offsets unavailable, retrying: %r", exc)
        await asyncio.sleep(delay)
        delay = min(delay * 2, rt.settings.retry_max_seconds)
