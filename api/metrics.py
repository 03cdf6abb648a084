"""``GET /metrics``: the Prometheus text exposition of a registry.

The metrics themselves are defined in the runtime (``streams.metrics``); this is only how a
registry is served.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

from api.http import Request, Response

__all__ = ["CONTENT_TYPE", "metrics", "render"]

#: Content type of :func:`render`'s output (text format 0.0.4, which every Prometheus parses).
CONTENT_TYPE: Final = CONTENT_TYPE_PLAIN_0_0_4


def render(registry: CollectorRegistry) -> bytes:
    """The Prometheus text exposition (served with :data:`CONTENT_TYPE`) of ``registry``."""
    return generate_latest(registry)


async def metrics(request: Request, *, registry: CollectorRegistry) -> Response:
    """200 with every metric of ``registry``, collected now."""
    return Response(200, {"Content-Type": CONTENT_TYPE}, render(registry))
