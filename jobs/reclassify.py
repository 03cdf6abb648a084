"""Reclassify (``riskmon reclassify``): re-evaluate every stored enterprise after a change of
thresholds, caps or horizon.

Each enterprise is evaluated afresh at its own ``asof`` under the new model's numbers by
apply.lua's ``reclassify`` mode (:meth:`Store.reclassify`; the pure reference is
:func:`scoring.fold.reevaluate`), which also keeps the due index and the per-partition class
counts right. Enterprises already evaluated under the new model's version are skipped unless
``force``, so a run can be stopped and started again at any time and a second run does nothing.

Operating rule:

* it covers thresholds, dimension caps and the scheduling horizon. A model whose event points
  (or impact periods) changed needs ``riskmon replay`` into a new prefix: the points are
  fixed in the stored contributions when each event is applied;
* roll the workers to the new model first, then run it: workers stamp every enterprise they
  touch with the new version, so this skips those, and none is left behind under the old one.

Each enterprise whose class changed may get a ``riskmon.alert.class_changed`` alert whose cause
is the model change (source ``/riskmon/reclassify``, id the new model version), so a re-run
sends the very same alert ids. When alerts are sent, each class change is also written to its
partition's outbox in Redis with the state, and deleted once Kafka has acked its alert; a run
cut short between the two leaves it there, and the next run sends it first (consumers drop a
repeated id). No alert is lost, none is sent under two ids. No inspection tasks are sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

from aiokafka.errors import KafkaError

from alerts.rules import Message, derive
from schemas.alerts import Cause
from scoring.fold import Params
from scoring.model import ScoringModel
from scoring.store import CLASS_NAMES, ReclassifyPage, ReclassifyResult, Store
from streams.redis_client import connect_async

__all__ = [
    "CAUSE_SOURCE",
    "CAUSE_TYPE",
    "AlertSink",
    "KafkaAlerts",
    "ReclassifyStats",
    "alerts_for",
    "cause_of",
    "reclassify",
    "reclassify_prefix",
]

#: ``cause.source`` and ``cause.type`` of the alerts of a reclassification.
CAUSE_SOURCE = "/riskmon/reclassify"
CAUSE_TYPE = "riskmon.model.changed"
#: State hashes per page (one pipelined round trip of script calls per page): some 8,000
#: enterprises at a million over 12 partitions.
DEFAULT_PAGE = 6
#: Pages whose script calls are sent before the first one's replies are handled: enough that
#: Redis never waits for Python to parse a reply or send alerts.
_AHEAD = 3


@dataclass
class ReclassifyStats:
    """What a run did. ``reevaluated`` excludes enterprises skipped as already evaluated under
    the model's version; ``transitions`` counts (old class, new class) pairs of ``changed``;
    ``classes`` are the enterprises per class afterwards (from the partitions' counts)."""

    scanned: int = 0
    reevaluated: int = 0
    changed: int = 0
    alerts: int = 0
    #: alerts of an earlier run cut short, found in the outbox and sent first (in ``alerts``)
    resent: int = 0
    #: a run without alerts: alerts an earlier run left in the outbox, still unsent
    unsent: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    classes: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def enterprises_per_second(self) -> float:
        return self.scanned / self.seconds if self.seconds > 0 else 0.0


class AlertSink(Protocol):
    async def publish(self, messages: Sequence[Message]) -> None:
        """Send ``messages`` and return once the broker has them all."""


def cause_of(model_version: str) -> Cause:
    """The cause of every alert of a reclassification to ``model_version``."""
    return Cause(source=CAUSE_SOURCE, id=model_version, type=CAUSE_TYPE)


def alerts_for(results: Iterable[ReclassifyResult], model_version: str) -> list[Message]:
    """The class-change alerts of ``results`` (pure; the same results give the same ids)."""
    cause = cause_of(model_version)
    out: list[Message] = []
    for r in results:
        if r.outcome.old_class != r.outcome.new_class:
            out.extend(
                m for m in derive(r.uscc, cause, r.outcome, model_version) if m.kind == "alert"
            )
    return out


class KafkaAlerts:
    """An :class:`AlertSink` on a Kafka topic (aiokafka, acks from all in-sync replicas),
    keyed and headed as the worker sends its alerts. Use as ``async with``."""

    def __init__(self, bootstrap: str, topic: str, config: Mapping[str, Any] | None = None) -> None:
        """``config``: aiokafka's TLS and SASL arguments (``streams.connections``)."""
        from aiokafka import AIOKafkaProducer

        self.topic = topic
        self.bootstrap = bootstrap
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap.split(","), acks="all", linger_ms=5, **(config or {})
        )

    async def __aenter__(self) -> KafkaAlerts:
        from aiokafka.errors import UnknownTopicOrPartitionError

        await self._producer.start()
        try:
            # Fail before anything is written to Redis if the topic is not there.
            await self._producer.partitions_for(self.topic)
        except UnknownTopicOrPartitionError:
            await self._producer.stop()
            raise KafkaError(f"topic {self.topic} does not exist at {self.bootstrap}") from None
        except BaseException:
            await self._producer.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()

    async def publish(self, messages: Sequence[Message]) -> None:
        acks: list[Any] = []
        for m in messages:
            headers = [("ce_id", m.id.encode()), ("ce_type", m.type.encode())]
            acks.append(
                await self._producer.send(self.topic, key=m.key, value=m.value, headers=headers)
            )
        await asyncio.gather(*acks)


