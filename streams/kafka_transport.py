"""Faust's aiokafka transport, with the fetch wait set and a leaner hand-off of records.

The worker's events topic skips Faust's per-record path altogether (:class:`BulkTopic`):
the consumer puts each fetch's records into the worker's intake buffer at once. Faust still
does what it is good at: group membership, fetching, seeking, and committing only offsets
acked without a gap.

Topics read by Faust agents (the bench's ceiling agent) keep the per-record path, with the
two changes below.

The two hand-off changes below cut the worker's CPU per event and raised its rate past
Faust's own ceiling (the README's Measured section has the figures).

Faust creates its worker consumer with ``fetch_max_wait_ms=1500`` hard-coded. A broker that
answers a fetch only when that wait runs out (Tansu does, when less than a batch is waiting)
then adds up to 1.5 s to every event's latency. Real Kafka answers as soon as
``fetch_min_bytes`` (1) is there, so a short wait costs it nothing but some idle fetch
requests.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import faust
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode.services import WaitResults

from streams import eager
from streams.gate import Gate
from streams.intake import Buffer

__all__ = ["BulkTopic", "RiskmonApp"]

#: How often a batch held by the gate looks again (the check takes milliseconds).
_GATE_POLL_SECONDS = 0.005


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        wait_ms: int = getattr(self.app, "riskmon_fetch_max_wait_ms", 1500)
        # aiokafka reads this when the consumer starts (it builds its fetcher then); Faust
        # passes no way to set it.
        consumer._fetch_max_wait_ms = wait_ms
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def on_buffer_full(self, tp: Any) -> None:
        """Keep fetching a partition whose stream buffer is full; the hand-off waits instead.

        Faust would take the partition out of the fetch, and with every partition out, its
        fetcher sleeps a whole second before it looks again (stalls of most of a second, seen
        once hand-off outran the agent). The conductor's hand-off
        then awaits room in the buffer, which holds the fetcher back just as well: memory
        stays bounded by the buffer and aiokafka's one fetch per partition."""

    async def wait_first(self, *coros: Any, timeout: Any = None) -> Any:
        """Service.wait_first, without its four tasks when the first coroutine need not wait.

        Faust hands every record to its stream as ``wait_first(callback(record),
        suspend_flow.wait())``: a task for each, two more for stop and crash, an
        ``asyncio.wait`` and three cancellations, although the hand-off almost never waits.
        Here it runs at once (streams/eager.py); only if it waits (a full buffer, flow
        suspended for a rebalance) does the race against suspend, stop and crash run as
        before, with the hand-off finished by a task."""
        head = coros[0] if coros else None
        if (
            timeout is not None
            or not inspect.iscoroutine(head)
            or self.suspend_flow.is_set()
            or self.should_stop
            or self._crashed.is_set()
        ):
            return await super().wait_first(*coros, timeout=timeout)
        started = eager.start(head)
        if not started.done:
            task = asyncio.ensure_future(eager.finish(head, started))
            return await super().wait_first(task, *coros[1:])
        for other in coros[1:]:
            if inspect.iscoroutine(other):
                other.close()  # never started: no "never awaited" warning
        return WaitResults([head], [started.result], False)

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop, handing each fetch of a :class:`BulkTopic` over at once.

        Without bulk topics this is Faust's own loop. With them, a fetch's records of a bulk
        topic go to its buffer in one :meth:`Buffer.put_many` (raced against a rebalance, as
        Faust races each record's hand-off); records of other topics go to their streams one
        by one, as Faust hands them. Read offsets, gaps, flow control and the consumer
        generation are kept as Faust keeps them.
        """
        bulk: Mapping[str, BulkTopic] = getattr(self.app, "riskmon_bulk_topics", {})
        if not bulk:
            await super()._drain_messages(fetcher)
            return
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                records, active = await self._wait_next_records(1.0)
                await self.sleep(0)  # as Faust: a fetch can return at once, loop after loop
                if records is not None and not self.should_stop:
                    if self.flow_active:
                        await self._deliver(records, active, bulk)
                    else:  # flow stopped during the fetch (a rebalance): re-read them after it
                        try:
                            await self.perform_seek()
                        except Exception as exc:
                            self.log.warning("seek back while flow not active: %r", exc)
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _deliver(
        self,
        records: Mapping[TP, Iterable[Any]],
        active: set[TP] | None,
        bulk: Mapping[str, BulkTopic],
    ) -> None:
        generation = self.app.consumer_generation_id
        to_message = self._to_message
        handed: dict[str, list[Message]] = {}
        for tp, recs in records.items():
            if not self.flow_active or self.app.consumer_generation_id != generation:
                break  # a rebalance began: these are read again from the committed offsets
            if active is not None and tp not in active and tp not in self._buffered_partitions:
                continue
            messages = await self._admit(tp, [to_message(tp, r) for r in recs])
            if tp.topic in bulk:
                handed.setdefault(tp.topic, []).extend(messages)
                continue
            for message in messages:
                await self.wait_first(self.callback(message), self.suspend_flow.wait())
        for topic, messages in handed.items():
            if messages:
                put = bulk[topic].buffer.put_many(messages)
                await self.wait_first(put, self.suspend_flow.wait())
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()

    async def _admit(self, tp: TP, messages: list[Message]) -> list[Message]:
        """Those of ``messages`` at or past the read offset, as Faust's loop keeps them;
        a skipped offset is a gap that commits may pass (a compacted or transactional log)."""
        read = self._read_offset[tp]
        acking = self.app.topics.acks_enabled_for(tp.topic)
        kept: list[Message] = []
        for message in messages:
            offset = message.offset
            if read is None or offset >= read:
                if read and offset - read > 1 and acking:
                    await self._add_gap(tp, read + 1, offset)
                kept.append(message)
                read = offset
        self._read_offset[tp] = read
        return kept


class _Transport(faust_aiokafka.Transport):
    Consumer = _Consumer


class RiskmonApp(faust.App):
    """A Faust app whose worker consumer waits at most ``fetch_max_wait_ms`` per fetch, hands
    records to its streams without a task each, and a fetch at a time to its bulk topics
    (see :class:`_Consumer`)."""

    def __init__(self, *args: Any, fetch_max_wait_ms: int = 20, **kwargs: Any) -> None:
        self.riskmon_fetch_max_wait_ms = fetch_max_wait_ms
        self.riskmon_bulk_topics: dict[str, BulkTopic] = {}
        super().__init__(*args, **kwargs)

    def bulk_topic(self, topic: faust.types.TopicT, *, max_events: int, capacity: int) -> BulkTopic:
        """Subscribe to ``topic`` and read it in bulk (:class:`BulkTopic`), not by an agent."""
        bulk = BulkTopic(self, topic.get_topic_name(), max_events=max_events, capacity=capacity)
        self.riskmon_bulk_topics[bulk.name] = bulk
        self.topics.add(topic)
        return bulk

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)


class BulkTopic:
    """A topic read a fetch at a time, not a record at a time through Faust's streams.

    Faust hands each record to an agent through its conductor (flow control, the producer's
    back-pressure, decoding, an ``Event``, a queue), then the stream's step (sensors, the
    current event, acking). Profiled, that path was the largest part of the worker's time,
    per record, for work a batch needs once; without it the worker catches up faster, on less
    CPU per event, and its latency tail is shorter (the README's Measured section has the runs).

    Here the consumer puts each fetch's records into :attr:`buffer` at once, and the worker's
    scoring loop takes them with :meth:`batches` and acks them with :meth:`ack` once their
    effect is done.
    What Faust's streams guarantee is kept: a record taken is tracked as unacked, so a
    rebalance waits for it (and commits after it) before giving its partition up; records
    left in the buffer when a rebalance begins are dropped unacked (Faust's flow control
    clears the buffer, as it clears stream queues), and so are records of an earlier
    consumer generation: Faust seeks back to the committed offsets and they are read again.
    Commits never pass an offset that was not acked.
    """

    def __init__(self, app: RiskmonApp, name: str, *, max_events: int, capacity: int) -> None:
        self.app = app
        self.name = name
        self.buffer: Buffer[Message] = Buffer(max_events, capacity)
        #: Holds a newly assigned partition's records until its watermark check is done.
        self.gate = Gate()

    async def batches(self) -> AsyncIterator[list[Message]]:
        """Batches of this worker's current records, in each partition's order, each record
        tracked as unacked. Ends only when cancelled."""
        app = self.app
        app.flow_control.manage_queue(self.buffer)  # type: ignore[arg-type]  # any .clear()
        unacked = app.consumer.unacked
        while True:
            batch = await self.buffer.take()
            if not app.flow_control.is_active():
                continue  # a rebalance is under way: read again after it
            while self.gate.holds(batch) and app.flow_control.is_active():
                await asyncio.sleep(_GATE_POLL_SECONDS)
            if not app.flow_control.is_active():
                continue
            generation = app.consumer_generation_id
            current = self.gate.admit([m for m in batch if m.generation_id == generation])
            if current:
                for message in current:
                    unacked.add(message)
                yield current

    def ack(self, messages: Iterable[Message]) -> None:
        """The effect of ``messages`` is done: Faust may commit past them."""
        ack = self.app.consumer.ack
        for message in messages:
            ack(message)
