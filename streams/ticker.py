"""The ticker: the one place where the wall clock moves a partition's time, and only when idle.

A score decays and a contribution expires with time, not with events; the store keeps, per
partition, a sorted set of when each enterprise's class next changes by itself. Those changes
are made in event time, by the events themselves: each partition's watermark (the latest event
time applied from it) passes their due moment inside apply.lua (scoring/partition.py). So the
same log gives the same changes and the same alerts, however fast it is read.

A partition that falls quiet would keep its due changes for ever. So, every
``RISKMON_TICK_SECONDS``, for each partition of this worker that

* has had no record for ``RISKMON_IDLE_SECONDS`` (wall clock; 0: never),
* has nothing left to read (the consumer's high watermark reached, as /healthz computes lag),
* has an enterprise whose change is due by now (less the model's allowed lateness), or a
  supervision entry due by then (a task falling overdue, an observation period expiring, a
  reminder: ``supervision/store/keys.py``'s due index),
* and got no record from the ticker in the last ``RISKMON_IDLE_SECONDS``,

the ticker publishes ONE ``riskmon.reevaluate`` record into that partition, at the current
time (whole seconds), for the enterprise due first (key and subject; id ``<uscc>@<time>``).
Applied like any event, it raises the partition's watermark to now, and every change due by
then is made, in due order. The record is then part of the log: a replay gives the same.

Every tick also refreshes the enterprises-per-class snapshot and the consumer lag gauge, and
hands over to :class:`AreaTicker` (regional and industry warnings, docs/areas.md): at most every
``every_seconds`` (60 s), every worker reads the area counts summed over partitions (two
pipelined round trips of fixed keys) for ``riskmon_area_enterprises``; the worker that owns
partition 0 of the events topic also evaluates the ``[[area]]`` rules
(``alerts/warnings/areas.py``) and sends each warning it has not sent yet on the alerts
topic through the handler's sink. Ids are derived from the rule, the area and the day, so a
rebalance or a restart that sends one again, from this worker or another, sends the same id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiokafka.errors import KafkaError
from faust.exceptions import NotReady
from prometheus_client import CollectorRegistry

from alerts.delivery import SinkUnavailableError, message_record
from alerts.warnings.areas import Area, evaluate
from alerts.warnings.config import DSurge, WarningsConfig
from schemas.alerts import ALERT_REGION
from schemas.codec import dumps
from schemas.events import TICKER_SOURCE
from scoring.exceptions import StoreUnavailableError
from scoring.store.areas import TRAILING_WEEKS, AreaSnapshot, read_areas
from security.audit import ANCHOR, anchor
from security.exceptions import UnavailableError
from security.store.audit import chains, forward, heads
from streams.centre_metrics import AreaCounts, AreaMetrics

if TYPE_CHECKING:  # importing TICKER_SOURCE (replay, tests) need not load Faust
    from streams.runtime import Runtime

__all__ = [
    "TICKER_SOURCE",
    "AreaTicker",
    "Nudge",
    "PartitionView",
    "is_quiet",
    "nudges",
    "reevaluate_event",
    "tick",
]

log = logging.getLogger(__name__)


def reevaluate_event(uscc: str, at: int) -> bytes:
    """The ticker's CloudEvent asking for ``uscc`` to be re-evaluated at ``at`` (Unix s)."""
    when = dt.datetime.fromtimestamp(at, dt.UTC).isoformat()
    return dumps(
        {
            "specversion": "1.0",
            "id": f"{uscc}@{at}",
            "source": TICKER_SOURCE,
            "type": "riskmon.reevaluate",
            "subject": uscc,
            "time": when,
            "datacontenttype": "application/json",
            "data": {"asof": when},
        }
    )


@dataclass(frozen=True, slots=True)
class PartitionView:
    """What the ticker knows of one assigned partition (times: Unix s, wall clock).

    ``quiet_since``: when it last had a record (or was assigned, or the worker started, if
    later); ``caught_up``: every record up to the high watermark has been processed (False
    while the high watermark is not known); ``earliest``: (uscc, due) of the enterprise whose
    time-driven change is due first, None if none is or it was not looked up; ``nudged_at``:
    when the ticker last published into it, None if never.
    """

    partition: int
    quiet_since: float
    caught_up: bool
    earliest: tuple[str, int] | None = None
    nudged_at: float | None = None


@dataclass(frozen=True, slots=True)
class Nudge:
    """One ``riskmon.reevaluate`` record to publish: ``uscc`` at ``at`` into ``partition``."""

    partition: int
    uscc: str
    at: int

    def value(self) -> bytes:
        return reevaluate_event(self.uscc, self.at)


