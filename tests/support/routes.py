"""The worker's route table with stand-in dependencies, for tests that only look at routes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from api.health import ProgressReport
from api.routes import WorkerDeps
from schemas.alerts import AreaKind
from scoring.fold import EnterpriseState
from scoring.model import load_model
from scoring.store import AreaRow, MembersPage
from security.audit import AuditRecord
from security.roles import Principal
from supervision.records import ObservationRecord
from supervision.store.readers import SupervisionReader

MODEL = load_model()


def stub_deps(
    asked: list[str] | None = None,
    *,
    metrics_public: bool = True,
    audited: list[tuple[str, str, str]] | None = None,
) -> WorkerDeps:
    """Deps that know no enterprise (each USCC asked is appended to ``asked``), ping fine,
    record what they audit in ``audited`` (actor, action, target), and fail a test that
    publishes."""
    asked = [] if asked is None else asked
    audited = [] if audited is None else audited

    async def read_audit(chain: str, count: int) -> list[AuditRecord]:
        return []

    async def audit(who: Principal, action: str, target: str, details: Mapping[str, Any]) -> None:
        audited.append((who.actor, action, target))

    async def read_state(uscc: str) -> EnterpriseState | None:
        asked.append(uscc)
        return None

    async def ping() -> bool:
        return True

    def assigned() -> Sequence[int]:
        return [0]

    async def read_observation(uscc: str) -> ObservationRecord | None:
        return None

    async def read_areas(kind: AreaKind) -> list[AreaRow]:
        return []

    async def read_region(code: str, limit: int, after: str | None) -> MembersPage:
        return MembersPage((), None)

    async def publish(key: bytes, value: bytes) -> None:
        raise AssertionError("nothing is published here")

    return WorkerDeps(
        read_state=read_state,
        model=MODEL,
        registry=CollectorRegistry(),
        progress=lambda: ProgressReport(lag=0, seconds_since_progress=1.0),
        stall_seconds=60.0,
        ping_redis=ping,
        assigned=assigned,
        read_observation=read_observation,
        # Never connects unless a test asks a route that reads tasks.
        supervision=SupervisionReader(aioredis.Redis(), prefix="unused", partitions=1),
        publish=publish,
        audit=audit,
        read_audit=read_audit,
        read_areas=read_areas,
        read_region=read_region,
        partitions=4,
        metrics_public=metrics_public,
    )
