"""R13 (a Redis Cluster master killed mid-stream after its replica fell behind, the replica
promoted) and a slot migrated under a running worker, of docs/reliability.md. Each test has a
cluster of its own (three masters, three replicas), since it kills or moves parts of it.

R13 loses writes Redis acknowledged, deterministically: the replica is cut off its master's
stream first (asynchronous replication is what loses them in a real partition), and the test
waits for Kafka's commit to pass the cut. The worker's next write to the promoted replica is
refused by the store's fence (LOSTWRITES): it stops with exit 70, nothing committed past what
it applied, as a crash would; restarted (as systemd or Kubernetes would), it rewinds to the
lower of the scoring and supervision watermarks, holding the partition's records until it has
(streams/gate.py), and the result equals the reference fold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.crc import key_slot

from local.redis_cluster import ClusterNodeServer, LocalRedisCluster
from scoring.store import Keys
from tests.support.binaries import required
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, committed_offsets, wait_for
from tests.support.scenario import ROWS, Published, Row, applied, metric, wait_exact

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


@pytest.fixture
def own_cluster() -> Iterator[LocalRedisCluster]:
    required("redis-cli", "redis-tools")
    with LocalRedisCluster() as cluster:
        yield cluster


def _watermark(node: ClusterNodeServer, key: str) -> int:
    """The offset watermark in ``key`` as ``node`` holds it (a replica too)."""
    c = node.client()
    try:
        c.execute_command("READONLY")  # type: ignore[no-untyped-call]
        return int(c.hget(key, "wm") or -1)
    finally:
        c.close()


def test_r13_a_master_killed_after_its_replica_fell_behind_is_exact_after_the_rewind(
    env: dict[str, str], kafka_bootstrap: str, own_cluster: LocalRedisCluster, tmp_path: Path
) -> None:
    row = Row("R13 cluster failover, writes lost", faults="replica cut off; master kill -9")
    ROWS.append(row)
    env = {**env, "RISKMON_REDIS_URL": own_cluster.url}
    meta = Keys(env["RISKMON_REDIS_PREFIX"]).meta(0)
    slot = key_slot(meta.encode())
    group, topic = env["RISKMON_GROUP_ID"], env["RISKMON_EVENTS_TOPIC"]
    worker = Worker(env, tmp_path / "worker.log")
    seeded = seeded_log(seed=13, enterprises=60, events=2100, disorder=0.2)
    third = len(seeded) // 3
    log = Published(kafka_bootstrap, env)
    try:
        row.events = log.send(seeded[:third])
        worker.start().wait_ready()
        wait_for(lambda: applied(own_cluster.url, env) >= 300, 90, what="300 applied")
        master = own_cluster.master_of(slot)
        replica = own_cluster.replica_of(master)
        wait_for(lambda: _watermark(master, meta) >= 50, 60, what="partition 0 under way")
        wait_for(lambda: _watermark(replica, meta) == _watermark(master, meta), 30, what="in sync")
        own_cluster.cut_replica(replica)
        kept = _watermark(replica, meta)
        row.events += log.send(seeded[third : 2 * third])
        wait_for(lambda: _watermark(master, meta) > kept + 20, 90, what="writes past the cut")
        # ... and committed past it in Kafka, so that what Redis loses must be read again
        wait_for(
            lambda: committed_offsets(kafka_bootstrap, group, topic).get(0, 0) > kept + 1,
            60,
            what="a commit past the cut",
        )
        acknowledged = _watermark(master, meta)
        own_cluster.kill_master(slot)  # the replica, without those writes, takes over
        assert _watermark(replica, meta) == kept < acknowledged
        row.events += log.send(seeded[2 * third :])
        # The next write to partition 0 finds the watermark gone back: the worker stops.
        wait_for(lambda: worker.proc is not None and worker.proc.poll() is not None, 120)
        assert worker.proc is not None and worker.proc.returncode == 70, worker.log_tail()
        assert "LOSTWRITES" in worker.log_tail(200)
        worker.start().wait_ready()  # as its supervisor would
        out = wait_exact(
            kafka_bootstrap,
            own_cluster.url,
            env,
            [worker],
            240,
            published=log.records,
            dead_letters_once=False,  # re-read from the watermark: sent again, same offsets
        )
        assert metric(worker, "riskmon_redis_rewinds_total") >= 1
        row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
        row.result = (
            f"exact after the rewind ({acknowledged - kept} acknowledged offsets lost,"
            f" {len(out.expected.alert_ids)} alert ids)"
        )
    finally:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.stop()


def test_a_slot_migrated_under_a_running_worker_is_exact(
    env: dict[str, str], kafka_bootstrap: str, own_cluster: LocalRedisCluster, tmp_path: Path
) -> None:
    row = Row("cluster slot migration", faults="partition 1's slot moved mid-stream")
    ROWS.append(row)
    env = {**env, "RISKMON_REDIS_URL": own_cluster.url}
    meta = Keys(env["RISKMON_REDIS_PREFIX"]).meta(1)
    slot = key_slot(meta.encode())
    worker = Worker(env, tmp_path / "worker.log")
    seeded = seeded_log(seed=14, enterprises=60, events=2000, disorder=0.2)
    half = len(seeded) // 2
    log = Published(kafka_bootstrap, env)
    try:
        row.events = log.send(seeded[:half])
        worker.start().wait_ready()
        wait_for(lambda: applied(own_cluster.url, env) >= 300, 90, what="300 applied")
        before = own_cluster.master_of(slot)
        row.events += log.send(seeded[half:])
        after = own_cluster.migrate_slot(slot)  # while the second half streams in
        assert after is not before and own_cluster.master_of(slot) is after
        out = wait_exact(
            kafka_bootstrap, own_cluster.url, env, [worker], 180, published=log.records
        )
        assert worker.proc is not None and worker.proc.poll() is None, "the worker stopped"
        assert _watermark(after, meta) >= 0
        row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
        row.result = f"exact; MOVED followed ({len(out.expected.alert_ids)} alert ids)"
    finally:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.stop()