def is_quiet(view: PartitionView, now: float, idle_seconds: float) -> bool:
    """True if ``view``'s partition may get a ticker record, its due changes permitting: idle
    for ``idle_seconds``, read to its end, and not published into for ``idle_seconds``.
    Never when ``idle_seconds`` is 0."""
    if idle_seconds <= 0 or not view.caught_up:
        return False
    if now - view.quiet_since < idle_seconds:
        return False
    return view.nudged_at is None or now - view.nudged_at >= idle_seconds


def nudges(
    views: Iterable[PartitionView], *, now: float, idle_seconds: float, lateness: int = 0
) -> list[Nudge]:
    """The records the ticker publishes at wall-clock ``now``: one per quiet partition
    (:func:`is_quiet`) whose earliest due change is at or before ``now`` less ``lateness``
    (seconds; the model's allowed lateness, so that the record's time does fire it), for that
    enterprise, at ``now`` in whole seconds. Pure."""
    at = int(now)
    return [
        Nudge(v.partition, v.earliest[0], at)
        for v in views
        if v.earliest is not None
        and v.earliest[1] <= at - lateness
        and is_quiet(v, now, idle_seconds)
    ]


def partition_views(rt: Runtime, now: float) -> list[PartitionView]:
    """This worker's events partitions as the ticker sees them (no due lookup yet)."""
    progress = rt.handler.progress
    lag = rt.partition_lag()
    since = rt.handler.started_at
    return [
        PartitionView(
            partition=p,
            quiet_since=max(since, progress.last_record_at.get(p, 0.0), rt.assigned_at.get(p, 0.0)),
            caught_up=lag.get(p) == 0,
            nudged_at=rt.nudged_at.get(p),
        )
        for p in sorted(lag)
    ]


async def _with_earliest(
    rt: Runtime, views: Sequence[PartitionView], now: float
) -> list[PartitionView]:
    """``views`` that could get a record, each with its earliest due change looked up (one
    sorted-set read per quiet partition; busy ones cost nothing)."""
    out = []
    for v in views:
        if not is_quiet(v, now, rt.settings.idle_seconds):
            continue
        due = await rt.store.due(v.partition, int(now), limit=1)
        earliest = due[0] if due else None
        if rt.supervision is not None:
            earliest = await _supervision_first(rt, v.partition, int(now), earliest)
        if earliest is not None:
            out.append(dataclasses.replace(v, earliest=earliest))
    return out


async def _supervision_first(
    rt: Runtime, partition: int, now: int, earliest: tuple[str, int] | None
) -> tuple[str, int] | None:
    """``earliest`` (uscc, due) of a class change, or supervision's first due entry of
    ``partition`` (an overdue task, an observation's expiry, a reminder) if that comes first;
    the record is keyed by the enterprise the entry concerns, which lives in this partition."""
    assert rt.supervision is not None
    first = await rt.supervision.earliest_due(partition, now)
    if first is None or (earliest is not None and earliest[1] <= first[0]):
        return earliest
    uscc = await rt.supervision.uscc_of(partition, first[1])
    return (uscc, first[0]) if uscc is not None else earliest


async def tick(rt: Runtime, areas: AreaTicker | None = None) -> None:
    """One tick: the class snapshot and the lag gauge refreshed, a ``riskmon.reevaluate``
    record published into each partition that :func:`nudges` names, and ``areas``' turn."""
    if rt.app.should_stop:  # stopping: the producer may be gone already
        return
    now = time.time()
    rt.progress()  # keeps riskmon_consumer_lag_records current
    try:
        rt.class_snapshot.update(await rt.store.class_counts())
        views = await _with_earliest(rt, partition_views(rt, now), now)
    except StoreUnavailableError as exc:
        log.warning("ticker: redis unavailable: %s", exc)
        return
    try:
        await _send(rt, views, now, areas)
    except NotReady:
        # SIGTERM stops the producer before the timers: what was not sent is sent by the next
        # tick, of this worker or the partition's next one (each send is idempotent by id)
        log.info("ticker: the producer is not running (the worker is stopping): tick skipped")
    await asyncio.sleep(0)


async def _send(
    rt: Runtime, views: list[PartitionView], now: float, areas: AreaTicker | None
) -> None:
    for n in nudges(
        views, now=now, idle_seconds=rt.settings.idle_seconds, lateness=rt.store.params.lateness
    ):
        # (no USCC in the log: an individual business's code identifies a person)
        log.info("ticker: partition %s idle, raising its event time to %s", n.partition, n.at)
        await rt.app.producer.send(
            rt.settings.events_topic, n.uscc.encode(), n.value(), n.partition, None, None
        )
        rt.nudged_at[n.partition] = now
    if areas is not None:
        await areas.tick(rt, now)
    await forward_audit(rt, now)


