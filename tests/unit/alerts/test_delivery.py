"""Delivery: the envelope of each output, and the producer sink's errors as retryable ones."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest

from alerts.delivery import (
    ProducerSink,
    SinkUnavailableError,
    Topics,
    dead_letter,
    message_record,
)
from alerts.rules import Message
from streams.planning import Record

TOPICS = Topics(alerts="riskmon.alerts", tasks="riskmon.tasks", dlq="riskmon.dlq")


@pytest.mark.parametrize(
    ("kind", "topic"), [("alert", "riskmon.alerts"), ("task", "riskmon.tasks")]
)
def test_alerts_and_tasks_go_to_their_topics_with_cloudevents_headers(
    kind: str, topic: str
) -> None:
    msg = Message(kind=kind, id="id-1", type="riskmon.x", key=b"k", value=b"v")  # type: ignore[arg-type]
    assert message_record(msg, TOPICS) == (
        topic,
        b"k",
        b"v",
        [("ce_id", b"id-1"), ("ce_type", b"riskmon.x")],
    )


def test_a_dead_letter_keeps_the_record_and_says_why_and_where_from() -> None:
    rec = Record("riskmon.events", 3, 41, b"key", b"\xffnot json", headers=[("trace", b"t1")])
    topic, key, value, headers = dead_letter(rec, "not_json", "x" * 5000, TOPICS.dlq)
    assert (topic, key, value) == ("riskmon.dlq", b"key", b"\xffnot json")
    got = dict(headers)
    assert got["trace"] == b"t1"  # the producer's own headers travel with it
    assert got["dlq_reason"] == b"not_json"
    assert got["dlq_detail"] == b"x" * 1000  # a header, not a log: cut
    assert (got["dlq_topic"], got["dlq_partition"], got["dlq_offset"]) == (
        b"riskmon.events",
        b"3",
        b"41",
    )


class _Producer:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[object, ...]] = []

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: list[tuple[str, bytes]],
    ) -> Awaitable[object]:
        if self.error is not None:
            raise self.error
        self.sent.append((topic, key, value, partition, timestamp, headers))
        ack: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        ack.set_result("acked")
        return ack


class _App:
    def __init__(self, producer: _Producer) -> None:
        self.producer = producer


def test_the_producer_sink_queues_with_the_default_partitioner_and_returns_the_ack() -> None:
    producer = _Producer()

    async def go() -> object:
        ack = await ProducerSink(_App(producer)).enqueue("t", b"k", b"v", (("h", b"1"),))
        return await ack

    assert asyncio.run(go()) == "acked"
    # No partition: Kafka's partitioner places alerts by key, as every riskmon producer does.
    assert producer.sent == [("t", b"k", b"v", None, None, [("h", b"1")])]


def test_a_producer_that_does_not_take_the_record_is_unavailable_not_fatal() -> None:
    sink = ProducerSink(_App(_Producer(TimeoutError("buffer full"))))
    with pytest.raises(SinkUnavailableError, match="buffer full"):
        asyncio.run(sink.enqueue("t", b"k", b"v", ()))
