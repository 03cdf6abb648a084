"""riskmon's Faust consumer hands records over as stock Faust does, only cheaper: a fetch at a
time to a bulk topic's buffer, one by one (without a task each) to an agent's stream.

No broker: Faust builds its consumer without connecting, and these are the consumer's own
decisions (which partitions to fetch, what to hand over, how a hand-off races a rebalance,
which offsets a commit may pass)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import faust
import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP

from streams.kafka_transport import BulkTopic, RiskmonApp

TP0 = TP("events", 0)
TP1 = TP("events", 1)
SETTLE = 5.0
_BUILT: list[Any] = []


@pytest.fixture(autouse=True)
def close_consumer_threads() -> Iterator[None]:
    yield
    while _BUILT:  # each consumer made its fetch thread's loop; it never ran, so close it
        _BUILT.pop()._thread.thread_loop.close()


def _consumer(app_class: type[faust.App] = RiskmonApp) -> Any:
    app = app_class("t-transport", broker="kafka://127.0.0.1:9", store="memory://")
    consumer = app.consumer
    _BUILT.append(consumer)
    consumer._set_active_tps({TP0})
    return consumer


async def test_a_full_stream_buffer_keeps_its_partition_in_the_fetch() -> None:
    # Stock Faust takes it out, and with every partition out its fetcher sleeps a second.
    stock = _consumer(faust.App)
    stock.on_buffer_full(TP0)
    assert TP0 not in stock._get_active_partitions()
    ours = _consumer()
    ours.on_buffer_full(TP0)
    assert TP0 in ours._get_active_partitions()


async def test_a_hand_off_that_need_not_wait_returns_its_result() -> None:
    consumer = _consumer()
    handed: list[int] = []

    async def hand_off(n: int) -> int:
        handed.append(n)
        return n

    # The suspend wait it was raced against is closed unstarted: a coroutine left neither
    # awaited nor closed would warn, and warnings fail this suite.
    result = await consumer.wait_first(hand_off(7), consumer.suspend_flow.wait())
    gc.collect()
    assert handed == [7]
    assert not result.stopped and result.results == [7]


async def _hand_off_into_a_full_buffer(
    consumer: Any,
) -> tuple[asyncio.Queue[int], asyncio.Future[Any]]:
    """The buffer holds 0 and has no room; the hand-off of 1 is left waiting for room."""
    buffer: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
    buffer.put_nowait(0)
    waiting = asyncio.ensure_future(
        consumer.wait_first(buffer.put(1), consumer.suspend_flow.wait())
    )
    await asyncio.sleep(0.01)
    assert not waiting.done()
    return buffer, waiting


async def test_a_waiting_hand_off_is_abandoned_when_flow_is_suspended() -> None:
    # What Faust does in a rebalance: the record waiting for room never enters the buffer.
    consumer = _consumer()
    buffer, waiting = await _hand_off_into_a_full_buffer(consumer)
    consumer.suspend_flow.set()
    result = await asyncio.wait_for(waiting, 1)
    assert result.results == [True]  # suspend_flow.wait() won the race
    buffer.get_nowait()
    await asyncio.sleep(0.01)
    assert buffer.empty()  # the abandoned put was cancelled, not finished later


async def test_a_waiting_hand_off_completes_when_room_is_made() -> None:
    buffer, waiting = await _hand_off_into_a_full_buffer(_consumer())
    assert buffer.get_nowait() == 0
    result = await asyncio.wait_for(waiting, 1)
    assert not result.stopped
    assert buffer.get_nowait() == 1


def _bulk(max_events: int = 100) -> tuple[Any, BulkTopic]:
    """A consumer of the events topic read in bulk, partitions 0 and 1 assigned, flowing."""
    app = RiskmonApp("t-bulk", broker="kafka://127.0.0.1:9", store="memory://")
    topic = app.topic("events", key_type=bytes, value_type=bytes, value_serializer="raw")
    bulk = app.bulk_topic(topic, max_events=max_events, capacity=2 * max_events)
    consumer = app.consumer
    _BUILT.append(consumer)
    consumer._set_active_tps({TP0, TP1})
    app.topics._acking_topics.add("events")  # the conductor does this when it subscribes
    app.flow_control.resume()
    return consumer, bulk


def _records(tp: TP, *offsets: int) -> list[ConsumerRecord[bytes, bytes]]:
    return [
        ConsumerRecord(tp.topic, tp.partition, o, 0, 0, b"k", b"%d" % o, None, 1, 1, [])
        for o in offsets
    ]


async def _fetch(consumer: Any, records: dict[TP, list[Any]]) -> None:
    await consumer._deliver(records, {TP0, TP1}, consumer.app.riskmon_bulk_topics)


async def _next(bulk: BulkTopic) -> list[tuple[int, int]]:
    batches = bulk.batches()
    batch = await asyncio.wait_for(batches.__anext__(), SETTLE)
    await batches.aclose()
    return [(m.partition, m.offset) for m in batch]


async def test_a_fetch_reaches_the_bulk_buffer_whole_in_each_partitions_order() -> None:
    consumer, bulk = _bulk()
    await _fetch(consumer, {TP0: _records(TP0, 0, 1, 2), TP1: _records(TP1, 0, 1)})
    assert len(bulk.buffer) == 5  # one hand-over, not five
    taken = await _next(bulk)
    assert sorted(taken) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    assert [o for p, o in taken if p == 0] == [0, 1, 2]


async def test_records_before_the_read_offset_are_not_handed_over() -> None:
    # After a seek to the committed offset 5 (Faust sets the read offset to it), a fetch
    # that still holds earlier records.
    consumer, bulk = _bulk()
    consumer._read_offset[TP0] = 5
    await _fetch(consumer, {TP0: _records(TP0, 3, 4, 5, 6)})
    assert await _next(bulk) == [(0, 5), (0, 6)]


async def test_a_partition_taken_out_of_the_fetch_hands_nothing_over() -> None:
    consumer, bulk = _bulk()
    await consumer._deliver(
        {TP0: _records(TP0, 0), TP1: _records(TP1, 0)}, {TP1}, consumer.app.riskmon_bulk_topics
    )
    assert await _next(bulk) == [(1, 0)]


async def test_a_fetch_that_lands_as_a_rebalance_begins_is_not_handed_over() -> None:
    consumer, bulk = _bulk()
    consumer.flow_active = False  # Faust's stop_flow(): it seeks back to the commits after
    await _fetch(consumer, {TP0: _records(TP0, 0)})
    assert len(bulk.buffer) == 0


async def test_records_taken_are_tracked_until_acked_and_commits_pass_only_acked_offsets() -> None:
    consumer, bulk = _bulk()
    await _fetch(consumer, {TP0: _records(TP0, 0, 1, 2, 3)})
    batches = bulk.batches()
    batch = await asyncio.wait_for(batches.__anext__(), SETTLE)
    await batches.aclose()
    assert set(consumer.unacked) == set(batch)  # a rebalance waits for these
    bulk.ack([batch[0], batch[1], batch[3]])
    assert consumer._new_offset(TP0) == 2  # offset 2 is not acked: the commit stops there
    assert set(consumer.unacked) == {batch[2]}
    bulk.ack([batch[2]])
    assert consumer._new_offset(TP0) == 4
    assert not consumer.unacked


async def test_commits_pass_offsets_the_log_skipped() -> None:
    # A compacted or transactional log has holes; Faust records them as gaps.
    consumer, bulk = _bulk()
    await _fetch(consumer, {TP0: _records(TP0, 0, 1)})
    await _fetch(consumer, {TP0: _records(TP0, 5, 6)})
    batches = bulk.batches()
    batch = await asyncio.wait_for(batches.__anext__(), SETTLE)
    await batches.aclose()
    bulk.ack(batch)
    # Without the gap the commit would stop at 2. (Faust counts the record after a hole into
    # the hole, so its first commit may stop one short of 7.)
    assert consumer._new_offset(TP0) in (6, 7)


async def test_records_of_an_earlier_generation_are_dropped_unacked_when_taken() -> None:
    consumer, bulk = _bulk()
    await _fetch(consumer, {TP0: _records(TP0, 0, 1)})
    consumer.app.consumer_generation_id += 1  # a rebalance came and went; Faust seeked back
    await _fetch(consumer, {TP1: _records(TP1, 0)})
    assert await _next(bulk) == [(1, 0)]
    assert consumer._new_offset(TP0) is None  # nothing of partition 0 may be committed


async def test_a_rebalance_empties_the_buffer_and_records_taken_during_it_are_dropped() -> None:
    consumer, bulk = _bulk()
    batches = bulk.batches()
    taking = asyncio.ensure_future(batches.__anext__())
    await asyncio.sleep(0)  # the agent waits for records; its buffer is under flow control
    await _fetch(consumer, {TP0: _records(TP0, 0)})
    assert await asyncio.wait_for(taking, SETTLE)
    await _fetch(consumer, {TP0: _records(TP0, 1, 2)})
    consumer.app.flow_control.suspend()
    consumer.app.flow_control.clear()  # what Faust does as partitions are revoked
    assert len(bulk.buffer) == 0
    await _fetch(consumer, {TP1: _records(TP1, 0)})  # flow_active still set: a late fetch
    taking = asyncio.ensure_future(batches.__anext__())
    assert not await _settled(taking)  # taken during the rebalance, and dropped
    consumer.app.flow_control.resume()
    await _fetch(consumer, {TP1: _records(TP1, 1)})
    batch = await asyncio.wait_for(taking, SETTLE)
    await batches.aclose()
    assert [(m.partition, m.offset) for m in batch] == [(1, 1)]


async def _settled(task: asyncio.Future[Any]) -> bool:
    for _ in range(5):
        await asyncio.sleep(0)
    return task.done()


async def test_records_of_topics_without_a_bulk_buffer_go_one_by_one_to_their_stream() -> None:
    consumer, bulk = _bulk()
    other = TP("other", 0)
    consumer._set_active_tps({TP0, other})
    handed: list[int] = []

    async def on_message(message: Any) -> None:
        handed.append(message.offset)

    consumer.callback = on_message
    await consumer._deliver(
        {other: _records(other, 0, 1), TP0: _records(TP0, 0)},
        {TP0, other},
        consumer.app.riskmon_bulk_topics,
    )
    assert handed == [0, 1]
    assert await _next(bulk) == [(0, 0)]
