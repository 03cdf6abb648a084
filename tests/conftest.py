"""Fixtures for tests that talk to real servers: a broker and a Redis for the session.

``RISKMON_TEST_KAFKA_BOOTSTRAP`` / ``RISKMON_TEST_REDIS_URL`` point the suite at existing
servers; otherwise it starts Tansu, and uses the redis-server on 127.0.0.1:6379 if one answers,
else starts its own. Each test isolates its Redis state by key prefix.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from streams.embedded import EmbeddedKafka, EmbeddedRedis


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    given = os.environ.get("RISKMON_TEST_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    with EmbeddedKafka() as kafka:
        yield kafka.bootstrap


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    given = os.environ.get("RISKMON_TEST_REDIS_URL")
    if given:
        yield given
        return
    local = "redis://127.0.0.1:6379/0"
    try:
        client = redis.Redis.from_url(local, socket_connect_timeout=0.5)
        client.ping()
        client.close()
        yield local
        return
    except redis.RedisError:
        pass
    with EmbeddedRedis() as server:
        yield server.url


@pytest.fixture
def key_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    yield prefix
    if "redis_url" in request.fixturenames:
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()
