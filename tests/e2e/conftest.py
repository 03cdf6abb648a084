from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.settings import Settings
from streams.topics import TopicSpec, ensure_topics
from tests.e2e.harness import Worker, worker_env


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
