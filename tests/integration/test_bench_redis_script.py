"""benchmarks/redis_script.py: redis-benchmark applies distinct new events through apply.lua
(behaviour only: no speed is judged)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import redis

from benchmarks import redis_script

pytestmark = pytest.mark.integration

needs_redis_benchmark = pytest.mark.skipif(
    shutil.which("redis-benchmark") is None,
    reason="redis-benchmark is not installed (Debian package redis-tools)",
)


@pytest.fixture
def server(redis_url: str) -> tuple[str, int]:
    url = urlsplit(redis_url)
    return url.hostname or "127.0.0.1", url.port or 6379


@pytest.fixture
def known_prefix(monkeypatch: pytest.MonkeyPatch, redis_url: str) -> Iterator[str]:
    """The benchmark's key prefix, made known to the test; asserts that nothing is left there."""
    token = uuid.uuid4().hex[:12]
    monkeypatch.setattr(redis_script.secrets, "token_hex", lambda _: token)
    yield f"bench-{token}"
    client = redis.Redis.from_url(redis_url)
    try:
        assert list(client.scan_iter(match=f"bench-{token}:*", count=1000)) == []
    finally:
        client.close()


@needs_redis_benchmark
def test_every_call_applies_new_events_and_the_keys_are_deleted(
    server: tuple[str, int], known_prefix: str
) -> None:
    requests, pipeline = 2_000, 32
    f = redis_script.run(*server, requests=requests, pipeline=pipeline, clients=4)
    assert f["redis_benchmark_calls_per_second"] > 0
    assert f["redis_benchmark_events_per_second"] == f["redis_benchmark_calls_per_second"]
    # One ledger entry per call (a rare pair of equal random numbers may share one; a client
    # may send its last pipeline past the requests asked for).
    assert 0.99 * requests <= f["distinct_events_applied"] <= requests + pipeline - 1
    assert 0 <= f["unescape_share_of_call"] < 1
    assert (f["requests"], f["pipeline"], f["clients"], f["events_per_call"]) == (
        requests,
        pipeline,
        4,
        1,
    )
    assert f["redis_benchmark_version"] >= 70_000  # 7.0.0 (``-x``)


@needs_redis_benchmark
def test_several_events_per_call_are_each_new(server: tuple[str, int], known_prefix: str) -> None:
    requests, pipeline, k = 200, 8, 5
    f = redis_script.run(
        *server, requests=requests, pipeline=pipeline, clients=2, events_per_call=k
    )
    assert f["redis_benchmark_events_per_second"] == pytest.approx(
        k * f["redis_benchmark_calls_per_second"]
    )
    assert 0.99 * requests * k <= f["distinct_events_applied"] <= (requests + pipeline - 1) * k


@needs_redis_benchmark
def test_keys_are_deleted_after_an_error(
    server: tuple[str, int], known_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object) -> float:
        raise RuntimeError("redis-benchmark failed (exit 1): boom")

    # The pre-flight calls have written under the prefix by the time redis-benchmark runs.
    monkeypatch.setattr(redis_script, "_redis_benchmark", fail)
    with pytest.raises(RuntimeError, match="boom"):
        redis_script.run(*server, requests=10)


def test_without_redis_benchmark_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(redis_script.shutil, "which", lambda _: None)
    with pytest.raises(RuntimeError, match="redis-tools"):
        redis_script.run("127.0.0.1", 6379, requests=10)
    assert redis_script.main(["--requests", "10"]) == 2
    assert "redis-tools" in capsys.readouterr().err
