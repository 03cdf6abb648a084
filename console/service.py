"""``riskmon console`` put together: from settings (and the broker and Redis the command
found) to a serving web application, in a process of its own, never on a worker's loop.

At start the acks topic is created if missing (as ``riskmon run`` creates its topics), the
alert index begins reading the alerts, tasks and acks topics from their beginning, and the
server listens on ``RISKMON_WEB_HOST``:``RISKMON_CONSOLE_PORT``, HTTPS when
``RISKMON_WEB_TLS_CERTFILE``/``_KEYFILE`` are set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from alerts.webhooks_config import WebhooksConfig
from alerts.webhooks_config import load as load_webhooks
from console.deps import AreaKind, ConsoleDeps, ReadAreas
from console.index import AlertIndex
from console.kafka import AckProducer, IndexFollower, KafkaAccess, Places
from console.metrics import ConsoleMetrics
from console.web import build_app
from jobs.deliver import Delivery
from scoring.fold import EnterpriseState, Params
from scoring.model import load_model
from scoring.store import Store
from scoring.store.areas import area_rows
from scoring.store.errors import redis_errors
from security.limits import RateLimiter
from security.roles import Principal
from streams.access import audit_log, authenticator
from streams.centre_metrics import DeliveryMetrics
from streams.connections import aiokafka_config, kafka_python_config, redis_options, web_ssl_context
from streams.redis_client import connect_async
from streams.settings import Settings
from streams.topics import ensure_topics, partition_for, topic_specs
from supervision.records import ObservationRecord
from supervision.store.readers import SupervisionReader

__all__ = ["ensure_acks_topic", "open_console", "serve", "webhooks_config"]

log = logging.getLogger(__name__)


def ensure_acks_topic(s: Settings, bootstrap: str) -> None:
    """Create the acks topic if it is missing, as ``riskmon run`` does (blocking; raises
    ``TopicError``): a console may start against a cluster no run has set up."""
    client = kafka_python_config(s) if s.kafka_bootstrap is not None else {}
    spec = [t for t in topic_specs(s) if t.name == s.acks_topic]
    ensure_topics(bootstrap, spec, client_config=client)


def webhooks_config(s: Settings) -> WebhooksConfig | None:
    """The subscribers file when the console delivers (webhooks or Alertmanager set), read
    and validated (``WebhooksConfigError`` names a bad field); None: nothing to deliver."""
    if s.webhooks_path is None and s.alertmanager_url is None:
        return None
    return load_webhooks(s.webhooks_path)


async def _follow(follower: IndexFollower) -> None:
    # aiokafka retries a broker that goes away by itself; what still escapes (a topic
    # deleted, a broker gone for good) is logged, and the index is read again after a pause.
    while True:
        try:
            await follower.run()
        except (KafkaError, OSError) as exc:
            log.warning("console: reading the alerts failed (%s); again in 5 s", type(exc).__name__)
            await asyncio.sleep(5)


@contextlib.asynccontextmanager
async def open_console(
    s: Settings,
    bootstrap: str,
    redis_url: str,
    read_areas: ReadAreas | None = None,
    webhooks: WebhooksConfig | None = None,
) -> AsyncIterator[ConsoleDeps]:
    """The console's dependencies, its alert index following the topics, until exit;
    ``webhooks`` given (:func:`webhooks_config`), it runs their delivery."""
    access = KafkaAccess(bootstrap, aiokafka_config(s) if s.kafka_bootstrap is not None else {})
    client = connect_async(redis_url, socket_timeout=5, **redis_options(s))
    registry = CollectorRegistry()
    metrics: ConsoleMetrics | None = None

    def acked(seconds: float) -> None:
        if metrics is not None:
            metrics.ack_seconds.observe(seconds)

    index = AlertIndex(on_acked=acked)
    metrics = ConsoleMetrics(registry, index.counts)
    follower = IndexFollower(
        access,
        index,
        alerts_topic=s.alerts_topic,
        tasks_topic=s.tasks_topic,
        acks_topic=s.acks_topic,
        partitions=s.partitions,
    )
    producer = AckProducer(access, s.acks_topic)
    supervision = SupervisionReader(client, prefix=s.redis_prefix, partitions=s.partitions)
    audit = audit_log(s, client)

    async def record(who: Principal, action: str, target: str, details: Mapping[str, Any]) -> None:
        await audit.append(who.actor, action, target, details)

    model = load_model(s.model_path)
    store = Store(client, prefix=s.redis_prefix, params=Params.of(model), partitions=s.partitions)

    async def read_state(uscc: str) -> EnterpriseState | None:
        return await store.get(partition_for(uscc.encode(), s.partitions), uscc)

    async def read_observation(uscc: str) -> ObservationRecord | None:
        return await supervision.observation(uscc, partition_for(uscc.encode(), s.partitions))

    async def areas(kind: AreaKind) -> list[dict[str, Any]]:
        with redis_errors("reading the area counts"):
            return [r.as_json() for r in await area_rows(client, store.keys, s.partitions, kind)]

    deps = ConsoleDeps(
        access=access,
        stream_topics=(s.alerts_topic, s.tasks_topic),
        partitions=s.partitions,
        index=index,
        follower=follower,
        places=Places(read_state),
        publish_ack=producer.publish,
        audit=record,
        authenticate=authenticator(s, client),
        supervision=supervision,
        read_state=read_state,
        read_observation=read_observation,
        model=model,
        metrics=metrics,
        read_areas=read_areas or areas,
        https=web_ssl_context(s) is not None,
        metrics_public=s.metrics_public,
        limiter=RateLimiter(s.rate_limit_per_second, s.rate_limit_burst),
    )
    # Webhooks and Alertmanager are delivered from here, off the scoring loop; with neither
    # configured, nothing is consumed.
    delivery: Delivery | None = None
    if webhooks is not None:
        delivery = Delivery.from_settings(
            s,
            redis=client,
            bootstrap=bootstrap,
            metrics=DeliveryMetrics.create(registry, [sub.id for sub in webhooks.subscribers]),
            config=webhooks,
        )
        deps.read_deliveries = delivery.outbox
    await producer.start()
    following = asyncio.create_task(_follow(follower), name="riskmon-console-index")
    try:
        if delivery is not None:
            await delivery.start()
        yield deps
    finally:
        deps.closing.set()
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following
        if delivery is not None:
            await delivery.stop()
        await producer.stop()
        await client.aclose()


async def serve(
    s: Settings,
    bootstrap: str,
    redis_url: str,
    *,
    read_areas: ReadAreas | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve until SIGINT or SIGTERM; ``announce`` gets the console's URL once it listens.
    A bad webhooks file raises ``WebhooksConfigError`` before anything is reached."""
    webhooks = webhooks_config(s)
    await asyncio.to_thread(ensure_acks_topic, s, bootstrap)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with open_console(s, bootstrap, redis_url, read_areas, webhooks) as deps:
        runner = web.AppRunner(build_app(deps), shutdown_timeout=5, access_log=None)
        await runner.setup()
        tls = web_ssl_context(s)
        site = web.TCPSite(runner, s.web_host, s.console_port, ssl_context=tls)
        await site.start()
        scheme = "https" if tls is not None else "http"
        announce(f"{scheme}://{s.web_host}:{s.console_port}/")
        try:
            await stop.wait()
        finally:
            deps.closing.set()
            await runner.cleanup()
