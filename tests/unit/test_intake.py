"""streams/intake.py: batches close by size or by their first event's wait, and lose nothing."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from streams.intake import Buffer, batches

FOREVER = 3600.0  # a linger no test waits out
SETTLE = 5.0  # a generous bound for "returns without waiting out the linger"


async def ready(task: asyncio.Future[object]) -> bool:
    """Whether ``task`` finishes without the loop's clock having to move on."""
    for _ in range(3):
        await asyncio.sleep(0)
    return task.done()


async def test_a_full_batch_is_handed_over_without_waiting_for_the_linger() -> None:
    buf: Buffer[int] = Buffer(max_events=3, linger_seconds=FOREVER, capacity=6)
    for i in range(3):
        await buf.put(i)
    assert await asyncio.wait_for(buf.take(), SETTLE) == [0, 1, 2]


async def test_events_that_arrive_within_the_linger_join_the_first_ones_batch() -> None:
    buf: Buffer[int] = Buffer(max_events=3, linger_seconds=FOREVER, capacity=6)
    await buf.put(0)
    taking = asyncio.ensure_future(buf.take())
    assert not await ready(taking)  # one event, and its linger has not run out
    await buf.put(1)
    assert not await ready(taking)
    await buf.put(2)
    assert await asyncio.wait_for(taking, SETTLE) == [0, 1, 2]


async def test_a_lone_event_is_handed_over_once_its_linger_runs_out() -> None:
    buf: Buffer[str] = Buffer(max_events=100, linger_seconds=0.01, capacity=200)
    await buf.put("alone")
    assert await asyncio.wait_for(buf.take(), SETTLE) == ["alone"]


async def test_the_linger_counts_from_the_first_events_arrival_not_from_take() -> None:
    buf: Buffer[int] = Buffer(max_events=100, linger_seconds=0.01, capacity=200)
    await buf.put(7)
    await asyncio.sleep(0.02)  # the agent was busy for longer than the linger
    taking = asyncio.ensure_future(buf.take())
    assert await ready(taking)
    assert taking.result() == [7]


async def test_a_batch_is_handed_over_as_soon_as_its_source_has_nothing_more_ready() -> None:
    buf: Buffer[int] = Buffer(
        max_events=100, linger_seconds=FOREVER, capacity=200, source_idle=lambda: True
    )
    await buf.put(1)
    await buf.put(2)
    taking = asyncio.ensure_future(buf.take())
    assert await ready(taking)
    assert taking.result() == [1, 2]


async def test_a_batch_stays_open_while_its_source_has_more_ready() -> None:
    idle = [False]
    buf: Buffer[int] = Buffer(
        max_events=100,
        linger_seconds=FOREVER,
        capacity=200,
        source_idle=lambda: idle[0],
    )
    await buf.put(1)
    taking = asyncio.ensure_future(buf.take())
    assert not await ready(taking)
    idle[0] = True  # the reader takes the last record the source had ready
    await buf.put(2)
    assert await asyncio.wait_for(taking, SETTLE) == [1, 2]


async def test_what_is_left_over_from_a_full_batch_is_due_at_once() -> None:
    buf: Buffer[int] = Buffer(max_events=5, linger_seconds=FOREVER, capacity=10)
    for i in range(7):
        await buf.put(i)
    assert await buf.take() == [0, 1, 2, 3, 4]
    rest = asyncio.ensure_future(buf.take())
    assert await ready(rest)
    assert rest.result() == [5, 6]


async def test_take_waits_for_a_first_event_however_long() -> None:
    buf: Buffer[int] = Buffer(max_events=5, linger_seconds=0.0, capacity=10)
    taking = asyncio.ensure_future(buf.take())
    assert not await ready(taking)
    await buf.put(1)
    assert await asyncio.wait_for(taking, SETTLE) == [1]


async def test_put_waits_while_the_buffer_is_full_and_resumes_when_a_batch_is_taken() -> None:
    buf: Buffer[int] = Buffer(max_events=2, linger_seconds=FOREVER, capacity=4)
    for i in range(4):
        await buf.put(i)
    fifth = asyncio.ensure_future(buf.put(4))
    assert not await ready(fifth)
    assert await buf.take() == [0, 1]
    await asyncio.wait_for(fifth, SETTLE)
    assert len(buf) == 3


@pytest.mark.parametrize(
    ("max_events", "capacity"),
    [(0, 10), (5, 4)],
    ids=["no room for an event", "capacity below one batch"],
)
def test_a_buffer_that_could_never_hand_over_a_batch_is_refused(
    max_events: int, capacity: int
) -> None:
    with pytest.raises(ValueError, match=r"max_events|capacity"):
        Buffer(max_events=max_events, linger_seconds=0.0, capacity=capacity)


async def jittery(items: list[int], seed: int) -> AsyncIterator[int]:
    rnd = random.Random(seed)
    for item in items:
        for _ in range(rnd.choice((0, 0, 1, 3))):
            await asyncio.sleep(0)
        yield item


@pytest.mark.parametrize("seed", range(5))
async def test_batches_keep_every_event_once_in_order_and_never_exceed_the_size(
    seed: int,
) -> None:
    items = list(range(500))
    rnd = random.Random(seed)
    seen: list[list[int]] = []
    gen = batches(jittery(items, seed), max_events=16, linger_seconds=0.0, capacity=32)
    async for batch in gen:
        seen.append(batch)
        for _ in range(rnd.choice((0, 1, 5))):  # an agent busy for a while, or not
            await asyncio.sleep(0)
    assert [i for b in seen for i in b] == items
    assert all(1 <= len(b) <= 16 for b in seen)
    assert max(len(b) for b in seen) > 1  # a busy agent got bigger batches


async def test_an_error_reading_the_stream_reaches_the_agent_after_the_events_before_it() -> None:
    async def failing() -> AsyncIterator[int]:
        yield 1
        yield 2
        raise RuntimeError("broker gone")

    got: list[int] = []
    with pytest.raises(RuntimeError, match="broker gone"):
        async for batch in batches(failing(), max_events=10, linger_seconds=0.0):
            got.extend(batch)
    assert got == [1, 2]


async def test_closing_the_batches_stops_reading_the_stream() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncIterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
                await asyncio.sleep(0)
        finally:
            closed.set()

    gen = batches(endless(), max_events=4, linger_seconds=0.0)
    first = await gen.__anext__()
    await gen.aclose()
    assert first[0] == 0
    assert closed.is_set()
