"""``riskmon bench --phases scaling``: the worker scaled out, 1, 2 and 4 workers of one consumer
group on a 16-partition topic, and the CPU each event costs in every process.

On a 2-core machine the total rate cannot grow much with more workers (they share the cores
with Redis and the broker), so what this phase is for is the cost per event: CPU seconds of
each worker process and of redis-server (``INFO cpu``), divided by the events applied while
they were measured. From those, :func:`sizing` works out how many workers and Redis shards a
given load needs, at a stated share of a core per process.

For each worker count: the workers start on empty topics and settle (every one ready: it holds
partitions), then a district is published and the clock runs from the first applied event to
the last; CPU is read just before publishing and after the last, so start-up and the group's
settling are left out.
"""

from __future__ import annotations

import math
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis

from benchmarks.probes import applied_counter, cpu_seconds, wait_until
from district.generator import DistrictSpec
from local.embedded import free_port
from local.feed import Pacer, keyed_lines, publish
from local.worker_process import spawn_worker, stop_worker, wait_ready
from scoring.store import Keys
from streams.topics import TopicSpec, ensure_topics

__all__ = ["PARTITIONS", "WORKERS", "Point", "measure", "sizing", "table"]

PARTITIONS = 16
WORKERS = (1, 2, 4)
#: The share of a core a process is planned at: headroom for bursts, GC and rebalances.
CORE_BUDGET = 0.7
_POLL_SECONDS = 0.01
#: After every worker is ready, the group may still be moving partitions; let it settle.
_SETTLE_SECONDS = 4.0


@dataclass(frozen=True)
class Point:
    """One worker count's figures."""

    workers: int
    events: int
    seconds: float
    events_per_second: float
    redis_cpu_us_per_event: float
    workers_cpu_us_per_event: float
    per_worker_cpu_us_per_event: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _proc_cpu(pid: int) -> float:
    return cpu_seconds(pid) or 0.0


def _redis_cpu(r: redis.Redis) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(
    *,
    bootstrap: str,
    redis_url: str,
    r: redis.Redis,
    tmp: Path,
    prefix: str,
    workers: int,
    spec: DistrictSpec,
) -> Point:
    """``workers`` workers of one group on fresh 16-partition topics under ``prefix``: the
    district of ``spec`` published once they have settled, timed and costed (module doc)."""
    names = ("events", "alerts", "tasks", "dlq", "reminders", "plans", "audit", "acks")
    topics = {k: f"{prefix}.{k}" for k in names}
    # the audit chain's topic has one partition (streams/topics.py), the others the events'
    specs = [TopicSpec(t, 1 if k == "audit" else PARTITIONS) for k, t in topics.items()]
    ensure_topics(bootstrap, specs)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(workers):
            web_port = free_port()
            env = {
                "RISKMON_KAFKA_BOOTSTRAP": bootstrap,
                "RISKMON_REDIS_URL": redis_url,
                "RISKMON_REDIS_PREFIX": prefix,
                "RISKMON_GROUP_ID": f"riskmon-{prefix}",
                "RISKMON_INSTANCE_ID": f"{prefix}-w{i}",
                "RISKMON_EVENTS_TOPIC": topics["events"],
                "RISKMON_ALERTS_TOPIC": topics["alerts"],
                "RISKMON_TASKS_TOPIC": topics["tasks"],
                "RISKMON_DLQ_TOPIC": topics["dlq"],
                "RISKMON_REMINDERS_TOPIC": topics["reminders"],
                "RISKMON_PLANS_TOPIC": topics["plans"],
                "RISKMON_AUDIT_TOPIC": topics["audit"],
                "RISKMON_ACKS_TOPIC": topics["acks"],
                "RISKMON_PARTITIONS": str(PARTITIONS),
                "RISKMON_WEB_PORT": str(web_port),
                "RISKMON_DATA_DIR": str(tmp / f"faust-data-{prefix}-{i}"),
                "RISKMON_RUN_FILE": str(tmp / f"run-{prefix}-{i}.json"),
                "RISKMON_TICK_SECONDS": "3600",  # the event path, not the ticker
                "RISKMON_LOG_LEVEL": "warn",
            }
            log = tmp / f"worker-{prefix}-{i}.log"
            proc = spawn_worker(env, log)
            procs.append(proc)
            wait_ready(f"http://127.0.0.1:{web_port}", proc, log, timeout=180)
        time.sleep(_SETTLE_SECONDS)
        applied = applied_counter(r, Keys(prefix), PARTITIONS)
        # CPU from just before the district is published: a small one can be applied before
        # the first poll sees it, and all its work would fall before a later baseline
        cpu0 = [_proc_cpu(p.pid) for p in procs]
        redis0 = _redis_cpu(r)
        n = publish(
            keyed_lines(spec), bootstrap=bootstrap, topic=topics["events"], pacer=Pacer(None)
        )
        wait_until(lambda: applied() > 0, 300, "the first applied event")
        t0 = time.perf_counter()
        wait_until(lambda: applied() >= n, 1_800, f"{workers} workers to apply the district")
        seconds = max(time.perf_counter() - t0, _POLL_SECONDS)
        used = [_proc_cpu(p.pid) - c for p, c in zip(procs, cpu0, strict=True)]
        redis_used = _redis_cpu(r) - redis0
    finally:
        for proc in procs:
            stop_worker(proc)
    return Point(
        workers=workers,
        events=n,
        seconds=seconds,
        events_per_second=n / seconds,
        redis_cpu_us_per_event=redis_used / n * 1e6,
        workers_cpu_us_per_event=sum(used) / n * 1e6,
        per_worker_cpu_us_per_event=tuple(u / n * 1e6 for u in used),
    )


@dataclass(frozen=True)
class Sizing:
    """What a load needs, from one measured point."""

    events_per_second: float
    workers: int
    redis_shards: int


def sizing(point: Point, loads: Sequence[float], budget: float = CORE_BUDGET) -> list[Sizing]:
    """Workers and Redis masters for each load (events/s), each process planned at ``budget``
    of a core: load x CPU per event / budget, rounded up (at least one). Redis runs one
    command at a time per master, so its shards scale the same way; the workers' count is
    also capped below by nothing but the partitions (one partition is read by one worker)."""
    out = []
    for load in loads:
        workers = math.ceil(load * point.workers_cpu_us_per_event / 1e6 / budget)
        shards = math.ceil(load * point.redis_cpu_us_per_event / 1e6 / budget)
        out.append(Sizing(load, max(workers, 1), max(shards, 1)))
    return out


def table(points: Sequence[Point], loads: Sequence[float]) -> str:
    """The scaling table and, from the point with the most workers, the sizing for ``loads``."""
    rows = [
        "workers  events/s  redis CPU/event  workers' CPU/event  each worker's CPU/event",
    ]
    for p in points:
        each = ", ".join(f"{u:,.0f}" for u in p.per_worker_cpu_us_per_event)
        rows.append(
            f"{p.workers:>7}  {p.events_per_second:>8,.0f}  {p.redis_cpu_us_per_event:>12,.1f} µs"
            f"  {p.workers_cpu_us_per_event:>15,.1f} µs  {each} µs"
        )
    if points:
        basis = max(points, key=lambda p: p.workers)
        rows.append("")
        rows.append(
            f"needed at {CORE_BUDGET:.0%} of a core per process (from the {basis.workers}-worker"
            " costs):"
        )
        rows.append("    events/s   workers  redis masters")
        for s in sizing(basis, loads):
            rows.append(f"  {s.events_per_second:>10,.0f}  {s.workers:>8}  {s.redis_shards:>13}")
    return "\n".join(rows)