async def reclassify(
    store: Store,
    *,
    force: bool = False,
    alerts: AlertSink | None = None,
    page_size: int = DEFAULT_PAGE,
    stats: ReclassifyStats | None = None,
) -> ReclassifyStats:
    """Re-evaluate every enterprise of ``store``'s prefix under ``store.params``, a page of
    state hashes at a time, skipping those already at the params' version unless ``force``.
    Idempotent: a second run changes nothing. Redis is the bottleneck, so it is kept busy: the
    next pages are re-evaluated while the replies (and alerts) of the current one are handled.

    Counts go into ``stats`` (a new one by default) page by page, so a caller whose run failed
    sees how far it got. Raises StoreError (StoreUnavailableError: Redis cannot be reached) or
    what ``alerts`` raises.
    """
    stats = stats if stats is not None else ReclassifyStats()
    version = store.params.version
    started = time.perf_counter()
    in_flight: deque[asyncio.Future[ReclassifyPage]] = deque()

    async def handle(work: asyncio.Future[ReclassifyPage]) -> None:
        page = await work
        stats.scanned += page.scanned
        stats.reevaluated += page.reevaluated
        stats.changed += len(page.changed)
        stats.transitions.update(
            (CLASS_NAMES[r.outcome.old_class], CLASS_NAMES[r.outcome.new_class])
            for r in page.changed
        )
        if alerts is not None and page.changed:
            stats.alerts += await _send(store, alerts, page.changed, version)

    evaluate = functools.partial(store.reclassify, force=force, outbox=alerts is not None)
    if alerts is not None and (left := await store.outbox()):
        by_version: dict[str, list[ReclassifyResult]] = {}
        for r in left:
            by_version.setdefault(r.version, []).append(r)
        for v, results in by_version.items():
            stats.resent += await _send(store, alerts, results, v)
        stats.alerts += stats.resent
    try:
        hashes = store.state_hashes()
        for lo in range(0, len(hashes), page_size):
            in_flight.append(asyncio.ensure_future(evaluate(hashes[lo : lo + page_size])))
            if len(in_flight) > _AHEAD:
                await handle(in_flight.popleft())
        while in_flight:
            await handle(in_flight.popleft())
    finally:
        for pending in in_flight:
            pending.cancel()
        # Collect what was cut short (its own error, if any, is secondary to the one in flight).
        for pending in in_flight:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pending
        stats.seconds += time.perf_counter() - started
    stats.classes = await store.class_counts()
    if alerts is None:
        stats.unsent = len(await store.outbox())
    return stats


async def _send(
    store: Store, alerts: AlertSink, changed: Sequence[ReclassifyResult], version: str
) -> int:
    """Send the alerts of ``changed``, then clear them from the outbox; their number."""
    messages = alerts_for(changed, version)
    await alerts.publish(messages)
    await store.clear_outbox(changed)
    return len(messages)


async def reclassify_prefix(
    redis_url: str,
    prefix: str,
    model: ScoringModel,
    partitions: int,
    *,
    force: bool = False,
    alerts: AlertSink | None = None,
    stats: ReclassifyStats | None = None,
    redis_options: Mapping[str, Any] | None = None,
) -> ReclassifyStats:
    """:func:`reclassify` on its own Redis connection (``redis_options``: TLS files, from
    ``streams.connections``): every enterprise under ``prefix`` (``partitions``: of the events
    topic, for the class counts) to ``model``. No Kafka unless ``alerts`` is given."""
    client = connect_async(
        redis_url, socket_timeout=30, socket_connect_timeout=5, **(redis_options or {})
    )
    try:
        store = Store(client, prefix=prefix, params=Params.of(model), partitions=partitions)
        return await reclassify(store, force=force, alerts=alerts, stats=stats)
    finally:
        await client.aclose()
