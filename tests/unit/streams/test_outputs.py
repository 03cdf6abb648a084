"""A batch's outgoing records: all queued in order, each acked once, only the failed re-sent."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from alerts.delivery import SinkUnavailableError, Topics
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import Store
from streams.exceptions import FatalError
from streams.handler import Handler
from streams.metrics import Metrics


class FlakySink:
    """A producer whose broker refuses some records: ``nack`` fail once at the ack, ``full``
    once at queueing (its buffer is full). Records what the broker acked, in order."""

    def __init__(self, nack: set[bytes] = frozenset(), full: set[bytes] = frozenset()) -> None:
        self.nack, self.full = set(nack), set(full)
        self.queued: list[bytes] = []
        self.acked: list[bytes] = []

    async def enqueue(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> Awaitable[object]:
        assert value is not None
        if value in self.full:
            self.full.discard(value)
            raise SinkUnavailableError("buffer full")
        self.queued.append(value)
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if value in self.nack:
            self.nack.discard(value)
            ack.set_exception(ConnectionError("broker went away"))
        else:
            self.acked.append(value)
            ack.set_result(None)
        return ack


class BrokenSink(FlakySink):
    async def enqueue(self, *args: object) -> Awaitable[object]:
        raise TypeError("a bug, not an outage")


def _handler(sink: FlakySink) -> Handler:
    model = load_model()
    store = Store(aioredis.Redis(), prefix="t", params=Params.of(model), partitions=1)
    return Handler(
        store=store,
        model=model,
        sink=sink,
        metrics=Metrics.create(CollectorRegistry(), dict),
        topics=Topics(alerts="a", tasks="t", dlq="d"),
        partitions=1,
        max_event_bytes=65_536,
        retry_max_seconds=0.01,
    )


def _items(n: int) -> list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]:
    return [("a", b"k", f"r{i}".encode(), []) for i in range(n)]


def test_every_record_is_acked_once_in_order_when_nothing_fails() -> None:
    sink = FlakySink()
    asyncio.run(_handler(sink)._send_all(_items(5)))
    assert sink.acked == [b"r0", b"r1", b"r2", b"r3", b"r4"]
    assert sink.queued == sink.acked


def test_only_what_kafka_did_not_take_is_sent_again() -> None:
    sink = FlakySink(nack={b"r1", b"r3"}, full={b"r4"})
    asyncio.run(_handler(sink)._send_all(_items(6)))
    assert sorted(sink.acked) == [b"r0", b"r1", b"r2", b"r3", b"r4", b"r5"]
    assert len(sink.acked) == 6, "no record is acked twice"
    # r4 could not be queued, so r5 waited behind it: order within what is sent is kept.
    assert sink.queued[:4] == [b"r0", b"r1", b"r2", b"r3"]
    assert sink.queued.index(b"r4") < sink.queued.index(b"r5")


def test_an_error_that_is_not_an_outage_stops_the_worker() -> None:
    with pytest.raises(FatalError, match="a bug"):
        asyncio.run(_handler(BrokenSink())._send_all(_items(2)))