async def forward_audit(rt: Runtime, now: float) -> None:
    """The audit records not yet on the audit topic, sent in chain order (every worker does
    it: a record sent twice is a duplicate the verification passes over); and, at most every
    ``RISKMON_AUDIT_ANCHOR_SECONDS`` when a partition chain has moved, an anchor in ``ops``
    that binds their heads."""
    if rt.audit is None:
        return
    s = rt.settings

    async def publish(batch: Sequence[tuple[bytes, bytes]]) -> None:
        # All sent before any ack is awaited: one partition, so the producer keeps their order.
        acks = [await rt.app.producer.send(s.audit_topic, k, v, 0, None, None) for k, v in batch]
        await asyncio.gather(*acks)

    try:
        if now - rt.anchored_at >= s.audit_anchor_seconds:
            found = await heads(rt.redis, s.redis_prefix, s.partitions)
            target, details = anchor(found)
            if target and target != rt.anchored_target:
                await rt.audit.append("riskmon", ANCHOR, target, details)
                rt.anchored_target = target
            rt.anchored_at = now
        await forward(rt.redis, chains(s.redis_prefix, s.partitions), publish)
    except UnavailableError as exc:
        log.warning("ticker: audit records not forwarded, redis unavailable: %s", exc)


@dataclass(slots=True)
class AreaTicker:
    """Regional and industry warnings and gauges of one worker (see the module's docstring).
    ``snapshot``: what ``riskmon_area_enterprises`` exports; ``sent``: warning id -> day, of
    the warnings this worker sent (those of days before yesterday are forgotten)."""

    config: WarningsConfig
    metrics: AreaMetrics
    every_seconds: float = 60.0
    ran_at: float = float("-inf")
    snapshot: list[tuple[str, str, dict[str, int]]] = dataclasses.field(default_factory=list)
    sent: dict[str, int] = dataclasses.field(default_factory=dict)

    @classmethod
    def create(cls, config: WarningsConfig, registry: CollectorRegistry) -> AreaTicker:
        """An area ticker whose metrics are registered on ``registry``."""
        box: list[AreaTicker] = []
        metrics = AreaMetrics.create(registry, lambda: box[0].areas(), [r.id for r in config.area])
        box.append(cls(config, metrics))
        return box[0]

    def areas(self) -> AreaCounts:
        return self.snapshot

    def weeks(self) -> int:
        """Weeks of daily entries the rules need: the last one and the trailing ones."""
        trailing = [r.trailing_weeks for r in self.config.area if isinstance(r, DSurge)]
        return 1 + max([TRAILING_WEEKS, *trailing])

    async def tick(self, rt: Runtime, now: float) -> None:
        """Refresh the snapshot, and on partition 0's worker send the new warnings, at most
        every ``every_seconds``. Redis or Kafka unavailable: logged, tried again next time."""
        if now - self.ran_at < self.every_seconds:
            return
        self.ran_at = now
        try:
            snap = await read_areas(
                rt.redis, rt.store.keys, rt.settings.partitions, weeks=self.weeks()
            )
        except StoreUnavailableError as exc:
            log.warning("ticker: area counts not read, redis unavailable: %s", exc)
            return
        self.snapshot = [(k, c, dict(by)) for (k, c), by in sorted(snap.enterprises.items())]
        if 0 in rt.events_partitions():
            await self._send(rt, snap)

    async def _send(self, rt: Runtime, snap: AreaSnapshot) -> None:
        codes = sorted({*snap.enterprises, *snap.d_daily})
        areas = [
            Area(k, c, snap.enterprises.get((k, c), {}), snap.d_daily.get((k, c), ()))
            for k, c in codes
        ]
        fresh = [
            m
            for m in evaluate(self.config, areas, snap.district(), day=snap.day, asof=snap.asof)
            if m.id not in self.sent
        ]
        handler = rt.handler
        try:
            acks = [await handler.sink.enqueue(*message_record(m, handler.topics)) for m in fresh]
            await asyncio.gather(*acks)
        except (SinkUnavailableError, KafkaError) as exc:
            log.warning("ticker: area warnings not sent, kafka unavailable: %s", exc)
            return
        for m in fresh:
            self.sent[m.id] = snap.day
            kind = "division" if m.type == ALERT_REGION else "industry"
            self.metrics.warnings.labels(rule=m.trigger, kind=kind).inc()
        self.sent = {i: d for i, d in self.sent.items() if d >= snap.day - 1}
