"""The worker's intake: records handed over a fetch at a time, taken a batch at a time.

The consumer (streams/kafka_transport.py) puts each fetch's records in at once
(:meth:`Buffer.put_many`); the scoring loop (streams/scoring_loop.py) takes what is there
when it has room for another batch (:meth:`Buffer.take`), up to ``max_events``. So a batch is
what arrived while the loop worked on the ones before: one fetch when the worker keeps up,
bigger batches the busier it is, and no wait of the intake's own (an idle worker takes a fetch
as soon as it lands).

It replaced Faust's ``take_events(max, within)``, which starts its window only when the agent
asks and takes nothing in while the agent works; latency is lower this way (the README's
Measured section has the figures).

At most ``capacity`` records wait; when that many do, :meth:`Buffer.put_many` waits for the
scoring loop, which holds the consumer's fetcher back, so memory stays bounded. A rebalance empties
the buffer (:meth:`Buffer.clear`, through Faust's flow control): those records were never
taken, so never acked, and are fetched again from the committed offsets.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Sequence
from typing import Generic, TypeVar

__all__ = ["Buffer"]

T = TypeVar("T")


class Buffer(Generic[T]):
    """A bounded FIFO between one producer (:meth:`put_many`) and one consumer (:meth:`take`)."""

    def __init__(self, max_events: int, capacity: int) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        if capacity < max_events:
            raise ValueError("capacity must hold at least one whole batch")
        self.max_events = max_events
        self.capacity = capacity
        self._items: collections.deque[T] = collections.deque()
        self._taker: asyncio.Future[None] | None = None  # take() waiting for a first item
        self._putter: asyncio.Future[None] | None = None  # put_many() waiting for room

    def __len__(self) -> int:
        return len(self._items)

    async def put_many(self, items: Sequence[T]) -> None:
        """Add ``items`` in order, waiting for room whenever ``capacity`` are buffered.

        Cancelled while it waits, the items not yet added are not added.
        """
        start = 0
        while start < len(items):
            room = self.capacity - len(self._items)
            if room <= 0:
                self._putter = asyncio.get_running_loop().create_future()
                try:
                    await self._putter
                finally:
                    self._putter = None
                continue
            self._items.extend(items[start : start + room])
            start += room
            _wake(self._taker)

    async def take(self) -> list[T]:
        """The oldest buffered items, at least one and at most ``max_events``; waits for a
        first one however long."""
        while not self._items:
            self._taker = asyncio.get_running_loop().create_future()
            try:
                await self._taker
            finally:
                self._taker = None
        n = min(len(self._items), self.max_events)
        popleft = self._items.popleft
        batch = [popleft() for _ in range(n)]
        _wake(self._putter)
        return batch

    def clear(self) -> None:
        """Drop everything buffered (a rebalance began); a waiting :meth:`put_many` goes on."""
        self._items.clear()
        _wake(self._putter)


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)
