"""What one worker process holds, built once by ``streams.app.build`` and shared by the scoring
loop, the ticker, the watermark check and the HTTP routes."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from api.health import ProgressReport
from scoring.model import ScoringModel
from scoring.store import Store
from streams.handler import Handler
from streams.kafka_transport import RiskmonApp
from streams.metrics import Metrics
from streams.settings import Settings

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
    inflight: dict[str, tuple[int, float]] = field(default_factory=dict)
    bootstrap: str = ""
    background: set[asyncio.Future[None]] = field(default_factory=set)

    def events_partitions(self) -> list[int]:
        """This worker's partitions of the events topic, in order."""
        return sorted(
            tp.partition
            for tp in self.app.consumer.assignment()
            if tp.topic == self.settings.events_topic
        )

    def progress(self) -> ProgressReport:
        """Lag on this worker's events partitions (high watermark minus the next offset to
        process; partitions whose watermark is not known yet count 0) and the seconds since the
        last batch. Sets ``riskmon_consumer_lag_records`` as a side effect."""
        lag = 0
        for p in self.events_partitions():
            tp = next(
                t
                for t in self.app.consumer.assignment()
                if t.topic == self.settings.events_topic and t.partition == p
            )
            try:
                high = self.app.consumer.highwater(tp)
            except Exception:
                continue
            done = self.handler.progress.last_offset.get(p, -1) + 1
            if high is not None and high > done:
                lag += high - done
        self.metrics.consumer_lag.set(lag)
        idle = time.time() - (self.handler.progress.last_batch_at or self.handler.started_at)
        return ProgressReport(lag=lag, seconds_since_progress=idle)
