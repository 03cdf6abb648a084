"""What one worker process holds, built once by ``streams.app.build`` and shared by the scoring
loop, the ticker, the watermark check and the HTTP routes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from faust.exceptions import ConsumerNotStarted
from faust.types import TP
from prometheus_client import CollectorRegistry

from api.health import ProgressReport
from scoring.model import ScoringModel
from scoring.store import Store
from security.store.audit import AuditLog
from streams.handler import Handler
from streams.kafka_transport import RiskmonApp
from streams.metrics import Metrics
from streams.settings import Settings
from supervision.store.store import SupervisionStore

__all__ = ["Runtime"]


@dataclass
class Runtime:
    """Everything one worker process holds."""

    settings: Settings
    model: ScoringModel
    app: RiskmonApp
    redis: aioredis.Redis
    store: Store
    handler: Handler
    registry: CollectorRegistry
    metrics: Metrics
    class_snapshot: dict[str, int] = field(default_factory=dict)
    #: events partition -> when it was last assigned to this worker (Unix s, wall clock)
    assigned_at: dict[int, float] = field(default_factory=dict)
    #: events partition -> when the ticker last published into it (Unix s, wall clock)
    nudged_at: dict[int, float] = field(default_factory=dict)
    bootstrap: str = ""
    #: Supervision's state (tasks, observation periods, its due index); None: not run.
    supervision: SupervisionStore | None = None
    background: set[asyncio.Future[None]] = field(default_factory=set)
    #: The audit log the API records in; the ticker forwards it to the audit topic.
    audit: AuditLog | None = None
    #: When (wall clock) and what the ticker last anchored in the audit log.
    anchored_at: float = 0.0
    anchored_target: str = ""

    def events_partitions(self) -> list[int]:
        """This worker's partitions of the events topic, in order (none before its consumer
        has started: /readyz then says not ready, rather than failing)."""
        events = self.settings.events_topic
        return sorted(tp.partition for tp in self._assignment() if tp.topic == events)

    def _assignment(self) -> set[TP]:
        # Empty until the consumer has started (the web server may be asked before it is).
        try:
            return set(self.app.consumer.assignment())
        except ConsumerNotStarted:
            return set()

    def partition_lag(self) -> dict[int, int | None]:
        """Per events partition of this worker: records not processed yet (high watermark
        minus the next offset to process), None while its high watermark is not known."""
        progress = self.handler.progress
        lag: dict[int, int | None] = {}
        for tp in self._assignment():
            if tp.topic != self.settings.events_topic:
                continue
            try:
                high = self.app.consumer.highwater(tp)
            except Exception:
                high = None
            next_offset = progress.next_offset(tp.partition)
            lag[tp.partition] = None if high is None else max(0, high - next_offset)
        return lag

    def progress(self) -> ProgressReport:
        """Lag on this worker's events partitions (:meth:`partition_lag`; partitions whose
        high watermark is not known yet count 0) and the seconds since the last batch. Sets
        ``riskmon_consumer_lag_records`` as a side effect."""
        lag = sum(n for n in self.partition_lag().values() if n)
        self.metrics.consumer_lag.set(lag)
        idle = time.time() - (self.handler.progress.last_batch_at or self.handler.started_at)
        return ProgressReport(lag=lag, seconds_since_progress=idle)
