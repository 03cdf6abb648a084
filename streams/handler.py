"""One batch of Kafka records in, state updated and alerts out: the testable heart of the worker.

No Faust here: the worker's scoring loop (streams/scoring_loop.py) turns Faust's messages into
:class:`Record` and runs each batch through :meth:`Handler.plan_batch` (decode and plan,
streams/planning.py), :meth:`Handler.apply_planned` and :meth:`Handler.start_outputs`
(:meth:`Handler.handle_batch` does all three), then the metrics are recorded. The batch is done
only when its outputs are acked; the loop then acks its records and Faust commits.

An event's outputs are those of its outcome and of the time-driven class changes it brought
about (its partition's event-time watermark passing their due moment: scoring/partition.py),
which the store reports with it, a duplicate's as its first copy's. So what is sent is a
function of the log alone, whatever the batching, the lag or the crashes.

Supervision (``supervision/``) runs after the scoring write and before the outputs: each
partition's events of the batch, in log order, with their scoring results and messages, are
folded by :class:`~supervision.store.store.SupervisionStore` (its own ledger makes each event's
effect exactly once); an event's supervision messages follow its scoring messages, and its
early warnings (``riskmon.alert.warning``) follow those. Error policy
(docs/reliability.md):

* permanent data errors → dead letter (original key and bytes, headers with the reason), go on;
* Redis or Kafka unavailable → retry the whole batch with capped backoff (it is idempotent),
  letting lag build; nothing is skipped, nothing dead-lettered;
* anything else (a bug, a script error) → :class:`FatalError`: the scoring loop stops the process
  so that no offset past this batch is committed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from alerts.delivery import (
    Outgoing,
    Sink,
    SinkUnavailableError,
    Topics,
    dead_letter,
    message_record,
)
from alerts.rules import Message, event_messages, may_warrant
from schemas.exceptions import DeadLetterReason
from scoring.exceptions import StoreUnavailableError
from scoring.model import ScoringModel
from scoring.store import CLASS_NAMES, Store, StoreResult, top_offsets
from streams.exceptions import FatalError
from streams.metrics import Metrics
from streams.planning import DecodePool, Planned, Planner, Record, WireRecord, plan
from supervision.step import Effects, Input
from supervision.store.store import SupervisionStore

__all__ = ["Applied", "Handler", "Progress", "Record", "supervision_inputs"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: A USCC anywhere in a text: kept out of the log (an individual business's identifies a person).
_USCC = re.compile(r"\b[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}\b")


@dataclass(slots=True)
class Progress:
    """What /healthz and the ticker need to know about this worker's partitions: per
    partition, the last offset processed and when (Unix s, wall clock) a record of it was
    last processed, and the offset its reading started from when it was assigned (the
    committed offset, or where a rewind sought to: what came before was done by whoever held
    it before); and when the last batch was."""

    last_offset: dict[int, int] = field(default_factory=dict)
    last_record_at: dict[int, float] = field(default_factory=dict)
    read_from: dict[int, int] = field(default_factory=dict)
    last_batch_at: float = 0.0

    def next_offset(self, partition: int) -> int:
        """The next offset of ``partition`` this worker has yet to process."""
        return max(self.last_offset.get(partition, -1) + 1, self.read_from.get(partition, 0))


@dataclass(slots=True)
class Applied:
    """A batch written to Redis: the scoring store's result per planned event, what each
    event warrants (per event, in ``Planned.events`` order: scoring's messages, then
    supervision's), and supervision's effects per partition."""

    results: list[StoreResult]
    messages: list[list[Message]]
    effects: list[Effects] = field(default_factory=list)

    def flat(self) -> list[Message]:
        return [m for per_event in self.messages for m in per_event]


def supervision_inputs(
    planned: Planned, results: Sequence[StoreResult], scoring: Sequence[Sequence[Message]]
) -> dict[int, list[tuple[int, Input]]]:
    """Per partition, (index in ``planned.events``, supervision's input) of each planned
    event, in log order. A scoring duplicate is an input too: supervision's own ledger decides
    whether it was applied there (a crash may fall between the two writes). Dead letters are
    not planned events, so they are none."""
    out: dict[int, list[tuple[int, Input]]] = {}
    rows = zip(planned.events, planned.details, results, scoring, strict=True)
    for j, (row, (part, ehash, data, tz_offset), res, msgs) in enumerate(rows):
        _, etype, subject, source, eid, etime = row
        inp = Input(
            ehash=ehash,
            etype=etype,
            uscc=subject,
            source=source,
            event_id=eid,
            time=etime,
            data=data,
            outcome=res.outcome,
            fired=res.fired,
            scoring=tuple(msgs),
            tz_offset=tz_offset,
        )
        out.setdefault(part, []).append((j, inp))
    return out


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
        fault_crash_after_batches: int = 0,
        decode_processes: int = 0,
        clock: Callable[[], float] = time.time,
        supervision: SupervisionStore | None = None,
    ) -> None:
        """``supervision``: the store supervision runs on (None: scoring and alerts only)."""
        self.store = store
        self.supervision = supervision
        self._redos_seen = 0
        self.model = model
        self.sink = sink
        self.metrics = metrics
        self.topics = topics
        self.retry_max_seconds = retry_max_seconds
        self._crash_countdown = fault_crash_after_batches
        self.clock = clock
        self.progress = Progress()
        self.started_at = clock()
        self.planner = Planner(model, store.keys, store.params_arg, partitions, max_event_bytes)
        self._pool = DecodePool(self.planner) if decode_processes > 0 else None

    async def start(self) -> None:
        """Start the decode process now (a spawned interpreter takes a second to import)."""
        if self._pool is not None:
            await self._pool.plan([])

    async def _plan(self, wire: list[WireRecord]) -> Planned:
        if self._pool is None:
            return plan(wire, self.planner)
        return await self._pool.plan(wire)

    async def handle_batch(self, records: Sequence[Record]) -> None:
        """Process ``records`` (in partition order) to completion, or raise FatalError."""
        await self.finish_batch(records, await self.plan_batch(records))

    async def plan_batch(self, records: Sequence[Record]) -> Planned:
        """Validate and score ``records`` (in the decode process, if there is one)."""
        return await self._plan([(r.topic, r.partition, r.offset, r.key, r.value) for r in records])

    async def finish_batch(self, records: Sequence[Record], planned: Planned) -> None:
        """Apply a planned batch to Redis and send its alerts, tasks and dead letters; the
        batch is done (may be committed) only when this returns. Raises FatalError."""
        if not records:
            return
        applied = await self.apply_planned(planned)
        await self.start_outputs(records, planned, applied)

    async def apply_planned(self, planned: Planned) -> Applied:
        """The Redis half of a batch: scoring's write (:meth:`apply_scoring`), then
        supervision's (:meth:`supervise`)."""
        return await self.supervise(planned, await self.apply_scoring(planned))

    async def apply_scoring(self, planned: Planned) -> list[StoreResult]:
        """Scoring's write of a batch (retried while Redis is unavailable; idempotent)."""
        return await self._retry("redis", functools.partial(self.store.execute, planned.calls))

    async def supervise(self, planned: Planned, results: list[StoreResult]) -> Applied:
        """Supervision's write of a batch after scoring's (retried while Redis is unavailable;
        idempotent), and every message the batch sends."""
        applied = await self._supervise(planned, results)
        if self._crash_countdown and any(applied.messages):
            self._crash_countdown -= 1
            if not self._crash_countdown:
                raise FatalError("fault injection: crash after the Redis write, before the commit")
        return applied

    async def _supervise(self, planned: Planned, results: list[StoreResult]) -> Applied:
        scoring = self._scoring_messages(planned, results)
        sup = self.supervision
        if sup is None or not planned.details:
            return Applied(results, scoring)
        by_partition = supervision_inputs(planned, results, scoring)
        parts = sorted(by_partition)

        tops = top_offsets(planned.calls)

        async def one(p: int) -> Effects:
            inputs = [inp for _, inp in by_partition[p]]
            fence, top = self.store.fence(p), tops.get(self.store.keys.meta(p), -1)
            apply = functools.partial(sup.apply, p, inputs, fence, top)
            return await self._retry("redis", apply)

        # Partitions have keys of their own: their writes may overlap.
        effects = await asyncio.gather(*(one(p) for p in parts))
        messages = [list(m) for m in scoring]
        for p, eff in zip(parts, effects, strict=True):
            for (j, _), extra in zip(by_partition[p], eff.messages, strict=True):
                messages[j].extend(extra)
            for ehash, reason in eff.ignored:
                log.warning(
                    "supervision ignored event %s of partition %s: %s",
                    ehash,
                    p,
                    _USCC.sub("<uscc>", reason),
                )
        return Applied(results, messages, list(effects))

    def start_outputs(
        self, records: Sequence[Record], planned: Planned, applied: Applied
    ) -> asyncio.Future[None]:
        """The Kafka half: a task that queues every outgoing record to the producer, in order,
        as soon as the caller yields to the loop; the returned future is done when Kafka has
        acked them all (only then may the batch be committed). Only records Kafka refused are
        sent again, so a partial failure re-sends nothing twice."""
        messages = applied.flat()
        items = [
            self._dead_letter(records[i], reason, detail) for i, reason, detail in planned.dead
        ]
        items += [message_record(msg, self.topics) for msg in messages]

        async def done() -> None:
            await self._send_all(items)
            self._observe(records, planned, applied, messages)

        return asyncio.ensure_future(done())

    async def _send_all(self, items: list[Outgoing]) -> None:
        """Queue ``items`` to the producer in order, then wait for every ack (one batch, not
        a task per record). Those Kafka did not take are sent again, and only those, with
        capped backoff while it is unavailable: lag builds, nothing is skipped."""
        delay = 0.05
        pending = items
        while pending:
            acks: list[Awaitable[object]] = []
            for item in pending:
                try:
                    acks.append(await self.sink.enqueue(*item))
                except SinkUnavailableError:
                    break  # the rest waits for the next round
                except Exception as exc:
                    raise FatalError(f"kafka failed: {exc!r}") from exc
            results = await asyncio.gather(*acks, return_exceptions=True)
            failed = [
                it for it, r in zip(pending, results, strict=False) if isinstance(r, Exception)
            ]
            pending = failed + pending[len(acks) :]
            if pending:
                errors = [r for r in results if isinstance(r, Exception)]
                log.warning(
                    "kafka unavailable, re-sending %d record(s) in %.2fs: %r",
                    len(pending),
                    delay,
                    errors[0] if errors else "not queued",
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)

    def _scoring_messages(
        self, planned: Planned, results: Sequence[StoreResult]
    ) -> list[list[Message]]:
        """Each event's alerts and tasks, then those of the time-driven changes it brought
        about (:func:`~alerts.rules.event_messages`), one list per event. A duplicate's result
        carries its first copy's outcome and changes, so a redelivery re-sends the very same
        ids."""
        out: list[list[Message]] = []
        version = self.model.version
        for (_, etype, subject, source, eid, _), res in zip(planned.events, results, strict=True):
            if res.fired or may_warrant(res.outcome):
                out.append(
                    event_messages(subject, source, eid, etype, res.outcome, res.fired, version)
                )
            else:
                out.append([])
        return out

    def _dead_letter(self, rec: Record, reason: DeadLetterReason, detail: str) -> Outgoing:
        log.warning(
            "dead-lettering %s[%s]@%s: %s: %s", rec.topic, rec.partition, rec.offset, reason, detail
        )
        return dead_letter(rec, reason, detail, self.topics.dlq)

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
        planned: Planned,
        applied: Applied,
        messages: Sequence[Message],
    ) -> None:
        m = self.metrics
        results = applied.results
        now = self.clock()
        m.batch_size.observe(len(records))
        # Count per batch, then touch each labelled child once: labels() is not free.
        events: Counter[tuple[str, str]] = Counter()
        transitions: Counter[tuple[str, str]] = Counter()
        for _i, reason, _detail in planned.dead:
            m.dead_letters.labels(reason=reason).inc()
            events["unknown", "dead_lettered"] += 1
        newest = time_driven = 0
        for (i, etype, *_rest, etime), res in zip(planned.events, results, strict=True):
            events[etype, "duplicate" if res.duplicate else "applied"] += 1
            stamp = records[i].timestamp
            if stamp is not None:
                m.latency.observe(max(0.0, now - stamp))
            newest = max(newest, etime)
            if res.duplicate:
                continue  # its changes were counted when its first copy was applied
            o = res.outcome
            if o.old_class != o.new_class:
                transitions[CLASS_NAMES[o.old_class] or "none", CLASS_NAMES[o.new_class]] += 1
            for f in res.fired:
                o = f.outcome
                if o.old_class != o.new_class:
                    transitions[CLASS_NAMES[o.old_class] or "none", CLASS_NAMES[o.new_class]] += 1
                    time_driven += 1
        for (etype, outcome), n in events.items():
            m.events.labels(type=etype, outcome=outcome).inc(n)
        for (old, new), n in transitions.items():
            m.transitions.labels(from_class=old, to_class=new).inc(n)
        if time_driven:
            m.time_driven_changes.inc(time_driven)
        if newest:
            m.event_time_lag.set(max(0.0, now - newest))
        for msg in messages:
            if msg.kind == "alert":
                m.alerts.labels(type=msg.type).inc()
            elif msg.kind == "reminder":
                m.reminders.inc()
            else:
                m.tasks.labels(trigger=msg.trigger).inc()
        for eff in applied.effects:
            m.observe_supervision(eff.discovery, len(eff.ignored))
            for (rule, severity), n in eff.raised.items():
                m.warnings.labels(rule=rule, severity=severity).inc(n)
        if self.supervision is not None and self.supervision.redos > self._redos_seen:
            m.supervision_redos.inc(self.supervision.redos - self._redos_seen)
            self._redos_seen = self.supervision.redos
        progress = self.progress
        for rec in records:
            prev = progress.last_offset.get(rec.partition, -1)
            progress.last_offset[rec.partition] = max(prev, rec.offset)
            progress.last_record_at[rec.partition] = now
        progress.last_batch_at = now
        m.last_progress.set(now)
