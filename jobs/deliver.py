"""Delivery into other systems: signed webhooks and Alertmanager, from a Redis outbox.

Two loops in one :class:`Delivery`:

* **Intake.** A Kafka consumer in the group ``<RISKMON_GROUP_ID>-delivery`` reads the alerts
  topic (and the tasks and reminders topics when a subscriber asks for their types). Each
  message is routed (:mod:`alerts.routing`: by CloudEvents type and severity; critical
  warnings, entries into D and area warnings to Alertmanager too) and enqueued in the outbox
  (:mod:`alerts.sinks.outbox`) once per (subscriber, message id). Offsets are committed only
  after the whole fetch is enqueued, so a crash re-reads and the outbox drops the duplicates.
* **Sender.** Entries whose time has come are claimed, tried once each (a webhook signed per
  Standard Webhooks, or an Alertmanager v2 post), and then delivered, rescheduled with
  exponential backoff and jitter, or marked dead past the subscriber's maximum age or attempt
  cap. A receiver down for minutes loses nothing: its entries wait in Redis.

Run it inside another process (the console) with ``Delivery.from_settings(...)``, ``await
start()`` and ``await stop()``; or on its own with :func:`run`. ``Delivery.outbox`` is the
reader ``GET /webhooks/deliveries`` takes (:func:`api.webhooks.list_deliveries`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Literal, cast

import aiohttp
import redis.asyncio as aioredis
from pydantic import ValidationError

from alerts.routing import (
    Profile,
    Routed,
    alertmanager_alert,
    next_attempt,
    routed,
    subscribers_for,
    wants_alertmanager,
)
from alerts.sinks.http import Attempt, post_alertmanager, post_webhook
from alerts.sinks.outbox import DeliveryRecord, NewEntry, Outbox
from alerts.webhooks_config import ALERTMANAGER, DeliveryLimits, WebhooksConfig, load
from schemas.alerts import ClassChanged, WarningRaised
from schemas.codec import dumps
from scoring.store.errors import redis_errors
from scoring.store.keys import Keys
from scoring.store.wire import decode_state
from streams.centre_metrics import DeliveryMetrics
from streams.connections import aiokafka_config, redis_async
from streams.settings import Settings
from streams.topics import partition_for

__all__ = ["Delivery", "console_url", "run"]

log = logging.getLogger(__name__)

#: A claimed entry stays claimed this much longer than its attempt's timeout.
_LEASE_MARGIN_SECONDS: Final = 30.0
#: Finished entries are listed (and dedup re-published messages) this long.
RETENTION_SECONDS: Final = 7 * 86_400
_CLAIM_BATCH: Final = 64
_HOUSEKEEPING_SECONDS: Final = 5.0
_REDIS_RETRY_MAX_SECONDS: Final = 30.0


def console_url(settings: Settings) -> str:
    """Where the console is reached (RISKMON_CONSOLE_URL, else from its host and port)."""
    return settings.console_url or f"http://{settings.web_host}:{settings.console_port}"


class Delivery:
    """The outbox's intake and sender (see the module's docstring). ``clock`` and ``rand``
    are injected for tests; ``start_from`` is where a new consumer group begins: ``latest``
    (a first start does not flood subscribers with history) or ``earliest``."""

    def __init__(
        self,
        *,
        redis: aioredis.Redis,
        prefix: str,
        config: WebhooksConfig,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        alertmanager_url: str | None,
        console: str,
        partitions: int,
        kafka_config: Mapping[str, Any] | None = None,
        metrics: DeliveryMetrics | None = None,
        start_from: Literal["latest", "earliest"] = "latest",
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        poll_seconds: float = 0.5,
    ) -> None:
        self.outbox = Outbox(redis, prefix)
        self.config = config
        self._redis = redis
        self._keys = Keys(prefix)
        self._bootstrap = bootstrap
        self._group = f"{group_id}-delivery"
        self._topics = list(topics)
        self._am_url = alertmanager_url
        self._console = console
        self._partitions = partitions
        self._kafka_config = dict(kafka_config or {})
        self._metrics = metrics
        self._start_from = start_from
        self._clock = clock
        self._rand = rand
        self._poll = poll_seconds
        self._wake = asyncio.Event()
        self._running = False
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None
        self._consumer: Any = None
        limits = [config.alertmanager, *config.subscribers]
        self._lease = max(x.timeout_seconds for x in limits) + _LEASE_MARGIN_SECONDS

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        redis: aioredis.Redis,
        bootstrap: str,
        metrics: DeliveryMetrics | None = None,
        config: WebhooksConfig | None = None,
        **overrides: Any,
    ) -> Delivery:
        """A Delivery as the settings say: the subscribers file (``config``, or read now:
        ``WebhooksConfigError`` names a bad field), the topics its subscribers need,
        Alertmanager's and the console's URLs."""
        config = config if config is not None else load(settings.webhooks_path)
        wanted = {t for s in config.subscribers for t in s.types}
        topics = [settings.alerts_topic]
        if any(t.startswith("riskmon.task.") for t in wanted):
            topics.append(settings.tasks_topic)
        if "riskmon.reminder.sent" in wanted:
            topics.append(settings.reminders_topic)
        kw: dict[str, Any] = {
            "redis": redis, "prefix": settings.redis_prefix, "config": config,
            "bootstrap": bootstrap, "group_id": settings.group_id, "topics": topics,
            "alertmanager_url": settings.alertmanager_url, "console": console_url(settings),
            "partitions": settings.partitions, "kafka_config": aiokafka_config(settings),
            "metrics": metrics,
        }  # fmt: skip
        return cls(**(kw | overrides))

    @property
    def topics(self) -> list[str]:
        return list(self._topics)

    @property
    def has_targets(self) -> bool:
        """Whether anything is delivered at all (a subscriber, or Alertmanager's URL)."""
        return bool(self.config.subscribers) or self._am_url is not None

    async def start(self) -> None:
        """Start the sender, and the consumer if there is anyone to deliver to (it joins its
        group with its first fetch; a group with no committed offsets starts at ``start_from``)."""
        from aiokafka import AIOKafkaConsumer

        self._session = aiohttp.ClientSession()
        self._running = True
        if self.has_targets:
            self._consumer = AIOKafkaConsumer(
                *self._topics,
                bootstrap_servers=self._bootstrap.split(","),
                group_id=self._group,
                enable_auto_commit=False,
                auto_offset_reset=self._start_from,
                **self._kafka_config,
            )
            await self._consumer.start()
            self._tasks.append(asyncio.create_task(self._consume(), name="delivery-intake"))
        self._tasks.append(asyncio.create_task(self._send(), name="delivery-sender"))
        log.info(
            "delivery started: %s subscribers, alertmanager %s, topics %s",
            len(self.config.subscribers),
            "on" if self._am_url else "off",
            ",".join(self._topics) if self._consumer else "none",
        )

    async def stop(self) -> None:
        """Stop both loops (an attempt in flight is abandoned: its lease makes it due again),
        the consumer (without committing more) and the HTTP session."""
        # The flag as well as the cancel: on Python 3.11, asyncio.wait_for can swallow a cancel
        # that lands as its inner wait completes (fixed in 3.12).
        self._running = False
        self._wake.set()
        tasks = [*self._tasks, *self._inflight]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # --- intake -------------------------------------------------------------------------

    async def entries_for(self, value: bytes | None) -> list[NewEntry]:
        """What one published message puts in the outbox ([] for nobody, or for a record
        that is not a riskmon message, which is logged and skipped)."""
        try:
            msg = routed(value or b"")
        except ValidationError as exc:
            # Not the error's text: it may quote the record (a USCC, a name).
            where = ".".join(str(x) for x in exc.errors()[0]["loc"]) if exc.errors() else ""
            log.warning("delivery skips a record that is not a riskmon message (at %s)", where)
            return []
        out = [
            NewEntry(s.id, msg.id, msg.type, msg.severity, msg.body)
            for s in subscribers_for(msg, self.config.subscribers)
        ]
        if self._am_url is not None and wants_alertmanager(msg):
            alert = alertmanager_alert(msg, self._console, await self._profile(msg))
            out.append(NewEntry(ALERTMANAGER, msg.id, msg.type, msg.severity, dumps([alert])))
        return out

    async def _profile(self, msg: Routed) -> Profile | None:
        # A class change carries no division or industry: read the enterprise's stored profile.
        data = msg.envelope.data
        if not isinstance(data, ClassChanged | WarningRaised):
            return None
        if isinstance(data, WarningRaised) and data.division and data.industry:
            return None
        part = partition_for(data.uscc.encode(), self._partitions)
        with redis_errors("reading a profile"):
            raw = await self._redis.hget(self._keys.states(part, data.uscc), data.uscc)
        state = decode_state(cast("bytes | None", raw))
        if state is None or state.profile is None:
            return None
        return Profile(state.profile.division or None, state.profile.industry or None)

    async def _consume(self) -> None:
        consumer = self._consumer
        while self._running:
            fetched = await consumer.getmany(timeout_ms=500, max_records=500)
            records = [r for recs in fetched.values() for r in recs]
            wait, new = 0.5, 0
            while records:
                try:
                    entries = [e for r in records for e in await self.entries_for(r.value)]
                    new = await self.outbox.enqueue(entries, self._clock())
                    break
                except Exception as exc:  # Redis away (or worse): the records wait, uncommitted
                    log.warning("delivery cannot enqueue (retrying in %.1f s): %s", wait, exc)
                    await asyncio.sleep(wait)
                    wait = min(wait * 2, _REDIS_RETRY_MAX_SECONDS)
            if new:
                self._wake.set()
            if records:
                try:
                    await consumer.commit()
                except Exception as exc:  # a rebalance: whoever reads them again dedups
                    log.warning("delivery could not commit its offsets: %s", exc)

    # --- sender -------------------------------------------------------------------------

    async def _send(self) -> None:
        housekeeping, wait = 0.0, 0.5
        while self._running:
            try:
                now = self._clock()
                if now >= housekeeping:
                    await self._housekeeping(now)
                    housekeeping = now + _HOUSEKEEPING_SECONDS
                room = _CLAIM_BATCH - len(self._inflight)
                fields = await self.outbox.claim(now, self._lease, room) if room > 0 else []
                wait = 0.5
            except Exception as exc:  # Redis away (or refusing): the sender waits, then goes on
                log.warning("delivery cannot reach Redis (retrying in %.1f s): %s", wait, exc)
                await asyncio.sleep(wait)
                wait = min(wait * 2, _REDIS_RETRY_MAX_SECONDS)
                continue
            # Attempts run side by side, so one slow receiver holds up no other delivery.
            for f in fields:
                task = asyncio.create_task(self._attempt_logged(f))
                self._inflight.add(task)
                task.add_done_callback(self._attempt_done)
            if fields:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll):
                    await self._wake.wait()

    async def _housekeeping(self, now: float) -> None:
        await self.outbox.trim(now - RETENTION_SECONDS)
        if self._metrics is not None:
            for state, n in (await self.outbox.counts()).items():
                self._metrics.outbox.labels(state=state).set(n)

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # room for another claim

    async def _attempt_logged(self, field: str) -> None:
        try:
            await self.attempt(field)
        except Exception as exc:  # its lease runs out and it is tried again
            log.warning("delivery could not record an attempt: %s", exc)

    async def attempt(self, field: str) -> DeliveryRecord | None:
        """Try the outbox entry ``field`` once and record the outcome; returns the record as
        stored (None: no such pending entry)."""
        loaded = await self.outbox.load(field)
        if loaded is None or loaded[0].state != "pending":
            return None
        rec, body = loaded
        limits = self.config.limits(rec.subscriber)
        result = None if limits is None or body is None else await self._post(rec, body, limits)
        now = self._clock()
        if limits is None or result is None:
            why = "subscriber no longer in the webhooks file"
            if limits is not None and rec.subscriber == ALERTMANAGER:
                why = "RISKMON_ALERTMANAGER_URL is not set"
            new = rec.given_up(why, now)
        else:
            if self._metrics is not None:
                self._metrics.seconds.observe(result.seconds)
            n = rec.attempts + 1
            at = None if result.ok else next_attempt(n, rec.enqueued_at, now, limits, self._rand)
            new = rec.after(result.ok, result.status, result.error, now, at)
        if new.state == "pending":
            await self.outbox.retry(new)
        else:
            await self.outbox.finish(new)
        outcome = "retried" if new.state == "pending" else new.state
        self._count(rec.subscriber, outcome)
        if outcome != "delivered":
            log.warning(
                "delivery of %s to %s: %s after %s attempts (%s)",
                rec.message_id,
                rec.subscriber,
                outcome,
                new.attempts,
                new.last_error,
            )
        return new

    async def _post(
        self, rec: DeliveryRecord, body: bytes, limits: DeliveryLimits
    ) -> Attempt | None:
        assert self._session is not None, "start() first"
        timeout = limits.timeout_seconds
        if rec.subscriber == ALERTMANAGER:
            if self._am_url is None:
                return None
            return await post_alertmanager(
                self._session, self._am_url, body, timeout_seconds=timeout
            )
        sub = self.config.subscriber_by_id(rec.subscriber)
        if sub is None:
            return None
        at = dt.datetime.fromtimestamp(self._clock(), dt.UTC)
        secret = sub.secret.get_secret_value()
        return await post_webhook(
            self._session, sub.url, secret, rec.message_id, body, at=at, timeout_seconds=timeout
        )

    def _count(self, subscriber: str, outcome: str) -> None:
        if self._metrics is None:
            return
        self._metrics.deliveries.labels(subscriber=subscriber, outcome=outcome).inc()
        if subscriber == ALERTMANAGER:
            self._metrics.alertmanager_posts.labels(outcome=outcome).inc()


async def run(settings: Settings, stop: asyncio.Event, **overrides: Any) -> None:
    """Deliver until ``stop`` is set: the standalone form (``RISKMON_KAFKA_BOOTSTRAP`` and
    ``RISKMON_REDIS_URL`` must be set; the console passes its own connections to
    :meth:`Delivery.from_settings` instead). ``overrides`` (``metrics=``...) go there too.
    Raises ValueError if either is missing, ``WebhooksConfigError`` for a bad file."""
    if not settings.kafka_bootstrap or not settings.redis_url:
        raise ValueError("delivery needs RISKMON_KAFKA_BOOTSTRAP and RISKMON_REDIS_URL")
    client = redis_async(settings)
    try:
        delivery = Delivery.from_settings(
            settings, redis=client, bootstrap=settings.kafka_bootstrap, **overrides
        )
        await delivery.start()
        try:
            await stop.wait()
        finally:
            await delivery.stop()
    finally:
        await client.aclose()
