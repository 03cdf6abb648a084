"""Delivery: the worker's outputs as outgoing records, and the sinks that take them.

The rules (:mod:`alerts.rules`) decide *what* to say; this module decides *where* it goes and
in what envelope: alerts and tasks to their topics with CloudEvents headers, refused input
records to the dead-letter topic with the reason beside their original bytes. A sink takes
one record at a time, in order, and hands back an ack to await; Kafka's producer is the only
sink today (webhooks and Alertmanager will join it here).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Protocol

from alerts.rules import Message
from schemas.exceptions import DeadLetterReason
from security.masking import scrub

__all__ = [
    "Consumed",
    "Outgoing",
    "ProducerSink",
    "Sink",
    "SinkUnavailableError",
    "Topics",
    "dead_letter",
    "message_record",
]

#: An outgoing record: topic, key, value, headers.
Outgoing = tuple[str, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]

#: Dead-letter details are cut to this many characters (a header, not a log).
_DETAIL_CHARS = 1000


class SinkUnavailableError(Exception):
    """The sink did not take an outgoing record now (retryable)."""


class Sink(Protocol):
    async def enqueue(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> Awaitable[object]:
        """Hand one record to the producer, in order; the awaitable returned completes when
        the broker has acked it, or raises if it did not take it. Raises SinkUnavailableError
        if the record cannot even be queued now."""


class _Producer(Protocol):
    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: list[tuple[str, bytes]],
    ) -> Awaitable[object]: ...


class _HasProducer(Protocol):
    @property
    def producer(self) -> _Producer: ...


class ProducerSink:
    """Queues records on a Kafka producer (the worker's Faust app's); each ack is a future.

    Takes the producer's owner, not the producer, and looks the producer up at each record:
    the app creates it only when it starts.
    """

    def __init__(self, owner: _HasProducer) -> None:
        self._owner = owner

    async def enqueue(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> Awaitable[object]:
        try:
            return await self._owner.producer.send(topic, key, value, None, None, list(headers))
        except Exception as exc:  # aiokafka raises KafkaError subclasses and asyncio timeouts
            raise SinkUnavailableError(repr(exc)) from exc


@dataclass(frozen=True, slots=True)
class Topics:
    """Where the worker's outputs go."""

    alerts: str
    tasks: str
    dlq: str
    reminders: str = "riskmon.reminders"


def message_record(msg: Message, topics: Topics) -> Outgoing:
    """An output as a record: its topic by kind, CloudEvents id and type as headers."""
    topic = {"alert": topics.alerts, "task": topics.tasks, "reminder": topics.reminders}[msg.kind]
    return (topic, msg.key, msg.value, [("ce_id", msg.id.encode()), ("ce_type", msg.type.encode())])


class Consumed(Protocol):
    """The input record a dead letter carries back (``streams.planning.Record`` is one)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Sequence[tuple[str, bytes]]: ...


def dead_letter(rec: Consumed, reason: DeadLetterReason, detail: str, dlq: str) -> Outgoing:
    """``rec`` unchanged (key, bytes, headers) to the ``dlq`` topic, with why and where from
    as headers: a re-sent dead letter carries the same ``dlq_partition``/``dlq_offset``, so a
    consumer can tell it is the same one. ``detail`` is scrubbed of ID numbers it may echo
    from the record (``security/masking.py``): the record's own bytes are kept as they came."""
    headers = [
        *rec.headers,
        ("dlq_reason", reason.encode()),
        ("dlq_detail", scrub(detail)[:_DETAIL_CHARS].encode()),
        ("dlq_topic", rec.topic.encode()),
        ("dlq_partition", str(rec.partition).encode()),
        ("dlq_offset", str(rec.offset).encode()),
    ]
    return (dlq, rec.key, rec.value, headers)
