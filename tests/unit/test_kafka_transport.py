"""riskmon's Faust consumer hands records to the stream as stock Faust does, only cheaper.

No broker: Faust builds its consumer without connecting, and these are the consumer's own
decisions (which partitions to fetch, how a hand-off races a rebalance)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import faust
import pytest
from faust.types import TP

from streams.kafka_transport import RiskmonApp

TP0 = TP("events", 0)
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
