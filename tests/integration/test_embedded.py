"""The embedded servers and ensure_topics against a real broker and a real redis-server.

Consumers use session_timeout_ms=6000: Tansu takes about half the session timeout to hand
partitions to a new group member.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from local.embedded import EmbeddedError, EmbeddedKafka, EmbeddedRedis, free_port
from streams.redis_client import connect
from streams.topics import TopicError, TopicSpec, ensure_topics, partition_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def _gone(pid: int) -> bool:
    """True once no process (not even a zombie of ours) has this pid."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_until(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


def _partition_counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return {
            t["name"]: len(t["partitions"])
            for t in admin.describe_topics(names)
            if t["error_code"] == 0
        }
    finally:
        admin.close()


def _list_topics(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


# -- the broker --------------------------------------------------------------------------------


def test_broker_takes_keyed_produce_and_a_consumer_group_reads_and_commits(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic, group = f"{topic_prefix}.events", f"{topic_prefix}.group"
    ensure_topics(kafka_bootstrap, [TopicSpec(topic, 3)])
    sent = {f"key-{i}".encode(): f"value-{i}".encode() for i in range(30)}

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for key, value in sent.items():
            meta = producer.send(topic, key=key, value=value).get(timeout=10)
            # the client's default partitioner is the one riskmon computes for its lookups
            assert meta.partition == partition_for(key, 3), key
        producer.flush()
    finally:
        producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    got: dict[bytes, tuple[bytes, int]] = {}
    try:
        deadline = time.monotonic() + 30
        while len(got) < len(sent) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                for r in records:
                    got[r.key] = (r.value, r.partition)
        consumer.commit()
    finally:
        consumer.close()

    assert {k: v for k, (v, _) in got.items()} == sent
    assert all(p == partition_for(k, 3) for k, (_, p) in got.items())
    # the group's committed offsets are where the next member will start: after every record
    checker = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    try:
        committed = {p: checker.committed(TopicPartition(topic, p)) for p in range(3)}
    finally:
        checker.close()
    per_partition = {p: sum(partition_for(k, 3) == p for k in sent) for p in range(3)}
    assert committed == {p: n or None for p, n in per_partition.items()}


def test_ensure_topics_creates_once_and_then_leaves_topics_alone(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    specs = [
        TopicSpec(f"{topic_prefix}.a", 3),
        TopicSpec(f"{topic_prefix}.b", 1, config={"retention.ms": "600000"}),
    ]
    ensure_topics(kafka_bootstrap, specs)
    ensure_topics(kafka_bootstrap, specs)  # again: no error, nothing changes
    ensure_topics(kafka_bootstrap, specs[:1])
    assert _partition_counts(kafka_bootstrap, [s.name for s in specs]) == {
        specs[0].name: 3,
        specs[1].name: 1,
    }


def test_ensure_topics_refuses_a_partition_count_change_and_creates_nothing(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    live, new = f"{topic_prefix}.live", f"{topic_prefix}.new"
    ensure_topics(kafka_bootstrap, [TopicSpec(live, 3)])
    with pytest.raises(TopicError, match=rf"{live} has 3 partitions, configured 4"):
        ensure_topics(kafka_bootstrap, [TopicSpec(new, 2), TopicSpec(live, 4)])
    assert _partition_counts(kafka_bootstrap, [live, new]) == {live: 3}


def test_ensure_topics_refuses_one_topic_configured_twice(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    name = f"{topic_prefix}.twice"
    with pytest.raises(TopicError, match="configured twice"):
        ensure_topics(kafka_bootstrap, [TopicSpec(name, 2), TopicSpec(name, 3)])
    assert name not in _list_topics(kafka_bootstrap)


def test_ensure_topics_wraps_an_unreachable_broker_in_topic_error() -> None:
    with pytest.raises(TopicError, match="cannot reach Kafka") as caught:
        ensure_topics(f"127.0.0.1:{free_port()}", [TopicSpec("x", 1)], timeout_seconds=1)
    assert isinstance(caught.value.__cause__, OSError)  # connection refused


def test_embedded_kafka_stop_leaves_no_process_and_kill_then_start_reuses_the_port() -> None:
    kafka = EmbeddedKafka()
    try:
        kafka.start()
        first = kafka.pid
        assert first is not None and kafka.bootstrap == f"127.0.0.1:{kafka.port}"
        ensure_topics(kafka.bootstrap, [TopicSpec("before-kill", 1)])

        kafka.kill()
        assert kafka.pid is None and _gone(first)

        kafka.start()
        second = kafka.pid
        assert second is not None and second != first
        # Same address; memory storage: what the old broker held is gone.
        assert "before-kill" not in _list_topics(kafka.bootstrap)

        kafka.stop()
        assert kafka.pid is None and _gone(second)
        with pytest.raises(ProcessLookupError):
            os.killpg(second, 0)  # nothing left in its process group either
    finally:
        kafka.close()
    assert not kafka.dir.exists()


def test_embedded_kafka_on_a_taken_port_fails_with_its_log() -> None:
    with EmbeddedKafka() as running:
        clash = EmbeddedKafka(port=running.port, start_timeout_seconds=10)
        try:
            # Tansu either exits (status 0) after "Address in use", or lingers without a
            # listener while the running broker answers on that port: both must fail.
            with pytest.raises(EmbeddedError, match=r"(exited|taken by another process)") as err:
                clash.start()
            assert f"(log {clash.log_path})" in str(err.value)
            assert clash.pid is None
            ensure_topics(running.bootstrap, [TopicSpec("still-serving", 1)])
            assert "still-serving" in _list_topics(running.bootstrap)  # the first one is intact
        finally:
            clash.close()


def _run_parent_then_kill_it(code: str) -> tuple[list[int], list[Path]]:
    """Run ``code`` in a child Python that prints its servers' pids, then on a second line
    their directories; SIGKILL it; return both."""
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        dirs = [Path(d) for d in parent.stdout.readline().split()]
        assert pids, "the parent printed no pids"
        assert not any(_gone(p) for p in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
    return pids, dirs


def test_servers_die_with_the_process_that_started_them() -> None:
    pids, dirs = _run_parent_then_kill_it(
        """
        import time
        from local.embedded import EmbeddedKafka, EmbeddedRedis
        k = EmbeddedKafka().start()
        r = EmbeddedRedis().start()
        print(k.pid, r.pid, flush=True)
        print(k.dir, r.dir, flush=True)
        time.sleep(120)
        """
    )
    # PR_SET_PDEATHSIG: the kernel kills them; reaped or a zombie of init, they no longer run.
    assert _wait_until(lambda: all(_not_running(p) for p in pids), 10), pids
    for d in dirs:  # a parent killed outright cannot delete them: the test does
        shutil.rmtree(d, ignore_errors=True)


def _not_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in {"Z", "X"}


# -- Redis -------------------------------------------------------------------------------------


def test_redis_url_answers(redis_url: str, key_prefix: str) -> None:
    client = connect(redis_url)
    try:
        client.set(f"{key_prefix}:k", "v")
        assert client.get(f"{key_prefix}:k") == b"v"
    finally:
        client.close()


def test_embedded_redis_with_aof_keeps_a_written_key_across_kill_and_start() -> None:
    with EmbeddedRedis(appendonly=True) as server:
        port, url = server.port, server.url
        client = connect(url)
        try:
            client.set("survives", "yes")
            client.hset("h", mapping={"a": "1", "b": "2"})
            with client.pipeline(transaction=False) as pipe:
                for i in range(1000):
                    pipe.incrby(f"n:{i}", i)
                pipe.execute()
        finally:
            client.close()
        before = server.pid
        assert before is not None
        # No wait for the once-a-second fsync: redis writes the AOF before it replies, so a
        # killed process (unlike a crashed machine) loses no acknowledged write.
        server.kill()
        assert _gone(before)

        server.start()
        assert server.port == port and server.pid != before
        client = connect(url)
        try:
            assert client.get("survives") == b"yes"
            assert client.hgetall("h") == {b"a": b"1", b"b": b"2"}
            assert client.mget([f"n:{i}" for i in range(1000)]) == [
                str(i).encode() for i in range(1000)
            ]
        finally:
            client.close()


def test_embedded_redis_without_aof_keeps_nothing_across_restart() -> None:
    with EmbeddedRedis() as server:
        first = connect(server.url)
        try:
            first.set("gone", "soon")
        finally:
            first.close()
        server.kill()
        server.start()
        client = connect(server.url)
        try:
            assert client.get("gone") is None
            assert client.config_get("appendonly") == {"appendonly": "no"}
            assert client.config_get("bind")["bind"] == "127.0.0.1"
        finally:
            client.close()


def test_embedded_redis_stop_leaves_no_process() -> None:
    server = EmbeddedRedis()
    server.start()
    pid = server.pid
    assert pid is not None
    server.stop()
    assert server.pid is None and _gone(pid)
    client = connect(server.url, socket_connect_timeout=1)
    try:
        with pytest.raises(redis.ConnectionError):
            client.ping()
    finally:
        client.close()
    server.close()
    assert not server.dir.exists()
