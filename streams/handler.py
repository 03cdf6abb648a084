"""One batch of Kafka records in, state updated and alerts out: the testable heart of the worker.

No Faust here: the agent decodes Faust's events into :class:`Record` and calls
:meth:`Handler.handle_batch`. The batch is done only when this returns; the agent then lets
Faust ack and commit. Error policy (RELIABILITY.md):

* permanent data errors → dead letter (original key and bytes, headers with the reason), go on;
* Redis or Kafka unavailable → retry the whole batch with capped backoff (it is idempotent),
  letting lag build; nothing is skipped, nothing dead-lettered;
* anything else (a bug, a script error) → :class:`FatalError`: the agent stops the process
  so that no offset past this batch is committed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from alerts.rules import Message, derive, may_warrant
from schemas.alerts import Cause
from schemas.codec import CreditEvent, decode_event
from schemas.events import EventType
from schemas.exceptions import InvalidEventError
from scoring.changes import change_for
from scoring.exceptions import StoreUnavailableError
from scoring.model import ScoringModel
from scoring.store import CLASS_NAMES, ApplyRequest, Store, StoreResult
from streams.metrics import Metrics
from streams.topics import partition_for

__all__ = [
    "FatalError",
    "Handler",
    "Record",
    "Sink",
    "SinkUnavailableError",
    "validate_record",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


class FatalError(Exception):
    """Processing cannot go on safely; stop the worker without committing."""


class SinkUnavailableError(Exception):
    """Kafka did not take an outgoing record now (retryable)."""


@dataclass(slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float | None = None
    headers: Sequence[tuple[str, bytes]] = ()


class Sink(Protocol):
    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        """Deliver one record and wait for the broker's ack; raise SinkUnavailableError."""


@dataclass(slots=True)
class Progress:
    """What /healthz and the ticker need to know about this worker's partitions."""

    last_offset: dict[int, int] = field(default_factory=dict)
    last_batch_at: float = 0.0


@dataclass(frozen=True, slots=True)
class Topics:
    alerts: str
    tasks: str
    dlq: str


def validate_record(
    rec: Record, partitions: int, max_event_bytes: int, ticker_source: str
) -> CreditEvent:
    """Decode and check one record; raises InvalidEventError (dead-letter it) if it is bad.

    Beyond the schema: the Kafka key must be the subject and the record must sit in the
    partition Kafka's murmur2 partitioner gives for it, because all state of an enterprise
    lives under its partition's hash tag; and only riskmon's ticker may ask to re-evaluate.
    """
    event = decode_event(rec.value, max_event_bytes)
    if event.type == EventType.REEVALUATE and event.source != ticker_source:
        raise InvalidEventError(
            "unknown_type", f"riskmon.reevaluate is internal; source {event.source!r}"
        )
    key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
    if key != event.subject:
        raise InvalidEventError(
            "misrouted", f"Kafka key {key!r} is not the subject {event.subject!r}"
        )
    expected = partition_for(event.subject.encode(), partitions)
    if rec.partition != expected:
        raise InvalidEventError(
            "misrouted",
            f"in partition {rec.partition}, murmur2 of the key gives {expected}:"
            " the producer must use Kafka's default (murmur2) partitioner",
        )
    return event


