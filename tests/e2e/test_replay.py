"""``riskmon replay`` rebuilds, from the event log alone, exactly the state the live worker built:
every enterprise's decoded state and the class counts, the ticker's re-evaluations included,
with dead letters counted and nothing sent anywhere."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import redis
from kafka import KafkaProducer

from district.generator import DistrictSpec, lines
from schemas.codec import loads
from scoring.store import Keys, iter_states
from tests.support.eventlog import seeded_log
from tests.support.harness import ROOT, Worker, read_topic, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def states(client: redis.Redis, prefix: str, partitions: int) -> dict[str, object]:
    return {uscc: s for _, uscc, s in iter_states(client, Keys(prefix), partitions)}


def class_counts(client: redis.Redis, prefix: str, partitions: int) -> dict[str, int]:
    totals: Counter[str] = Counter()
    for p in range(partitions):
        for name, v in zip("ABCD", client.hmget(f"{prefix}:m:{{p{p:03d}}}", *"ABCD"), strict=True):
            totals[name] += int(v or 0)
    return dict(totals)


def replay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "replay", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_replay_gives_the_live_state(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.UTC)
    records = [(r.key, r.value) for r in seeded_log(seed=5, now=now)]
    poison = sum(1 for r in seeded_log(seed=5, now=now) if r.poison)
    spec = DistrictSpec(now=now, enterprises=250, seed=9)
    records += [(loads(v)["subject"].encode(), v) for v in lines(spec)]
    topic = env["RISKMON_EVENTS_TOPIC"]
    prefix = env["RISKMON_REDIS_PREFIX"]
    partitions = int(env["RISKMON_PARTITIONS"])

    worker.start().wait_ready()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    for key, value in records:
        producer.send(topic, key=key, value=value)
    producer.flush(60)
    producer.close()

    # Quiet: every record taken (lag 0) and no new re-evaluation for a while.
    sizes: list[int] = []

    def settled() -> bool:
        sizes.append(len(read_topic(kafka_bootstrap, topic)))
        status, health = worker.get("/healthz")
        return (
            sizes[-1] >= len(records)
            and len(sizes) >= 3
            and sizes[-1] == sizes[-3]
            and status == 200
            and health["lag"] == 0
        )

    wait_for(settled, 120, interval=1.5, what="the worker to finish the log")
    assert worker.stop() == 0
    log = read_topic(kafka_bootstrap, topic)
    reevaluations = [r for r in log if b'"riskmon.reevaluate"' in (r.value or b"")]
    assert reevaluations, "the ticker's events must be in the log for this test to mean much"
    dlq_before = len(read_topic(kafka_bootstrap, env["RISKMON_DLQ_TOPIC"]))
    alerts_before = len(read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"]))
    assert dlq_before == poison

    client = redis.Redis.from_url(redis_url)
    new = f"{prefix}r"
    from_file = f"{prefix}f"
    try:
        done = replay(env, "--prefix", new)
        assert done.returncode == 0, done.stderr
        assert f"replayed {len(log)} record(s)" in done.stdout
        dead = dict(re.findall(r"(\w+) (\d+)", done.stdout.split("re-sent): ")[1].splitlines()[0]))
        assert sum(int(v) for v in dead.values()) == poison
        assert re.search(r"[\d,]+ events/s", done.stdout)

        live = states(client, prefix, partitions)
        assert len(live) == 250 + 50
        assert states(client, new, partitions) == live
        assert class_counts(client, new, partitions) == class_counts(client, prefix, partitions)
        # counted, not re-sent; and a replay alerts no one
        assert len(read_topic(kafka_bootstrap, env["RISKMON_DLQ_TOPIC"])) == dlq_before
        assert len(read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"])) == alerts_before

        # The same log as a JSON-lines file: the same state.
        path = tmp_path / "log.jsonl"
        path.write_bytes(b"".join((r.value or b"") + b"\n" for r in log if r.value))
        done = replay(env, "--prefix", from_file, "--file", str(path))
        assert done.returncode == 0, done.stderr
        assert states(client, from_file, partitions) == live

        # A prefix that already holds state is refused, not mixed into.
        again = replay(env, "--prefix", new)
        assert again.returncode == 2
        assert "already has keys" in again.stderr
    finally:
        for p in (new, from_file):
            keys = list(client.scan_iter(match=f"{p}:*", count=1000))
            if keys:
                client.unlink(*keys)
        client.close()
