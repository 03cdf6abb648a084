"""The console's Kafka and Redis reads: a reader of topic partitions from given offsets (one
per stream connection), the follower that keeps the alert index, the acknowledgements'
producer, and where an enterprise is registered.

Each stream connection has its own consumer, with no consumer group: it is assigned every
partition of the topics it reads and seeks to the client's cursor, so a reconnecting client
resumes exactly where it was, whatever other clients do. A consumer per connection costs a
few broker connections; a warning centre has tens of screens, not thousands.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from api.enterprises import ReadState
from console.cursor import Position
from console.filters import Place, StreamFilter, place_of
from console.index import AlertIndex
from schemas.codec import dumps, loads
from scoring.exceptions import StoreError

__all__ = ["AckProducer", "IndexFollower", "KafkaAccess", "Places", "RecordReader"]

log = logging.getLogger(__name__)

#: Task messages kept for a page's first rendering.
_TASKS_KEPT: Final = 500
#: Places remembered (an enterprise's registration rarely changes; a bounded cache).
_PLACES_KEPT: Final = 50_000


@dataclass(frozen=True, slots=True)
class KafkaAccess:
    """How to reach the broker: its bootstrap list and aiokafka's TLS/SASL arguments."""

    bootstrap: str
    config: Mapping[str, Any]

    def consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap.split(","),
            group_id=None,
            enable_auto_commit=False,
            **self.config,
        )


def topic_partitions(topics: Iterable[str], partitions: int) -> list[TopicPartition]:
    return [TopicPartition(t, p) for t in topics for p in range(partitions)]


class RecordReader:
    """Reads ``tps`` from a position, keeping the next offset of every partition; never hands
    a record twice, nor one below where it started (a broker may return a whole batch that
    begins before the offset sought)."""

    def __init__(self, access: KafkaAccess, tps: Sequence[TopicPartition]) -> None:
        self._consumer = access.consumer()
        self._tps = list(tps)
        self.position: Position = {}

    async def start(self, position: Position | None, from_beginning: bool = False) -> None:
        """Assign every partition and seek: to ``position``'s offset where it names the
        partition; else to the beginning when a position was given or ``from_beginning``
        (nothing missed), else to the end."""
        await self._consumer.start()
        self._consumer.assign(self._tps)
        for tp in self._tps:
            offset = None if position is None else position.get((tp.topic, tp.partition))
            if offset is not None:
                self._consumer.seek(tp, offset)
            elif position is not None or from_beginning:
                await self._consumer.seek_to_beginning(tp)
            else:
                await self._consumer.seek_to_end(tp)
        for tp in self._tps:
            self.position[(tp.topic, tp.partition)] = await self._consumer.position(tp)

    async def end_offsets(self) -> Position:
        ends = await self._consumer.end_offsets(self._tps)
        return {(tp.topic, tp.partition): o for tp, o in ends.items()}

    async def read(self, timeout_ms: int, max_records: int = 500) -> list[ConsumerRecord[Any, Any]]:
        """The next records (at most ``max_records``; none after ``timeout_ms``), each
        partition's in order; the position moves past each."""
        got = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=max_records)
        out = []
        for tp, records in got.items():
            key = (tp.topic, tp.partition)
            for r in records:
                if r.offset < self.position.get(key, 0):
                    continue
                self.position[key] = r.offset + 1
                out.append(r)
        return out

    async def stop(self) -> None:
        with contextlib.suppress(KafkaError, OSError):
            await self._consumer.stop()


def parse(value: bytes | None) -> dict[str, Any] | None:
    """A record's CloudEvent as a dict (None: not a JSON object)."""
    if not value:
        return None
    try:
        doc = loads(value)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


