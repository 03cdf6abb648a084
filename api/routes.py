"""Every HTTP route, in one table: path → handler and the least role that may call it.

A new endpoint is one :class:`Route` here, with its role (``security/roles.py``; ``PUBLIC`` for
the health probes). :func:`secured` puts the guard (:mod:`api.guard`) in front of every handler
of the table, and an adapter (:mod:`api.aiohttp_adapter`) serves it: a route that is not in
this table is not served.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from api.areas import ReadMembers, ReadRows, list_areas, region
from api.audit import ReadRecent, recent_audit
from api.discovery import stats_discovery
from api.enterprises import ReadObservation, ReadState, enterprise
from api.guard import PUBLIC, guarded
from api.health import ProgressReport, healthz, readyz
from api.http import Audit, Handler
from api.metrics import metrics
from api.openapi import document, openapi
from api.task_commands import ACTIONS, Publish, task_command
from api.tasks import get_task, list_tasks
from scoring.model import ScoringModel
from security.authn import Authenticate
from security.limits import RateLimiter
from security.roles import Role
from supervision.store.readers import SupervisionReader

__all__ = ["Route", "WorkerDeps", "secured", "worker_routes"]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    #: aiohttp-style pattern; ``{name}`` segments arrive as ``Request.path_params``.
    path: str
    handler: Handler
    #: The least role that may call it; ``PUBLIC`` (None): anyone, with no credentials.
    role: Role | None


@dataclass(frozen=True, slots=True)
class WorkerDeps:
    """What the worker's routes need from the worker, as plain callables and values."""

    read_state: ReadState
    model: ScoringModel
    registry: CollectorRegistry
    progress: Callable[[], ProgressReport]
    stall_seconds: float
    ping_redis: Callable[[], Awaitable[object]]
    #: This worker's partitions of the events topic.
    assigned: Callable[[], Sequence[int]]
    read_observation: ReadObservation
    #: Tasks and discovery counts, of every partition.
    supervision: SupervisionReader
    #: Publishes a task command on the events topic (keyed by the task's USCC).
    publish: Publish
    #: Records in the audit log what a route must (reads of an explanation, task changes).
    audit: Audit
    #: Reads an audit chain's recent tail (admins' GET /audit/recent).
    read_audit: ReadRecent
    #: Reads the rows of /regions or /industries (``scoring.store.area_rows``).
    read_areas: ReadRows
    #: Reads a page of a division's enterprises in C and D (``scoring.store.region_members``).
    read_region: ReadMembers
    #: Partitions of the events topic (one audit chain each).
    partitions: int
    #: How long a POST on a task waits for the worker to apply its event before answering 202.
    command_wait_seconds: float = 5.0
    #: Whether /metrics answers without credentials (RISKMON_METRICS_PUBLIC).
    metrics_public: bool = True


def worker_routes(d: WorkerDeps) -> tuple[Route, ...]:
    """The routes a worker serves, and its OpenAPI description of them all."""
    table = _worker_routes(d)
    described = [(r.method, r.path, r.role) for r in table]
    described.append(("GET", "/openapi.json", Role.VIEWER))
    doc = document(described)
    return (*table, Route("GET", "/openapi.json", functools.partial(openapi, doc=doc), Role.VIEWER))


def _worker_routes(d: WorkerDeps) -> tuple[Route, ...]:
    return (
        Route(
            "GET",
            "/enterprises/{uscc}",
            functools.partial(
                enterprise,
                read_state=d.read_state,
                model=d.model,
                read_observation=d.read_observation,
                audit=d.audit,
            ),
            Role.VIEWER,  # contributions and explanations only from analyst up
        ),
        Route(
            "GET", "/tasks", functools.partial(list_tasks, reader=d.supervision), Role.SUPERVISOR
        ),
        Route(
            "GET",
            "/tasks/{task_id}",
            functools.partial(get_task, reader=d.supervision),
            Role.SUPERVISOR,
        ),
        *(
            Route(
                "POST",
                f"/tasks/{{task_id}}/{action}",
                functools.partial(
                    task_command,
                    action=action,
                    reader=d.supervision,
                    publish=d.publish,
                    audit=d.audit,
                    wait_seconds=d.command_wait_seconds,
                ),
                Role.SUPERVISOR,
            )
            for action in ACTIONS
        ),
        Route(
            "GET",
            "/stats/discovery",
            functools.partial(stats_discovery, read_counts=d.supervision.discovery_counts),
            Role.ANALYST,
        ),
        Route(
            "GET",
            "/regions",
            functools.partial(list_areas, kind="division", read_rows=d.read_areas),
            Role.ANALYST,
        ),
        Route(
            "GET",
            "/regions/{code}",
            functools.partial(region, read_members=d.read_region),
            Role.ANALYST,
        ),
        Route(
            "GET",
            "/industries",
            functools.partial(list_areas, kind="industry", read_rows=d.read_areas),
            Role.ANALYST,
        ),
        Route(
            "GET",
            "/audit/recent",
            functools.partial(recent_audit, read_recent=d.read_audit, partitions=d.partitions),
            Role.ADMIN,
        ),
        Route(
            "GET",
            "/metrics",
            functools.partial(metrics, registry=d.registry),
            PUBLIC if d.metrics_public else Role.VIEWER,
        ),
        Route(
            "GET",
            "/healthz",
            functools.partial(healthz, progress=d.progress, stall_seconds=d.stall_seconds),
            PUBLIC,
        ),
        Route(
            "GET",
            "/readyz",
            functools.partial(readyz, ping_redis=d.ping_redis, assigned=d.assigned),
            PUBLIC,
        ),
    )


def secured(
    routes: Sequence[Route], authenticate: Authenticate, limiter: RateLimiter | None = None
) -> tuple[Route, ...]:
    """The same routes, each handler behind the guard of its role (and ``limiter``, one for
    all routes)."""
    return tuple(
        Route(r.method, r.path, guarded(r.handler, r.role, authenticate, limiter), r.role)
        for r in routes
    )
