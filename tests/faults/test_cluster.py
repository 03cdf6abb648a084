"""R7 of docs/reliability.md: a broker restart, and a kill of the leader of the events partitions,
mid-stream; the result is exact. These need a real Kafka cluster (the embedded Tansu keeps topics
in memory: restarting it loses them), so they run only when told where one is:

    RISKMON_TEST_KAFKA_CLUSTER=kafka-1:9092,kafka-2:9092,kafka-3:9092   # bootstrap, >= 3 brokers
    RISKMON_TEST_KAFKA_RESTART='docker restart kafka-$BROKER_ID'      # restarts one broker
    RISKMON_TEST_KAFKA_KILL='docker kill -s KILL kafka-$BROKER_ID; docker start kafka-$BROKER_ID'

Each command runs with ``sh -c`` and ``BROKER_ID`` (the broker's node id) in its environment, and
must return once the broker is started again (the test then waits for the cluster to answer).
Without ``RISKMON_TEST_KAFKA_KILL`` the leader is restarted with ``RISKMON_TEST_KAFKA_RESTART``.
Topics are created with replication factor 3 and min.insync.replicas=2, as in production.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient

from streams.topics import TopicSpec, ensure_topics
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, wait_for, worker_env
from tests.support.scenario import ROWS, Published, Row, applied, metric, wait_exact

CLUSTER = os.environ.get("RISKMON_TEST_KAFKA_CLUSTER", "")
RESTART = os.environ.get("RISKMON_TEST_KAFKA_RESTART", "")
KILL = os.environ.get("RISKMON_TEST_KAFKA_KILL", "") or RESTART

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.integration,
    pytest.mark.skipif(
        not (CLUSTER and RESTART),
        reason="R7 needs a real Kafka cluster: set RISKMON_TEST_KAFKA_CLUSTER and"
        " RISKMON_TEST_KAFKA_RESTART (see tests/faults/test_cluster.py); the embedded Tansu"
        " keeps topics in memory and cannot be restarted without losing them",
    ),
]


@pytest.fixture
def cluster_env(redis_url: str, key_prefix: str, tmp_path: Path) -> dict[str, str]:
    e = worker_env(bootstrap=CLUSTER, redis_url=redis_url, prefix=key_prefix, tmp=tmp_path)
    e["RISKMON_REPLICATION_FACTOR"] = "3"
    e["RISKMON_SESSION_TIMEOUT_SECONDS"] = "10"
    parts = int(e["RISKMON_PARTITIONS"])
    names = ("RISKMON_EVENTS_TOPIC", "RISKMON_ALERTS_TOPIC", "RISKMON_TASKS_TOPIC")
    ensure_topics(
        CLUSTER,
        [
            TopicSpec(e[n], parts, 3, {"min.insync.replicas": "2"})
            for n in (*names, "RISKMON_DLQ_TOPIC")
        ],
    )
    return e


def _leader_and_other(topic: str) -> tuple[int, int]:
    admin = KafkaAdminClient(bootstrap_servers=CLUSTER)
    try:
        desc = admin.describe_topics([topic])[0]
        leader = int(desc["partitions"][0]["leader"])
        replicas = [int(r) for r in desc["partitions"][0]["replicas"]]
    finally:
        admin.close()
    return leader, next(r for r in replicas if r != leader)


def _run(command: str, broker: int) -> None:
    subprocess.run(
        ["sh", "-c", command],
        env={**os.environ, "BROKER_ID": str(broker)},
        check=True,
        timeout=300,
    )


@pytest.mark.parametrize("fault", ["restart a follower broker", "kill the partition leader"])
def test_r7_broker_restart_or_leader_kill_mid_stream_is_exact(
    fault: str, cluster_env: dict[str, str], redis_url: str, tmp_path: Path
) -> None:
    env = cluster_env
    row = Row(f"R7 {fault}", faults=fault)
    ROWS.append(row)
    topic = env["RISKMON_EVENTS_TOPIC"]
    worker = Worker(env, tmp_path / "worker.log")
    seeded = seeded_log(seed=7, enterprises=80, events=3000)
    half = len(seeded) // 2
    log = Published(CLUSTER, env)
    try:
        row.events = log.send(seeded[:half])
        worker.start().wait_ready()
        wait_for(lambda: applied(redis_url, env) >= 300, 120, interval=0.1, what="300 applied")
        leader, follower = _leader_and_other(topic)
        if fault.startswith("kill"):
            _run(KILL, leader)
        else:
            _run(RESTART, follower)
        row.events += log.send(seeded[half:])
        out = wait_exact(
            CLUSTER, redis_url, env, [worker], 300, published=log.records, dead_letters_once=False
        )
        row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
        row.result = f"exact ({len(out.expected.alert_ids)} alert ids)"
    finally:
        if worker.proc is not None and worker.proc.poll() is None:
            worker.stop()