class Handler:
    def __init__(
        self,
        *,
        store: Store,
        model: ScoringModel,
        sink: Sink,
        metrics: Metrics,
        topics: Topics,
        partitions: int,
        max_event_bytes: int,
        retry_max_seconds: float = 5.0,
        ticker_source: str = "/riskmon/ticker",
        fault_crash_after_batches: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.model = model
        self.sink = sink
        self.metrics = metrics
        self.topics = topics
        self.partitions = partitions
        self.max_event_bytes = max_event_bytes
        self.retry_max_seconds = retry_max_seconds
        self.ticker_source = ticker_source
        self._crash_countdown = fault_crash_after_batches
        self.clock = clock
        self.progress = Progress()
        self.started_at = clock()

    async def handle_batch(self, records: Sequence[Record]) -> None:
        """Process ``records`` (in partition order) to completion, or raise FatalError."""
        if not records:
            return
        dead: list[tuple[Record, InvalidEventError]] = []
        valid: list[tuple[Record, CreditEvent]] = []
        by_partition: dict[int, list[Record]] = {}
        for rec in records:
            by_partition.setdefault(rec.partition, []).append(rec)
        # One pipeline per partition, sent as soon as its events are decoded: Redis applies it
        # while Python decodes the next partition. Partitions share no keys, and within one
        # partition the order of the log is kept.
        pending: list[asyncio.Future[list[StoreResult]]] = []
        for group in by_partition.values():
            requests = []
            for rec in group:
                try:
                    ev = validate_record(
                        rec, self.partitions, self.max_event_bytes, self.ticker_source
                    )
                except InvalidEventError as exc:
                    dead.append((rec, exc))
                    continue
                try:
                    change = change_for(ev, self.model)
                except Exception as exc:  # a rule bug, not bad data: the event validated
                    raise FatalError(f"scoring rule failed: {exc!r}") from exc
                valid.append((rec, ev))
                requests.append(ApplyRequest(ev.subject, rec.partition, rec.offset, change))
            if requests:
                apply = functools.partial(self.store.apply_batch, requests)
                pending.append(asyncio.ensure_future(self._retry("redis", apply)))
                await asyncio.sleep(0)  # let the pipeline go out before decoding on
        results = [r for group_results in await asyncio.gather(*pending) for r in group_results]
        if self._crash_countdown:
            self._crash_countdown -= 1
            if not self._crash_countdown:
                raise FatalError("fault injection: crash after the Redis write, before the commit")
        messages = self._messages(valid, results)
        # Every outgoing record is acked by Kafka before this batch may be committed; each is
        # retried on its own, so a partial failure re-sends nothing twice.
        sends: list[Callable[[], Awaitable[None]]] = [
            functools.partial(self._dead_letter, rec, err) for rec, err in dead
        ]
        for msg in messages:
            topic = self.topics.alerts if msg.kind == "alert" else self.topics.tasks
            headers = [("ce_id", msg.id.encode()), ("ce_type", msg.type.encode())]
            sends.append(functools.partial(self.sink.send, topic, msg.key, msg.value, headers))
        await asyncio.gather(*(self._retry("kafka", send) for send in sends))
        self._observe(records, valid, results, dead, messages)

    def _messages(
        self, valid: Sequence[tuple[Record, CreditEvent]], results: Sequence[StoreResult]
    ) -> list[Message]:
        out: list[Message] = []
        for (_, ev), res in zip(valid, results, strict=True):
            o = res.outcome
            if not may_warrant(o):
                continue  # skips building a Cause for the common no-news outcome
            cause = Cause(source=ev.source, id=ev.id, type=str(ev.type))
            out.extend(derive(ev.subject, cause, o, self.model.version))
        return out

    async def _dead_letter(self, rec: Record, err: InvalidEventError) -> None:
        headers = [
            *rec.headers,
            ("dlq_reason", err.reason.encode()),
            ("dlq_detail", err.detail[:1000].encode()),
            ("dlq_topic", rec.topic.encode()),
            ("dlq_partition", str(rec.partition).encode()),
            ("dlq_offset", str(rec.offset).encode()),
        ]
        await self.sink.send(self.topics.dlq, rec.key, rec.value, headers)
        log.warning("dead-lettered %s[%s]@%s: %s", rec.topic, rec.partition, rec.offset, err)

    async def _retry(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        delay = 0.05
        while True:
            try:
                return await call()
            except (StoreUnavailableError, SinkUnavailableError) as exc:
                if what == "redis":
                    self.metrics.redis_retries.inc()
                log.warning("%s unavailable, retrying in %.2fs: %s", what, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)
            except Exception as exc:
                raise FatalError(f"{what} failed: {exc!r}") from exc

    def _observe(
        self,
        records: Sequence[Record],
        valid: Sequence[tuple[Record, CreditEvent]],
        results: Sequence[StoreResult],
        dead: Sequence[tuple[Record, InvalidEventError]],
        messages: Sequence[Message],
    ) -> None:
        m = self.metrics
        now = self.clock()
        m.batch_size.observe(len(records))
        # Count per batch, then touch each labelled child once: labels() is not free.
        events: Counter[tuple[str, str]] = Counter()
        transitions: Counter[tuple[str, str]] = Counter()
        for _rec, err in dead:
            m.dead_letters.labels(reason=err.reason).inc()
            events["unknown", "dead_lettered"] += 1
        newest: dt.datetime | None = None
        for (rec, ev), res in zip(valid, results, strict=True):
            events[ev.type, "duplicate" if res.duplicate else "applied"] += 1
            if rec.timestamp is not None:
                m.latency.observe(max(0.0, now - rec.timestamp))
            if newest is None or ev.time > newest:
                newest = ev.time
            o = res.outcome
            if not res.duplicate and o.old_class != o.new_class:
                transitions[CLASS_NAMES[o.old_class] or "none", CLASS_NAMES[o.new_class]] += 1
        for (etype, outcome), n in events.items():
            m.events.labels(type=str(etype), outcome=outcome).inc(n)
        for (old, new), n in transitions.items():
            m.transitions.labels(from_class=old, to_class=new).inc(n)
        if newest is not None:
            m.event_time_lag.set(max(0.0, now - newest.timestamp()))
        for msg in messages:
            if msg.kind == "alert":
                m.alerts.labels(type=msg.type).inc()
            else:
                m.tasks.labels(trigger=msg.trigger).inc()
        for rec in records:
            prev = self.progress.last_offset.get(rec.partition, -1)
            self.progress.last_offset[rec.partition] = max(prev, rec.offset)
        self.progress.last_batch_at = now
        m.last_progress.set(now)
