"""Events/s of riskmon's worker against Faust's own ceiling, on the same broker and events.

    python -m benchmarks.throughput [--events 30000] [--enterprises 5000] [--json]

Starts an embedded broker (and uses the redis on 127.0.0.1:6379, or starts one), fills a
topic with a seeded event log, then times (1) a Faust agent that only iterates the topic and
(2) the riskmon worker (full validation, scoring in Redis, alerts) from its first to its
last applied event; then (3) end-to-end latency (event produced -> class updated -> alert on
the topic) at an offered load of half the measured rate. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import redis
from kafka import KafkaProducer

from scoring.store import Keys
from streams.embedded import EmbeddedKafka, EmbeddedRedis
from streams.topics import TopicSpec, ensure_topics
from tests.e2e.harness import Worker, read_topic, worker_env
from tests.eventlog import seeded_log


def _redis_url(stack: contextlib.ExitStack) -> str:
    try:
        r = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5)
        r.ping()
        r.close()
        return "redis://127.0.0.1:6379/0"
    except redis.RedisError:
        return stack.enter_context(EmbeddedRedis()).url


def run(
    events: int,
    enterprises: int,
    partitions: int = 4,
    latency_seconds: float = 20.0,
    load: float = 0.5,
) -> dict[str, float]:
    """Figures of one run; ``load`` is the latency phase's offered rate as a share of the
    measured maximum."""
    with contextlib.ExitStack() as stack:
        kafka = stack.enter_context(EmbeddedKafka())
        url = _redis_url(stack)
        prefix = f"bench-{uuid.uuid4().hex[:8]}"
        tmp = Path(tempfile.mkdtemp(prefix="riskmon-bench-"))
        env = worker_env(
            bootstrap=kafka.bootstrap, redis_url=url, prefix=prefix, tmp=tmp, partitions=partitions
        )
        env["RISKMON_TICK_SECONDS"] = "3600"  # measure the event path, not the ticker
        ensure_topics(
            kafka.bootstrap,
            [TopicSpec(env[k], partitions) for k in env if k.endswith("_TOPIC")],
        )
        log = seeded_log(
            seed=11, enterprises=enterprises, events=events, duplicate_ratio=0, poison=False
        )
        producer = KafkaProducer(
            bootstrap_servers=kafka.bootstrap, linger_ms=20, batch_size=256 * 1024, acks=1
        )
        for rec in log:
            producer.send(env["RISKMON_EVENTS_TOPIC"], key=rec.key, value=rec.value)
        producer.flush()
        producer.close()
        n = len(log)

        ceiling = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.ceiling",
                kafka.bootstrap,
                env["RISKMON_EVENTS_TOPIC"],
                str(n),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        lines = (ceiling.stdout + ceiling.stderr).splitlines()
        figure = next((ln[ln.index("{") :] for ln in lines if '{"events"' in ln), None)
        if figure is None:
            raise RuntimeError("the ceiling run printed no figure:\n" + "\n".join(lines[-20:]))
        ceiling_rate = json.loads(figure)["events_per_second"]

        r = redis.Redis.from_url(url)
        keys = Keys(prefix)

        def applied() -> int:
            return sum(int(r.hget(keys.meta(p), "wm") or -1) + 1 for p in range(partitions))

        worker = Worker(env, tmp / "worker.log").start()
        try:
            while applied() == 0:
                time.sleep(0.002)
            t0 = time.perf_counter()
            while applied() < n:
                time.sleep(0.005)
            elapsed = time.perf_counter() - t0
            rate = n / elapsed
            latencies = _latency_at(
                kafka.bootstrap, env, rate * load, latency_seconds, enterprises, applied, n
            )
        finally:
            worker.stop()
            for key in r.scan_iter(match=f"{prefix}:*", count=2000):
                r.delete(key)
            r.close()
        return {
            "events": n,
            "faust_ceiling_events_per_second": ceiling_rate,
            "riskmon_events_per_second": rate,
            "ratio_to_ceiling": rate / ceiling_rate,
            "latency_offered_events_per_second": rate * load,
            "latency_samples": len(latencies),
            "latency_p50_ms": _percentile(latencies, 50) * 1000,
            "latency_p95_ms": _percentile(latencies, 95) * 1000,
            "latency_p99_ms": _percentile(latencies, 99) * 1000,
        }


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _latency_at(
    bootstrap: str,
    env: dict[str, str],
    offered: float,
    seconds: float,
    enterprises: int,
    applied: Callable[[], int],
    already: int,
) -> list[float]:
    """End-to-end latency at a paced ``offered`` load: event produced → class updated → alert
    on the topic, per alert, from the alert record's timestamp and the send time of its cause."""
    count = max(1, int(offered * seconds))
    log = seeded_log(
        seed=12, enterprises=enterprises, events=count, duplicate_ratio=0, poison=False
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=0, acks=1)
    sent: dict[str, float] = {}
    start = time.time()
    for i, rec in enumerate(log):
        doc = orjson.loads(rec.value)
        doc["id"] = f"lat-{i}"  # new identities: the first log's ids would be duplicates
        due = start + i / offered
        pause = due - time.time()
        if pause > 0:
            time.sleep(pause)
        sent[doc["id"]] = time.time()
        producer.send(env["RISKMON_EVENTS_TOPIC"], key=rec.key, value=orjson.dumps(doc))
    producer.flush()
    producer.close()
    deadline = time.monotonic() + 120
    while applied() < already + len(log) and time.monotonic() < deadline:
        time.sleep(0.05)
    out = []
    for alert in read_topic(bootstrap, env["RISKMON_ALERTS_TOPIC"]):
        cause = orjson.loads(alert.value)["data"]["cause"]["id"]
        if cause in sent and alert.timestamp is not None:
            out.append(max(0.0, alert.timestamp - sent[cause]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=30_000)
    ap.add_argument("--enterprises", type=int, default=5_000)
    ap.add_argument("--latency-seconds", type=float, default=20.0)
    ap.add_argument("--load", type=float, default=0.5, help="latency phase: share of the max")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    figures = run(a.events, a.enterprises, latency_seconds=a.latency_seconds, load=a.load)
    if a.json:
        print(json.dumps(figures))
        return
    for k, v in figures.items():
        print(f"{k:34} {v:12,.2f}")


if __name__ == "__main__":
    main()
