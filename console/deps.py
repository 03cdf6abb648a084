"""What the console's routes need, as plain values and callables: the composition root
(``console/service.py``) builds it from settings; tests build it from their own servers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from api.enterprises import ReadObservation, ReadState
from api.http import Audit
from api.webhooks import ReadDeliveries
from console.index import AlertIndex
from console.kafka import IndexFollower, KafkaAccess, Places
from console.metrics import ConsoleMetrics
from scoring.model import ScoringModel
from security.authn import Authenticate
from security.limits import RateLimiter
from supervision.store.readers import SupervisionReader

__all__ = ["AreaKind", "ConsoleDeps", "PublishAck", "ReadAreas"]

AreaKind = Literal["division", "industry"]
#: The rows of the region (``division``) or industry table, each shaped ``{code, enterprises,
#: by_class: {A, B, C, D}, cd_share, d_entries_7d, trend}``.
ReadAreas = Callable[[AreaKind], Awaitable[Sequence[Mapping[str, Any]]]]
#: Publishes an acknowledgement's CloudEvent, keyed by the alert id; raises on failure.
PublishAck = Callable[[str, Mapping[str, Any]], Awaitable[None]]


@dataclass(slots=True)
class ConsoleDeps:
    access: KafkaAccess
    #: The topics the stream reads (alerts, tasks), and their partition count.
    stream_topics: tuple[str, ...]
    partitions: int
    index: AlertIndex
    follower: IndexFollower
    places: Places
    publish_ack: PublishAck
    audit: Audit
    authenticate: Authenticate
    supervision: SupervisionReader
    read_state: ReadState
    read_observation: ReadObservation
    model: ScoringModel
    metrics: ConsoleMetrics
    #: None: the area tables are not wired yet (the page says so).
    read_areas: ReadAreas | None = None
    #: The webhook outbox's deliveries (GET /webhooks/deliveries); None: not served.
    read_deliveries: ReadDeliveries | None = None
    #: Cookies get ``Secure`` (the console serves HTTPS).
    https: bool = False
    metrics_public: bool = True
    heartbeat_seconds: float = 15.0
    #: How long POST .../ack waits to see its acknowledgement come back from the topic.
    ack_wait_seconds: float = 5.0
    #: Requests a principal may make (None: no limit); shared by every route.
    limiter: RateLimiter | None = None
    #: Set when the server stops: open streams end.
    closing: asyncio.Event = field(default_factory=asyncio.Event)
