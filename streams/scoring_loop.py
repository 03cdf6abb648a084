"""The scoring loop: the events topic a fetch at a time, through the handler, in overlapping
batches, each acked only once its effect is in Redis and its outputs in Kafka."""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import NoReturn

from faust.types import Message
from prometheus_client import Histogram

from streams.exceptions import FatalError
from streams.kafka_transport import BulkTopic
from streams.metrics import BatchStage
from streams.planning import Record
from streams.runtime import Runtime

__all__ = ["run"]

log = logging.getLogger(__name__)

#: Batches applied but not yet acked by Kafka that the scoring loop lets wait before it stops
#: taking more (each holds up to ``batch_max_events`` records).
_UNACKED_BATCHES = 16
#: Exit status of a worker stopped without commit (EX_SOFTWARE).
_EXIT_FATAL = 70


async def run(rt: Runtime, bulk: BulkTopic) -> None:
    """Score ``bulk``'s batches until the worker stops; on any failure, stop the process
    without committing: everything unacked is redelivered and deduplicated."""
    try:
        await _score(rt, bulk)
    except Exception:
        # Nothing after this batch may be committed (docs/reliability.md, Faust pitfall 1).
        _stop_without_commit("the scoring loop failed, stopping without commit")


def _stop_without_commit(message: str) -> NoReturn:
    log.critical(message, exc_info=True)
    logging.shutdown()
    os._exit(_EXIT_FATAL)


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
        scored = await rt.handler.apply_scoring(planned)
        t = _observe_stage(stage, "apply", t)
        results = await rt.handler.supervise(planned, scored)
        outputs = rt.handler.start_outputs(records, planned, results)
        await asyncio.sleep(0)  # the sends reach the producer's queue before the next batch's
        applied.set_result(None)
        t = _observe_stage(stage, "supervise", t)
        await outputs
        _observe_stage(stage, "acks", t)
    except FatalError:
        # Faust would commit past this batch if we let it go (docs/reliability.md, Faust
        # pitfall 1): stop the process instead; everything unacked is redelivered and
        # deduplicated.
        _stop_without_commit("fatal error, stopping without commit")
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
