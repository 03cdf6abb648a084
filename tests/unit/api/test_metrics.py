"""GET /metrics: the registry's exposition, with the content type Prometheus expects."""

from __future__ import annotations

import asyncio

from prometheus_client import CollectorRegistry, Counter

from api.http import Request
from api.metrics import CONTENT_TYPE, metrics


def test_the_registry_is_served_as_prometheus_text_collected_at_request_time() -> None:
    registry = CollectorRegistry()
    served = Counter("riskmon_example", "An example.", registry=registry)
    served.inc(3)
    r = asyncio.run(metrics(Request(), registry=registry))
    assert r.status == 200
    assert r.headers == {"Content-Type": "text/plain; version=0.0.4; charset=utf-8"}
    assert "riskmon_example_total 3.0" in r.body.decode().splitlines()
    served.inc()
    again = asyncio.run(metrics(Request(), registry=registry))
    assert "riskmon_example_total 4.0" in again.body.decode().splitlines()


def test_content_type_is_the_text_format_0_0_4() -> None:
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"
