"""R5 (Redis unavailable for a few seconds) and R6 (kill -9 of redis-server with AOF; Redis
restarts without the writes of its last second while Kafka's offsets are already committed past
them) of docs/reliability.md. The worker uses a redis-server of the test's own, with an AOF."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.embedded import EmbeddedRedis
from scoring.store import Keys
from streams.redis_client import connect
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, committed_offsets, wait_for
from tests.support.scenario import ROWS, Published, Row, applied, metric, wait_exact

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(appendonly=True) as server:
        yield server


def test_r5_redis_down_for_seconds_skips_nothing_and_catches_up(
    env: dict[str, str], kafka_bootstrap: str, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    row = Row("R5 Redis down ~4 s", faults="redis-server killed, restarted after 4 s")
    ROWS.append(row)
    env = {**env, "RISKMON_REDIS_URL": own_redis.url}
    worker = Worker(env, tmp_path / "worker.log")
    seeded = seeded_log(seed=5, enterprises=60, events=2000)
    half = len(seeded) // 2
    log = Published(kafka_bootstrap, env)
    try:
        row.events = log.send(seeded[:half])
        worker.start().wait_ready()
        wait_for(lambda: applied(own_redis.url, env) >= 300, 90, interval=0.05, what="300 applied")
        own_redis.kill()
        row.events += log.send(seeded[half:])  # arrives while Redis is down
        time.sleep(4)
        own_redis.start()  # same port, same AOF: nothing acknowledged is lost
        out = wait_exact(kafka_bootstrap, own_redis.url, env, [worker], 180, published=log.records)
        assert worker.proc is not None and worker.proc.poll() is None, "the worker gave up"
        assert metric(worker, "riskmon_redis_retries_total") > 0
        # nothing dead-lettered beyond the poison (wait_exact compared the dead letters exactly)
        assert metric(worker, "riskmon_dead_letters_total") == len(out.expected.dead)
        row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
        row.result = "exact; retried, nothing skipped"
    finally:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.stop()


def _resp_commands(data: bytes) -> list[tuple[int, bytes]]:
    """(start byte, command name) of each command in an AOF (RESP arrays of bulk strings)."""
    out = []
    i = 0
    while i < len(data):
        start = i
        assert data[i : i + 1] == b"*", f"not RESP at byte {i}"
        eol = data.index(b"\r\n", i)
        argc = int(data[i + 1 : eol])
        i = eol + 2
        name = b""
        for k in range(argc):
            eol = data.index(b"\r\n", i)
            size = int(data[i + 1 : eol])
            arg = data[eol + 2 : eol + 2 + size]
            if k == 0:
                name = arg.upper()
            i = eol + 2 + size + 2
        out.append((start, name))
    return out


def drop_last_writes(server: EmbeddedRedis, transactions: int) -> None:
    """Cut the last ``transactions`` MULTI/EXEC blocks (one apply.lua call, a batch of events,
    each) off the AOF of a stopped server: what an everysec fsync loses when the machine, not
    only the process, dies (a kill -9 of the process alone loses nothing Redis acknowledged)."""
    aof_dir = server.data_dir / "appendonlydir"
    incr = sorted(aof_dir.glob("*.incr.aof"), key=lambda p: int(p.name.split(".")[-3]))[-1]
    data = incr.read_bytes()
    multis = [start for start, name in _resp_commands(data) if name == b"MULTI"]
    assert len(multis) > transactions, f"only {len(multis)} transactions in {incr}"
    incr.write_bytes(data[: multis[-transactions]])


@pytest.mark.slow
def test_r6_redis_losing_its_last_writes_is_detected_and_replayed_from_the_watermark(
    env: dict[str, str], kafka_bootstrap: str, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    row = Row("R6 Redis kill -9 + lost AOF tail", faults="kill -9; last 4 batch writes lost")
    ROWS.append(row)
    parts = int(env["RISKMON_PARTITIONS"])
    env = {**env, "RISKMON_REDIS_URL": own_redis.url}
    topic, group = env["RISKMON_EVENTS_TOPIC"], env["RISKMON_GROUP_ID"]
    worker = Worker(env, tmp_path / "worker.log")
    seeded = seeded_log(seed=6, enterprises=60, events=2000)
    half = len(seeded) // 2
    log = Published(kafka_bootstrap, env)
    try:
        # 1. kill -9 of redis-server mid-stream, restarted from its AOF
        row.events = log.send(seeded[:half])
        worker.start().wait_ready()
        wait_for(lambda: applied(own_redis.url, env) >= 300, 90, interval=0.05, what="300 applied")
        own_redis.kill()
        own_redis.start()
        row.events += log.send(seeded[half:])
        wait_exact(kafka_bootstrap, own_redis.url, env, [worker], 180, published=log.records)
        worker.stop()
        # 2. Redis dies with the machine: the last second of its writes never reached the disk,
        # while Kafka's offsets are committed past them.
        own_redis.kill()
        drop_last_writes(own_redis, 4)
        own_redis.start()
        committed = committed_offsets(kafka_bootstrap, group, topic)
        r = connect(own_redis.url)
        keys = Keys(env["RISKMON_REDIS_PREFIX"])
        wm = {p: int(r.hget(keys.meta(p), "wm") or -1) for p in range(parts)}
        r.close()
        assert any(committed[p] > wm[p] + 1 for p in range(parts)), (committed, wm)
        worker.start().wait_ready()
        out = wait_exact(kafka_bootstrap, own_redis.url, env, [worker], 180, published=log.records)
        assert metric(worker, "riskmon_redis_rewinds_total") >= 1
        row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
        row.result = f"exact after rewind ({len(out.expected.alert_ids)} alert ids)"
    finally:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.stop()
