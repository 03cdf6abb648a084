"""Fixtures for tests that talk to real servers: one broker and one Redis for the session.

``RISKMON_TEST_KAFKA_BOOTSTRAP`` / ``RISKMON_TEST_REDIS_URL`` point the suite at existing servers.
Otherwise it starts Tansu (:class:`local.embedded.EmbeddedKafka`), and uses the redis-server on
127.0.0.1:6379 if one answers PING, else starts its own. Nothing here is autouse: a unit test that
requests none of these fixtures starts no server.

Tests share the session's servers, so each isolates its state: Redis keys under ``key_prefix``
(deleted after the test), topics named with ``topic_prefix``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from local.redis_cluster import LocalRedisCluster
from streams.redis_client import connect
from streams.settings import Settings
from streams.topics import TopicSpec, ensure_topics
from tests.support.binaries import required
from tests.support.harness import Worker, worker_env

_LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """``host:port`` of a Kafka-protocol broker for the whole session."""
    given = os.environ.get("RISKMON_TEST_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    from local.embedded import EmbeddedKafka

    with EmbeddedKafka() as kafka:
        yield kafka.bootstrap


def _answers_ping(url: str) -> bool:
    client = connect(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[LocalRedisCluster]:
    """A Redis Cluster for the whole session: three masters, three replicas, on loopback ports,
    made with ``redis-cli --cluster create`` (:class:`local.redis_cluster.LocalRedisCluster`)."""
    required("redis-cli", "redis-tools")
    with LocalRedisCluster() as cluster:
        yield cluster


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``cluster`` that uses ``redis_url`` runs twice: against the one server, and
    against :func:`redis_cluster` (so a command that would cross slots fails it)."""
    if "redis_url" in metafunc.fixturenames and metafunc.definition.get_closest_marker("cluster"):
        metafunc.parametrize("redis_url", ["server", "cluster"], indirect=True, scope="session")


@pytest.fixture(scope="session")
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """``redis://host:port/db`` of a Redis for the whole session (shared: use ``key_prefix``);
    for the ``cluster`` run of a test marked so, the cluster's ``redis+cluster://`` URL."""
    if getattr(request, "param", "server") == "cluster":
        yield request.getfixturevalue("redis_cluster").url
        return
    given = os.environ.get("RISKMON_TEST_REDIS_URL")
    if given:
        yield given
        return
    if _answers_ping(_LOCAL_REDIS_URL):
        yield _LOCAL_REDIS_URL
        return
    from local.embedded import EmbeddedRedis

    with EmbeddedRedis() as server:
        yield server.url


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh ``t-<12 hex>`` per test; keys ``<prefix>:*`` are deleted after the test.

    The deletion runs only if the test used ``redis_url`` (directly or through another fixture),
    so requesting a prefix alone starts no Redis.
    """
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    yield prefix
    if "redis_url" not in request.fixturenames:
        return
    client = connect(request.getfixturevalue("redis_url"))
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{prefix}:*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                client.unlink(*batch)
                batch.clear()
        if batch:
            client.unlink(*batch)
    finally:
        client.close()


@pytest.fixture
def topic_prefix() -> str:
    """A fresh ``tp-<12 hex>`` per test, for topics the test creates (legal in a topic name).

    Topics are not deleted afterwards: the embedded broker forgets them when the session ends.
    """
    return f"tp-{uuid.uuid4().hex[:12]}"


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--faults=full`` runs the slow fault scenarios too (tests/faults; default: the fast set)."""
    parser.addoption(
        "--faults",
        choices=("fast", "full"),
        default="fast",
        help="fault suite: 'fast' (default, CI) or 'full' (adds R4, R6, R7, R11, long fuzz)",
    )


# --- a worker process against the session's servers, on per-test topics and key prefix ---


@pytest.fixture
def env(kafka_bootstrap: str, redis_url: str, key_prefix: str, tmp_path: Path) -> dict[str, str]:
    e = worker_env(bootstrap=kafka_bootstrap, redis_url=redis_url, prefix=key_prefix, tmp=tmp_path)
    parts = int(e["RISKMON_PARTITIONS"])
    ensure_topics(
        kafka_bootstrap,
        [
            TopicSpec(e[name], parts)
            for name in (
                "RISKMON_EVENTS_TOPIC",
                "RISKMON_ALERTS_TOPIC",
                "RISKMON_TASKS_TOPIC",
                "RISKMON_DLQ_TOPIC",
                "RISKMON_REMINDERS_TOPIC",
            )
        ],
    )
    return e


@pytest.fixture
def settings(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Settings()


@pytest.fixture
def worker(env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    w = Worker(env, tmp_path / "worker.log")
    yield w
    if w.proc is not None and w.proc.poll() is None:
        w.stop()
