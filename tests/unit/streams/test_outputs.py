"""A batch's outgoing records: all queued in order, each acked once, only the failed re-sent;
the alerts and tasks of the time-driven changes an event brought about, with stable ids."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from alerts.delivery import SinkUnavailableError, Topics
from alerts.rules import derive
from schemas.alerts import Cause
from schemas.events import TICKER_SOURCE
from scoring.fold import Outcome, Params
from scoring.model import load_model
from scoring.partition import Fired
from scoring.store import Call, Store, StoreResult
from streams.exceptions import FatalError
from streams.handler import Handler
from streams.metrics import Metrics
from streams.planning import Planned, Record


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


# --- the time-driven changes an event brought about ------------------------------------------

FIRM = "91610112MA6TGQ1K2M"  # the event's enterprise
OTHER = "91610113MA6U8X2Y31"  # another enterprise of its partition, whose change fell due
DUE = 1_767_225_600  # 2026-01-01T00:00:00Z
A, B, C, D = 1, 2, 3, 4


class FiredStore(Store):
    """The store as apply.lua answers: each event's result, fired changes included."""

    def __init__(self, results: list[StoreResult]) -> None:
        super().__init__(aioredis.Redis(), prefix="t", params=P, partitions=1)
        self.results = results

    async def execute(self, calls: Sequence[Call]) -> list[StoreResult]:
        return self.results


MODEL = load_model()
P = Params.of(MODEL)


def _fired_handler(results: list[StoreResult]) -> tuple[Handler, FlakySink, CollectorRegistry]:
    sink, registry = FlakySink(), CollectorRegistry()
    handler = Handler(
        store=FiredStore(results),
        model=MODEL,
        sink=sink,
        metrics=Metrics.create(registry, dict),
        topics=Topics(alerts="a", tasks="t", dlq="d"),
        partitions=1,
        max_event_bytes=65_536,
        retry_max_seconds=0.01,
    )
    return handler, sink, registry


def _batch(n: int) -> tuple[list[Record], Planned]:
    """``n`` penalties of FIRM, as the planner would have planned them."""
    records = [Record("e", 0, i, FIRM.encode(), b"{}") for i in range(n)]
    events = [(i, "penalty.imposed", FIRM, "/bureau", f"pen-{i}", DUE + i) for i in range(n)]
    return records, Planned([], events, [])


def _outcome(old: int, new: int, asof: int) -> Outcome:
    return Outcome(old_class=old, new_class=new, score=0, asof=asof, due=0)


def _sent(sink: FlakySink) -> list[dict[str, Any]]:
    return [orjson.loads(v) for v in sink.acked]


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_a_time_driven_change_is_alerted_after_the_event_that_brought_it_about() -> None:
    fired = Fired(OTHER, _outcome(B, A, DUE))
    own = StoreResult("applied", _outcome(A, B, DUE + 5), (fired,))
    handler, sink, _ = _fired_handler([own])
    asyncio.run(handler.finish_batch(*_batch(1)))
    first, second = _sent(sink)
    assert (first["subject"], first["data"]["cause"]["id"]) == (FIRM, "pen-0")
    assert second["subject"] == OTHER
    assert (second["data"]["old_class"], second["data"]["new_class"]) == ("B", "A")
    assert second["data"]["cause"] == {
        "source": TICKER_SOURCE,
        "id": f"{OTHER}@{DUE}",
        "type": "riskmon.reevaluate",
    }
    assert second["data"]["asof"].startswith("2026-01-01T00:00:00")


def test_a_time_driven_change_has_the_id_a_ticker_record_for_it_would_have() -> None:
    # However the change came about (the watermark or an idle partition's ticker record), an
    # auditor sees one alert for it.
    outcome = _outcome(C, B, DUE)
    handler, sink, _ = _fired_handler(
        [StoreResult("applied", _outcome(A, A, DUE), (Fired(OTHER, outcome),))]
    )
    asyncio.run(handler.finish_batch(*_batch(1)))
    ticker = Cause(source=TICKER_SOURCE, id=f"{OTHER}@{DUE}", type="riskmon.reevaluate")
    (expected,) = derive(OTHER, ticker, outcome, MODEL.version)
    assert [m["id"] for m in _sent(sink)] == [expected.id]


def test_a_change_into_d_by_time_alone_makes_an_inspection_task() -> None:
    fired = Fired(OTHER, _outcome(C, D, DUE))
    handler, sink, registry = _fired_handler(
        [StoreResult("applied", _outcome(A, A, DUE), (fired,))]
    )
    asyncio.run(handler.finish_batch(*_batch(1)))
    types = [m["type"] for m in _sent(sink)]
    assert types == ["riskmon.alert.class_changed", "riskmon.task.created"]
    assert _sample(registry, "riskmon_tasks_total", trigger="class_d") == 1


def test_a_duplicate_re_sends_the_same_ids_and_counts_no_change_twice() -> None:
    fired = (Fired(OTHER, _outcome(B, A, DUE)), Fired(FIRM, _outcome(C, B, DUE + 1)))
    first = StoreResult("applied", _outcome(A, C, DUE), fired)
    again = StoreResult("redelivered", _outcome(A, C, DUE), fired)
    handler, sink, registry = _fired_handler([first])
    asyncio.run(handler.finish_batch(*_batch(1)))
    sent_first = [m["id"] for m in _sent(sink)]
    assert len(sent_first) == 3
    handler.store = FiredStore([again])
    sink.acked.clear()
    asyncio.run(handler.finish_batch(*_batch(1)))
    assert [m["id"] for m in _sent(sink)] == sent_first
    assert _sample(registry, "riskmon_time_driven_changes_total") == 2
    for old, new in (("A", "C"), ("B", "A"), ("C", "B")):
        assert (
            _sample(registry, "riskmon_class_transitions_total", from_class=old, to_class=new) == 1
        ), (old, new)
    assert (
        _sample(registry, "riskmon_events_total", type="penalty.imposed", outcome="duplicate") == 1
    )


def test_an_event_that_brings_nothing_about_sends_only_its_own() -> None:
    handler, sink, registry = _fired_handler(
        [StoreResult("applied", _outcome(A, B, DUE)), StoreResult("applied", _outcome(B, B, DUE))]
    )
    asyncio.run(handler.finish_batch(*_batch(2)))
    assert [m["data"]["cause"]["id"] for m in _sent(sink)] == ["pen-0"]
    assert _sample(registry, "riskmon_time_driven_changes_total") == 0
