"""The composition root of a worker: Faust app, scoring loop, ticker and web API on one runtime.

Faust is used for what it is good at (group membership, fetching, committing, the web
server); state lives in Redis (never in Faust tables) and every record is consumed as raw
bytes and validated by the handler, so a poison record cannot be acked unseen.

Everything here is construction and wiring; what runs lives beside it: the scoring loop
(streams/scoring_loop.py), the ticker (streams/ticker.py: every ``RISKMON_TICK_SECONDS``, the
class snapshot and lag gauge, and a re-evaluation record for a partition idle for
``RISKMON_IDLE_SECONDS``; time-driven class changes otherwise follow each partition's event
time, in the store), the watermark check after a rebalance (streams/rewind.py) and the HTTP
routes (api/, mounted on Faust's web server).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from faust.web.drivers.aiohttp import Web as AiohttpWeb
from prometheus_client import CollectorRegistry

from alerts.delivery import ProducerSink, Topics
from alerts.warnings import WarningsError
from alerts.warnings import load as load_warnings
from api.aiohttp_adapter import mount
from api.routes import WorkerDeps, secured, worker_routes
from schemas.alerts import AreaKind
from scoring.fold import EnterpriseState, Params
from scoring.model import ScoringModel
from scoring.store import AreaRow, MembersPage, Store, area_rows, region_members
from security.audit import AuditRecord
from security.limits import RateLimiter
from security.roles import Principal
from security.store.audit import Chain, recent
from streams import scoring_loop
from streams.access import audit_key, audit_log, authenticator
from streams.connections import faust_credentials, redis_options, web_ssl_context
from streams.handler import Handler
from streams.kafka_transport import RiskmonApp
from streams.metrics import Metrics
from streams.redis_client import connect_async
from streams.rewind import check_after_rebalance
from streams.runtime import Runtime
from streams.settings import ConfigError, Settings
from streams.ticker import AreaTicker, tick
from streams.topics import partition_for
from supervision.config import load as load_supervision
from supervision.exceptions import ConfigError as SupervisionConfigError
from supervision.records import ObservationRecord
from supervision.store.readers import SupervisionReader
from supervision.store.store import SupervisionStore

__all__ = ["build"]

#: Whole batches the intake buffer holds before the consumer waits for the scoring loop.
_BUFFERED_BATCHES = 2


def build(settings: Settings, *, bootstrap: str, redis_url: str, model: ScoringModel) -> Runtime:
    """The worker, built and wired but not started (``rt.app.main()`` or a Faust worker
    starts it). Loads the supervision configuration (``RISKMON_SUPERVISION_PATH``, unset: the
    default) and the early-warning rules (``RISKMON_WARNINGS_PATH``, unset: the shipped
    ``alerts/warnings/default.toml``): a bad file fails here, naming the field."""
    s = settings
    try:
        supervision_config = load_supervision(s.supervision_path)
    except SupervisionConfigError as exc:  # the command prints it and exits 2, as for settings
        raise ConfigError(f"RISKMON_SUPERVISION_PATH: {exc}") from exc
    try:
        warnings_config = load_warnings(s.warnings_path)
    except WarningsError as exc:
        raise ConfigError(f"RISKMON_WARNINGS_PATH: {exc}") from exc
    app = RiskmonApp(
        s.group_id,
        fetch_max_wait_ms=s.fetch_max_wait_ms,
        broker=[f"kafka://{h.strip()}" for h in bootstrap.split(",")],
        store="memory://",
        autodiscover=False,
        web_enabled=True,
        web_bind=s.web_host,
        web_host=s.web_host,
        web_port=s.web_port,
        # Faust's own pages (router, tables, graph, stats) would answer without credentials:
        # off. The API's routes are riskmon's, each behind its role (api/routes.py).
        web_router_enabled=False,
        web_tables_enabled=False,
        web_graph_enabled=False,
        web_stats_enabled=False,
        web_application_options={"client_max_size": s.max_request_bytes},
        web_ssl_context=web_ssl_context(s),
        broker_credentials=faust_credentials(s),
        datadir=str(s.data_dir),
        topic_partitions=s.partitions,
        topic_replication_factor=s.replication_factor,
        topic_disable_leader=True,
        broker_session_timeout=s.session_timeout_seconds,
        broker_heartbeat_interval=min(1.0, s.session_timeout_seconds / 3),
        consumer_auto_offset_reset="earliest",
        consumer_group_instance_id=s.instance_id,
        producer_acks=-1,
    )
    params = Params.of(model)
    client = connect_async(
        redis_url, socket_timeout=5, socket_connect_timeout=2, **redis_options(s)
    )
    store = Store(
        client,
        prefix=s.redis_prefix,
        params=params,
        partitions=s.partitions,
        ledger_window=s.ledger_window,
    )
    supervision = SupervisionStore(
        client,
        prefix=s.redis_prefix,
        config=supervision_config,
        model_version=model.version,
        lateness=params.lateness,
        audit_key=audit_key(s),
        warnings=warnings_config,
        thresholds=params.thresholds,
    )
    registry = CollectorRegistry()
    snapshot: dict[str, int] = {}
    metrics = Metrics.create(registry, lambda: snapshot)
    metrics.set_model_version(model.version)
    areas = AreaTicker.create(warnings_config, registry)  # regional and industry warnings
    handler = Handler(
        store=store,
        model=model,
        sink=ProducerSink(app),
        metrics=metrics,
        topics=Topics(
            alerts=s.alerts_topic, tasks=s.tasks_topic, dlq=s.dlq_topic, reminders=s.reminders_topic
        ),
        partitions=s.partitions,
        max_event_bytes=s.max_event_bytes,
        retry_max_seconds=s.retry_max_seconds,
        fault_crash_after_batches=s.fault_crash_after_batches,
        decode_processes=s.decode_processes,
        supervision=supervision,
    )
    rt = Runtime(s, model, app, client, store, handler, registry, metrics, snapshot)
    rt.supervision = supervision
    rt.bootstrap = bootstrap
    _wire(rt, areas)
    _mount_api(rt)
    return rt


def _wire(rt: Runtime, areas: AreaTicker) -> None:
    s, app = rt.settings, rt.app
    events = app.topic(
        s.events_topic,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=s.partitions,
    )
    for name in (s.alerts_topic, s.tasks_topic, s.dlq_topic, s.reminders_topic):
        app.topic(name, key_serializer="raw", value_serializer="raw", partitions=s.partitions)

    # Read a fetch at a time by the scoring loop, not through an agent's stream: see BulkTopic.
    bulk = app.bulk_topic(
        events, max_events=s.batch_max_events, capacity=_BUFFERED_BATCHES * s.batch_max_events
    )

    @app.task  # type: ignore[untyped-decorator]
    async def score() -> None:
        await scoring_loop.run(rt, bulk)

    @app.task  # type: ignore[untyped-decorator]
    async def start_decoder() -> None:
        await rt.handler.start()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # mode types async receivers badly
    async def on_assigned(sender: Any, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        assigned = args[0] if args else kwargs.get("assigned", ())
        parts = sorted(tp.partition for tp in assigned if tp.topic == s.events_topic)
        now = time.time()
        for p in parts:  # idle, for the ticker, counts from here at the earliest
            rt.assigned_at[p] = now
        if parts:
            # Faust seeks to the committed offsets after this signal; check once it has. Their
            # records wait for the check (the gate), so none is applied before it.
            bulk.gate.assigned(parts)
            task = asyncio.ensure_future(check_after_rebalance(rt, parts, bulk.gate))
            rt.background.add(task)
            task.add_done_callback(rt.background.discard)

    @app.timer(s.tick_seconds, name="riskmon.ticker")  # type: ignore[untyped-decorator]
    async def ticker() -> None:
        await tick(rt, areas)


def _mount_api(rt: Runtime) -> None:
    """The worker's routes (api.routes) on Faust's web server, which is aiohttp's."""

    s = rt.settings
    supervision = SupervisionReader(rt.redis, prefix=s.redis_prefix, partitions=s.partitions)

    async def read_state(uscc: str) -> EnterpriseState | None:
        return await rt.store.get(partition_for(uscc.encode(), s.partitions), uscc)

    async def read_observation(uscc: str) -> ObservationRecord | None:
        return await supervision.observation(uscc, partition_for(uscc.encode(), s.partitions))

    audit = audit_log(s, rt.redis)
    rt.audit = audit

    async def record(who: Principal, action: str, target: str, details: Mapping[str, Any]) -> None:
        await audit.append(who.actor, action, target, details)

    async def read_areas(kind: AreaKind) -> list[AreaRow]:
        return await area_rows(rt.redis, rt.store.keys, s.partitions, kind)

    async def read_region(code: str, limit: int, after: str | None) -> MembersPage:
        return await region_members(
            rt.redis, rt.store.keys, s.partitions, code, limit=limit, after=after
        )

    async def read_audit(chain: str, count: int) -> list[AuditRecord]:
        return await recent(rt.redis, Chain.of(s.redis_prefix, chain), count)

    async def publish(key: bytes, value: bytes) -> None:
        # The worker's own producer (started with the app); the events topic's partitioner
        # puts the key on the enterprise's partition, as for every other producer.
        ack = await rt.app.producer.send(s.events_topic, key, value, None, None, [])
        await ack

    deps = WorkerDeps(
        read_state=read_state,
        model=rt.model,
        registry=rt.registry,
        progress=rt.progress,
        stall_seconds=rt.settings.stall_seconds,
        ping_redis=rt.redis.ping,
        assigned=rt.events_partitions,
        read_observation=read_observation,
        supervision=supervision,
        publish=publish,
        audit=record,
        read_audit=read_audit,
        read_areas=read_areas,
        read_region=read_region,
        partitions=s.partitions,
        metrics_public=s.metrics_public,
    )
    web = rt.app.web
    if not isinstance(web, AiohttpWeb):  # Faust's default driver; the adapter needs it
        raise TypeError(f"the worker's web server must be aiohttp's, not {type(web).__name__}")
    limiter = RateLimiter(s.rate_limit_per_second, s.rate_limit_burst)
    mount(web.web_app, secured(worker_routes(deps), authenticator(s, rt.redis), limiter))
