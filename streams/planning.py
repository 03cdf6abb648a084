"""Decoding and planning: Kafka records in, a batch of apply.lua calls out (pure but for the pool).

:func:`plan` validates each record (:func:`validate_record`), scores it with the model and
plans the batch as one Lua call per partition. It runs inline, or in :class:`DecodePool`'s
processes beside the event loop, so that this CPU work and the loop's I/O overlap instead of
taking turns. Everything that crosses to a decode process is picklable: :class:`Planner` once,
then :data:`WireRecord` rows in and :class:`Planned` out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import concurrent.futures.process
import multiprocessing
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from schemas.codec import CreditEvent, decode_event
from schemas.events import TICKER_SOURCE, EventType
from schemas.exceptions import DeadLetterReason, InvalidEventError
from scoring.changes import change_for
from scoring.model import ScoringModel
from scoring.store import ApplyRequest, Call, Keys, plan_calls
from streams.exceptions import FatalError
from streams.lifetime import die_with
from streams.topics import partition_for

__all__ = [
    "DecodePool",
    "Planned",
    "Planner",
    "Record",
    "WireRecord",
    "plan",
    "validate_record",
]


@dataclass(slots=True)
class Record:
    """One consumed Kafka record, as the handler sees it (no Faust types)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: float | None = None
    headers: Sequence[tuple[str, bytes]] = ()


def validate_record(rec: Record, partitions: int, max_event_bytes: int) -> CreditEvent:
    """Decode and check one record; raises InvalidEventError (dead-letter it) if it is bad.

    Beyond the schema: the Kafka key must be the subject and the record must sit in the
    partition Kafka's murmur2 partitioner gives for it, because all state of an enterprise
    lives under its partition's hash tag; and only riskmon's ticker (``TICKER_SOURCE``) may
    ask to re-evaluate.
    """
    event = decode_event(rec.value, max_event_bytes)
    if event.type == EventType.REEVALUATE and event.source != TICKER_SOURCE:
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


@dataclass(frozen=True, slots=True)
class Planner:
    """What turning records into Redis calls needs; sent once to the decode process."""

    model: ScoringModel
    keys: Keys
    params: str
    partitions: int
    max_event_bytes: int


@dataclass(slots=True)
class Planned:
    """A batch validated, scored and planned as apply.lua calls (picklable).

    ``events`` has one row per planned event, in call order: (record index, type, subject,
    source, id, event time in Unix seconds); ``dead`` one per refused record: (record index,
    reason, detail). ``details`` has one row per row of ``events``, in the same order, with
    what supervision needs of the event beyond those: (its partition, its ledger hash, its data
    model, its time's UTC offset in seconds east).
    """

    calls: list[Call]
    events: list[tuple[int, str, str, str, str, int]]
    dead: list[tuple[int, DeadLetterReason, str]]
    details: list[tuple[int, str, BaseModel, int]] = field(default_factory=list)


def _utc_offset(ev: CreditEvent) -> int:
    off = ev.time.utcoffset()
    return int(off.total_seconds()) if off is not None else 0


#: (topic, partition, offset, key, value) of a record: what crosses to the decode process.
WireRecord = tuple[str, int, int, bytes | None, bytes | None]


def plan(records: Sequence[WireRecord], planner: Planner) -> Planned:
    """Validate, score and plan ``records`` (pure; raises FatalError on a scoring-rule bug)."""
    pl = planner
    dead: list[tuple[int, DeadLetterReason, str]] = []
    requests: list[ApplyRequest] = []
    rows: list[tuple[int, str, str, str, str, int]] = []
    details: list[tuple[int, str, BaseModel, int]] = []
    for i, (topic, partition, offset, key, value) in enumerate(records):
        rec = Record(topic, partition, offset, key, value)
        try:
            ev = validate_record(rec, pl.partitions, pl.max_event_bytes)
        except InvalidEventError as exc:
            dead.append((i, exc.reason, exc.detail))
            continue
        try:
            change = change_for(ev, pl.model)
        except Exception as exc:  # a rule bug, not bad data: the event validated
            raise FatalError(f"scoring rule failed: {exc!r}") from exc
        requests.append(ApplyRequest(ev.subject, partition, offset, change))
        rows.append((i, str(ev.type), ev.subject, ev.source, ev.id, ev.epoch_seconds))
        details.append((partition, change.event_hash, ev.data, _utc_offset(ev)))
    calls, order = plan_calls(pl.keys, pl.params, requests)
    return Planned(calls, [rows[j] for j in order], dead, [details[j] for j in order])


_PLANNER: Planner | None = None


def _init_decoder(planner: Planner, parent: int) -> None:
    global _PLANNER
    _PLANNER = planner
    die_with(parent)


def _plan_in_decoder(records: list[WireRecord]) -> Planned:
    assert _PLANNER is not None, "the decode process was started without its planner"
    return plan(records, _PLANNER)


class DecodePool:
    """Processes that validate and score batches beside the event loop (their own cores), so
    that this work and the loop's overlap instead of taking turns. Spawned at the first batch.
    """

    def __init__(self, planner: Planner, processes: int = 1) -> None:
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),  # no fork of a threaded process
            initializer=_init_decoder,
            initargs=(planner, os.getpid()),
        )
        self._spawned = False

    async def plan(self, wire: list[WireRecord]) -> Planned:
        """:func:`plan` of ``wire`` in a decode process; FatalError if the process died."""
        loop = asyncio.get_running_loop()
        try:
            if self._spawned:
                return await loop.run_in_executor(self._pool, _plan_in_decoder, wire)
            # The first submit spawns the decode processes. A Ctrl-C reaches the whole process
            # group, and the parent alone decides when they end: they are born ignoring SIGINT
            # (inherited through exec), even while they are still importing.
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                pending = loop.run_in_executor(self._pool, _plan_in_decoder, wire)
            finally:
                signal.signal(signal.SIGINT, previous)
            self._spawned = True
            return await pending
        except concurrent.futures.process.BrokenProcessPool as exc:
            raise FatalError(f"the decode process died: {exc!r}") from exc

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
