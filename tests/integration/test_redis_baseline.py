"""benchmarks/redis_baseline.py: redis-benchmark runs apply.lua itself, each call a new event
(behaviour only: no speed is judged)."""

from __future__ import annotations

import shutil
from urllib.parse import urlsplit

import pytest

from benchmarks import redis_baseline
from streams.redis_client import connect

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        shutil.which("redis-benchmark") is None,
        reason="redis-benchmark is not installed (Debian package redis-tools)",
    ),
]


def test_every_call_applies_a_new_event_and_nothing_is_left_behind(redis_url: str) -> None:
    url = urlsplit(redis_url)
    client = connect(redis_url)
    before = {k for k in client.scan_iter(match="bench-*", count=1000)}
    try:
        requests, pipeline = 2_000, 32
        f = redis_baseline.run(url.hostname or "127.0.0.1", url.port or 6379, requests, pipeline)
        assert f["redis_benchmark_events_per_second"] > 0
        # One ledger entry per call: the script did the work of a new event every time (a
        # client may send its last pipeline past the requests asked for).
        assert 0.99 * requests <= f["distinct_events_applied"] <= requests + pipeline
        assert {k for k in client.scan_iter(match="bench-*", count=1000)} == before
    finally:
        client.close()
