"""After a rebalance: re-read what Redis lost, from each partition's watermark.

Faust commits after Redis acknowledged a batch, so Kafka's committed offset is at most Redis'
watermark + 1 unless Redis lost acknowledged writes (restarted from an AOF missing its last
second, or failed over to a lagging replica). When a worker is assigned partitions, it checks
and, where Redis is behind, seeks back so the lost events are applied again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from scoring.exceptions import StoreUnavailableError
from streams.gate import Gate
from streams.runtime import Runtime

__all__ = ["check_after_rebalance", "committed_offsets", "rewind_to_watermarks"]

log = logging.getLogger(__name__)

#: How long one attempt of the watermark check may take (Kafka's admin API and Redis).
CHECK_TIMEOUT_SECONDS = 15.0


async def committed_offsets(rt: Runtime, partitions: Sequence[int]) -> dict[int, int]:
    """Kafka's committed offset (next offset to read) of each events partition that has one."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.structs import TopicPartition

    from streams.connections import aiokafka_config

    admin = AIOKafkaAdminClient(
        bootstrap_servers=rt.bootstrap.split(","), **aiokafka_config(rt.settings)
    )
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


async def rewind_to_watermarks(
    rt: Runtime, partitions: Sequence[int], gate: Gate | None = None
) -> dict[int, int]:
    """Seek each events partition whose committed offset is past Redis' watermark + 1 back to it.

    Re-reading from watermark + 1 re-applies what was lost; the ledger makes everything else
    there a duplicate. The watermark moves only for applied events, so a partition whose newest
    records were duplicates or dead letters is re-read from its last applied event too:
    harmless (duplicates change nothing; a dead letter is sent again with the same
    dlq_partition/dlq_offset), and counted in riskmon_redis_rewinds_total like a real loss.
    Returns partition -> offset sought to. Also records where each partition's reading starts
    (the handler's ``Progress.read_from``), so that a worker that takes over a partition read
    to its end by another knows it has nothing left to read: its lag is 0, not the whole log.
    """
    committed = await committed_offsets(rt, partitions)
    rewound: dict[int, int] = {}
    progress = rt.handler.progress
    for p in partitions:
        c = committed.get(p)
        progress.read_from[p] = 0 if c is None else c
        if c is None:
            continue
        wm = await rt.store.watermark(p)
        if rt.supervision is not None:  # supervision's write of a batch follows its scores'
            supervised = await rt.supervision.watermark(p)
            if supervised is not None:
                wm = min(wm, supervised)
        if c > wm + 1:
            tp = next(
                t
                for t in rt.app.consumer.assignment()
                if t.topic == rt.settings.events_topic and t.partition == p
            )
            await rt.app.consumer.seek(tp, wm + 1)
            if gate is not None:  # what was read from the committed offset is read again
                gate.rewound(p, c)
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
            progress.read_from[p] = wm + 1
            progress.last_offset.pop(p, None)  # what was processed past it is read again
    return rewound


async def check_after_rebalance(
    rt: Runtime, partitions: Sequence[int], gate: Gate | None = None
) -> None:
    """Wait until Faust has sought to the committed offsets, then :func:`rewind_to_watermarks`.

    Retries while Redis or Kafka is unavailable; gives up quietly if the partitions are
    reassigned meanwhile (the next assignment checks again).
    """
    try:
        await _check(rt, partitions, gate)
    finally:
        if gate is not None:
            gate.checked(partitions)


async def _check(rt: Runtime, partitions: Sequence[int], gate: Gate | None) -> None:
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
            # bounded: the partitions' records wait for it (streams/gate.py)
            await asyncio.wait_for(rewind_to_watermarks(rt, current, gate), CHECK_TIMEOUT_SECONDS)
            return
        except TimeoutError:
            log.warning(
                "watermark check of partitions %s: no answer in %ss, retrying",
                current,
                CHECK_TIMEOUT_SECONDS,
            )
        except StoreUnavailableError as exc:
            log.warning("watermark check: redis unavailable, retrying: %s", exc)
        except Exception as exc:  # Kafka admin errors: the broker may be restarting
            log.warning("watermark check: committed offsets unavailable, retrying: %r", exc)
        await asyncio.sleep(delay)
        delay = min(delay * 2, rt.settings.retry_max_seconds)
