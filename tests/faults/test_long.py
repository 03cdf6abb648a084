"""R11 (a long run: memory flat, commits advancing) and R4 (two workers in one consumer group,
one joining and one leaving mid-stream, on one Redis and on a Redis Cluster) of
docs/reliability.md. Both are slow: --faults=full."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from pathlib import Path

import orjson
import pytest

from local.embedded import free_port
from tests.support.eventlog import LogRecord, seeded_log
from tests.support.harness import Worker, committed_offsets, wait_for
from tests.support.scenario import ROWS, Published, Row, metric, wait_exact

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

LONG_RUN_SECONDS = 150
#: The worker keeps no per-event state in its process (state is in Redis, the ticker's in-flight
#: map is bounded, Faust's buffers are bounded), so after warm-up its resident memory should
#: only wobble with the allocator and the garbage collector. A leak of even ~100 bytes per event
#: over ~35,000 events moves the mean by several MB, which 15% of a ~100 MB process catches
#: while ordinary noise (a few MB) does not.
RSS_TOLERANCE = 0.15


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def long_log(chunks: int) -> list[LogRecord]:
    """``chunks`` seeded logs of 4,000 records on new enterprises each (poison included), their
    event ids made unique across chunks (seeded_log numbers them from 0 each time)."""
    out: list[LogRecord] = []
    for seed in range(chunks):
        for rec in seeded_log(seed=1100 + seed, enterprises=150, events=4000, duplicate_ratio=0.05):
            if not rec.poison and rec.value.startswith(b"{"):
                doc = orjson.loads(rec.value)
                if "id" in doc:
                    doc["id"] = f"c{seed}-{doc['id']}"
                    rec = LogRecord(rec.key, orjson.dumps(doc))
            out.append(rec)
    return out


def test_r11_long_run_memory_flat_and_commits_advancing(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str
) -> None:
    row = Row(f"R11 long run ({LONG_RUN_SECONDS} s)", faults="none (paced feed)")
    ROWS.append(row)
    topic, group = env["RISKMON_EVENTS_TOPIC"], env["RISKMON_GROUP_ID"]
    records = long_log(9)
    log = Published(kafka_bootstrap, env)
    worker.start().wait_ready()
    assert worker.proc is not None
    pid = worker.proc.pid

    stop = threading.Event()
    fed = [0]

    def feed() -> None:
        # ~250 records/s: a steady load well under the worker's throughput
        step = 100
        for i in range(0, len(records), step):
            if stop.is_set():
                return
            fed[0] += log.send(records[i : i + step])
            time.sleep(0.4)

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    samples: list[tuple[float, int]] = []
    commits: list[int] = []
    start = time.monotonic()
    next_commit_sample = start + 15
    try:
        while time.monotonic() - start < LONG_RUN_SECONDS:
            samples.append((time.monotonic() - start, rss_bytes(pid)))
            if time.monotonic() >= next_commit_sample:
                commits.append(sum(committed_offsets(kafka_bootstrap, group, topic).values()))
                next_commit_sample += 15
            time.sleep(2)
    finally:
        stop.set()
        feeder.join(timeout=30)
    row.events = fed[0]
    out = wait_exact(kafka_bootstrap, redis_url, env, [worker], 300, published=log.records)

    warm = [rss for t, rss in samples if t >= LONG_RUN_SECONDS * 0.2]
    third = len(warm) // 3
    first, last = statistics.mean(warm[:third]), statistics.mean(warm[-third:])
    print(f"\nR11 RSS first third {first / 1e6:.1f} MB, last third {last / 1e6:.1f} MB")
    assert last <= first * (1 + RSS_TOLERANCE), (first, last)
    assert all(b > a for a, b in itertools.pairwise(commits)), commits
    assert len(commits) >= 5
    row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
    row.result = (
        f"exact; RSS {first / 1e6:.0f}->{last / 1e6:.0f} MB; commits rose {len(commits)}x"
        f" ({len(out.expected.states)} enterprises)"
    )


@pytest.mark.cluster  # also on a Redis Cluster: workers joining and leaving under load there
def test_r4_two_workers_one_joining_one_leaving_is_exact_and_no_partition_sticks(
    env: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    row = Row("R4 rebalance: join, then leave", faults="2 rebalances")
    ROWS.append(row)
    topic = env["RISKMON_EVENTS_TOPIC"]
    a = Worker({**env, "RISKMON_DATA_DIR": str(tmp_path / "a")}, tmp_path / "a.log")
    b = Worker(
        {**env, "RISKMON_WEB_PORT": str(free_port()), "RISKMON_DATA_DIR": str(tmp_path / "b")},
        tmp_path / "b.log",
    )
    seeded = seeded_log(seed=4, enterprises=80, events=3000)
    third = len(seeded) // 3
    log = Published(kafka_bootstrap, env)
    try:
        row.events = log.send(seeded[:third])
        a.start().wait_ready()
        row.events += log.send(seeded[third : 2 * third])
        b.start().wait_ready()  # joins: the group rebalances to share the partitions
        wait_for(
            lambda: b.get("/readyz")[0] == 200 and a.get("/readyz")[0] == 200,
            60,
            what="both workers holding partitions",
        )
        row.events += log.send(seeded[2 * third :])
        a.stop()  # leaves mid-stream: b takes over every partition
        out = wait_exact(
            kafka_bootstrap,
            redis_url,
            env,
            [a, b],
            240,
            published=log.records,
            dead_letters_once=False,
        )
        # no partition stuck: b holds all of them, has no lag, and every one has a commit
        wait_for(lambda: b.get("/healthz")[1]["lag"] == 0, 60, what="lag 0 on the survivor")
        parts = int(env["RISKMON_PARTITIONS"])
        wait_for(
            lambda: (
                len(committed_offsets(kafka_bootstrap, env["RISKMON_GROUP_ID"], topic)) == parts
            ),
            60,
            what="a committed offset on every partition",
        )
        row.duplicates = int(metric(b, "riskmon_events_total", 'outcome="duplicate"'))
        row.result = f"exact ({len(out.expected.alert_ids)} alert ids); no partition stuck"
    finally:
        for w in (a, b):
            if w.proc is not None and w.proc.poll() is None:
                w.stop()
