"""streams/intake.py: the agent takes what the consumer put in, in order, bounded, losing none."""

from __future__ import annotations

import asyncio
import random

import pytest

from streams.intake import Buffer

SETTLE = 5.0  # a generous bound for "returns without waiting for anything more"


async def ready(task: asyncio.Future[object]) -> bool:
    """Whether ``task`` finishes without anything else happening first."""
    for _ in range(3):
        await asyncio.sleep(0)
    return task.done()


async def test_a_fetch_is_taken_whole_as_soon_as_it_is_put_in() -> None:
    buf: Buffer[int] = Buffer(max_events=100, capacity=200)
    await buf.put_many([1, 2, 3])
    taking = asyncio.ensure_future(buf.take())
    assert await ready(taking)
    assert taking.result() == [1, 2, 3]


async def test_an_agent_waiting_for_records_gets_the_next_fetch_at_once() -> None:
    buf: Buffer[int] = Buffer(max_events=100, capacity=200)
    taking = asyncio.ensure_future(buf.take())
    assert not await ready(taking)  # nothing there: it waits, however long
    await buf.put_many([4, 5])
    assert await asyncio.wait_for(taking, SETTLE) == [4, 5]


async def test_what_arrived_while_the_agent_was_busy_is_one_batch_up_to_the_size() -> None:
    buf: Buffer[int] = Buffer(max_events=5, capacity=10)
    await buf.put_many([0, 1, 2])
    await buf.put_many([3, 4, 5, 6])
    assert await buf.take() == [0, 1, 2, 3, 4]
    assert await buf.take() == [5, 6]


async def test_a_fetch_bigger_than_the_room_left_waits_for_the_agent_and_keeps_its_order() -> None:
    buf: Buffer[int] = Buffer(max_events=2, capacity=4)
    putting = asyncio.ensure_future(buf.put_many(list(range(7))))
    assert not await ready(putting)
    assert len(buf) == 4  # bounded: the rest waits in the consumer
    assert await buf.take() == [0, 1]
    assert not await ready(putting)
    assert await buf.take() == [2, 3]
    await asyncio.wait_for(putting, SETTLE)
    assert [await buf.take(), await buf.take()] == [[4, 5], [6]]


async def test_a_put_cancelled_while_it_waits_for_room_adds_nothing_more() -> None:
    # The consumer abandons a hand-off when a rebalance begins.
    buf: Buffer[int] = Buffer(max_events=2, capacity=2)
    putting = asyncio.ensure_future(buf.put_many([0, 1, 2, 3]))
    assert not await ready(putting)
    putting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await putting
    assert await buf.take() == [0, 1]
    assert len(buf) == 0


async def test_clearing_drops_what_was_not_taken_and_lets_a_waiting_put_go_on() -> None:
    # A rebalance: records never taken are read again from the committed offsets.
    buf: Buffer[int] = Buffer(max_events=2, capacity=2)
    putting = asyncio.ensure_future(buf.put_many([0, 1, 2]))
    assert not await ready(putting)
    buf.clear()
    await asyncio.wait_for(putting, SETTLE)
    assert await buf.take() == [2]


@pytest.mark.parametrize(
    ("max_events", "capacity"),
    [(0, 10), (5, 4)],
    ids=["no room for an event", "capacity below one batch"],
)
def test_a_buffer_that_could_never_hand_over_a_batch_is_refused(
    max_events: int, capacity: int
) -> None:
    with pytest.raises(ValueError, match=r"max_events|capacity"):
        Buffer(max_events=max_events, capacity=capacity)


@pytest.mark.parametrize("seed", range(5))
async def test_every_record_is_taken_once_in_order_in_batches_never_over_the_size(
    seed: int,
) -> None:
    items = list(range(2_000))
    rnd = random.Random(seed)
    buf: Buffer[int] = Buffer(max_events=16, capacity=48)

    async def consumer() -> None:
        i = 0
        while i < len(items):
            n = rnd.choice((1, 7, 30, 100))  # fetches of any size, some bigger than the room
            await buf.put_many(items[i : i + n])
            i += n
            for _ in range(rnd.choice((0, 1, 3))):
                await asyncio.sleep(0)

    putting = asyncio.ensure_future(consumer())
    seen: list[list[int]] = []
    while sum(map(len, seen)) < len(items):
        seen.append(await asyncio.wait_for(buf.take(), SETTLE))
        for _ in range(rnd.choice((0, 1, 5))):  # an agent busy for a while, or not
            await asyncio.sleep(0)
    await putting
    assert [i for b in seen for i in b] == items
    assert all(1 <= len(b) <= 16 for b in seen)
    assert max(len(b) for b in seen) > 1  # a busy agent got bigger batches