class IndexFollower:
    """Reads the alerts, tasks and acks topics from their beginning: alerts and
    acknowledgements into ``index``, the newest tasks into ``tasks``; and follows them.
    ``ready`` is set once what the topics held at start has been read. ``position`` is how far
    it has read: a page rendered from the index and the tasks, then streamed from this
    position, misses nothing and shows nothing twice."""

    def __init__(
        self,
        access: KafkaAccess,
        index: AlertIndex,
        *,
        alerts_topic: str,
        tasks_topic: str,
        acks_topic: str,
        partitions: int,
    ) -> None:
        self._access = access
        self.index = index
        self._alerts = alerts_topic
        self._tasks_topic = tasks_topic
        self._acks = acks_topic
        self._tps = topic_partitions((alerts_topic, tasks_topic, acks_topic), partitions)
        self.ready = asyncio.Event()
        #: Notified whenever an acknowledgement is applied (POST .../ack waits on it).
        self.changed = asyncio.Condition()
        self.tasks: deque[dict[str, Any]] = deque(maxlen=_TASKS_KEPT)
        self.position: Position = {}

    async def run(self) -> None:
        """Until cancelled. Run again after a failure, it reads the topics again from their
        beginning: alerts are kept once by id, the first acknowledgement still wins."""
        self.tasks.clear()
        reader = RecordReader(self._access, self._tps)
        try:
            await reader.start(None, from_beginning=True)
            self.position = reader.position
            ends = await reader.end_offsets()
            quiet = 0
            while True:
                records = await reader.read(timeout_ms=300, max_records=2_000)
                quiet = 0 if records else quiet + 1
                acked = False
                for r in records:
                    doc = parse(r.value)
                    if doc is None:
                        continue
                    if r.topic == self._acks:
                        acked = self.index.add_ack(doc) is not None or acked
                    elif r.topic == self._tasks_topic:
                        self.tasks.append(doc)
                    else:
                        self.index.add_alert(doc, r.topic, r.partition, r.offset)
                if acked:
                    async with self.changed:
                        self.changed.notify_all()
                caught_up = all(reader.position.get(k, 0) >= o for k, o in ends.items())
                # The embedded broker can report an end short of its last records: a quiet
                # topic counts as read to its end too.
                if not self.ready.is_set() and (caught_up or quiet >= 2):
                    log.info("console: alert index loaded (%s alerts)", len(self.index))
                    self.ready.set()
        finally:
            await reader.stop()


class AckProducer:
    """Publishes acknowledgements on the acks topic, keyed by the alert id."""

    def __init__(self, access: KafkaAccess, topic: str) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=access.bootstrap.split(","), acks="all", **access.config
        )
        self._topic = topic

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        with contextlib.suppress(KafkaError, OSError):
            await self._producer.stop()

    async def publish(self, alert_id: str, envelope: Mapping[str, Any]) -> None:
        """Send and wait for the broker's ack. Raises aiokafka's KafkaError if it fails."""
        await self._producer.send_and_wait(self._topic, dumps(envelope), key=alert_id.encode())


class Places:
    """Where an enterprise is registered (division, industry), from its scoring state's
    profile (``read_state``: the scoring store's own read), remembered (bounded). Unknown or
    unreadable: (None, None)."""

    def __init__(self, read_state: ReadState) -> None:
        self._read_state = read_state
        self._known: dict[str, tuple[str | None, str | None]] = {}

    async def of(self, uscc: str) -> tuple[str | None, str | None]:
        if uscc in self._known:
            return self._known[uscc]
        try:
            state = await self._read_state(uscc)
        except StoreError:
            return None, None  # not remembered: asked again next time
        place: tuple[str | None, str | None] = (None, None)
        if state is not None and state.profile is not None:
            place = (state.profile.division or None, state.profile.industry or None)
            if len(self._known) >= _PLACES_KEPT:
                self._known.pop(next(iter(self._known)))
            self._known[uscc] = place
        return place

    async def complete(self, place: Place) -> Place:
        """``place`` with what the enterprise's registration adds."""
        if not place.needs_lookup or place.uscc is None:
            return place
        division, industry = await self.of(place.uscc)
        return Place(place.division or division, place.industry or industry, place.uscc)

    async def admitted(self, doc: Mapping[str, Any], wanted: StreamFilter) -> bool:
        """Whether ``doc`` passes ``wanted``: its type, then its place (looked up only when
        the filter names a division or an industry)."""
        etype = str(doc.get("type", ""))
        if not wanted.admits_type(etype):
            return False
        place = place_of(doc)
        if wanted.by_place:
            place = await self.complete(place)
        return wanted.admits(etype, place)
