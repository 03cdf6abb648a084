"""``riskmon replay`` rebuilds, from the event log alone, exactly the state the live worker built:
every enterprise's decoded state and the class counts, the time-driven class changes included
(made in event time, from the log alone), with dead letters counted and nothing sent anywhere;
and ``--outputs FILE`` lists exactly what the live worker sent for the log: its alert and task
ids, and its dead letters by the place and reason their headers name."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
import redis

from district.generator import DistrictSpec, lines
from schemas.codec import loads
from schemas.events import TICKER_SOURCE
from scoring.store import Keys, iter_states
from streams.redis_client import connect
from tests.support.eventlog import LogRecord, seeded_log
from tests.support.harness import ROOT, Worker, read_topic
from tests.support.observe import output_order, outputs
from tests.support.scenario import Published, alert_causes, wait_exact

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
    records = seeded_log(seed=5, now=now)
    poison = sum(1 for r in records if r.poison)
    spec = DistrictSpec(now=now, enterprises=250, seed=9)
    records += [LogRecord(loads(v)["subject"].encode(), v) for v in lines(spec)]
    topic = env["RISKMON_EVENTS_TOPIC"]
    prefix = env["RISKMON_REDIS_PREFIX"]
    partitions = int(env["RISKMON_PARTITIONS"])

    worker.start().wait_ready()
    published = Published(kafka_bootstrap, env)
    published.send(records)
    # Done: the worker's result is the reference's for the published log (and the topic holds
    # just that log: no ticker records with RISKMON_IDLE_SECONDS=0).
    exact = wait_exact(kafka_bootstrap, redis_url, env, [worker], 120, published=published.records)
    assert worker.stop() == 0
    log = read_topic(kafka_bootstrap, topic)
    # time-driven changes, made in event time, must be among the outputs for this to mean much
    assert len(exact.expected.fired) >= 10
    assert TICKER_SOURCE in alert_causes(kafka_bootstrap, env).values()
    sent = outputs(kafka_bootstrap, env)
    dlq_before = len(read_topic(kafka_bootstrap, env["RISKMON_DLQ_TOPIC"]))
    alerts_before = len(read_topic(kafka_bootstrap, env["RISKMON_ALERTS_TOPIC"]))
    assert dlq_before == poison

    client = connect(redis_url)
    new = f"{prefix}r"
    from_file = f"{prefix}f"
    try:
        listed = tmp_path / "outputs.jsonl"
        done = replay(env, "--prefix", new, "--outputs", str(listed))
        assert done.returncode == 0, done.stderr
        assert f"replayed {len(log)} record(s)" in done.stdout
        dead = dict(re.findall(r"(\w+) (\d+)", done.stdout.split("re-sent): ")[1].splitlines()[0]))
        assert sum(int(v) for v in dead.values()) == poison
        assert re.search(r"[\d,]+ events/s", done.stdout)

        live = states(client, prefix, partitions)
        assert len(live) == 250 + 50
        assert states(client, new, partitions) == live
        assert class_counts(client, new, partitions) == class_counts(client, prefix, partitions)
        # --outputs: one JSON object a line, sorted: what the live worker sent, no more, no less
        rows = [orjson.loads(line) for line in listed.read_text().splitlines()]
        assert rows == sorted(rows, key=output_order)
        assert rows == sent
        assert {r["id"] for r in rows if r["kind"] == "alert"} == exact.expected.alert_ids
        assert sum(r["kind"] == "dead_letter" for r in rows) == poison
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
