"""``riskmon bench``: every figure of riskmon's speed and size in one run, against baselines.

    riskmon bench [--enterprises 20000] [--state-enterprises 100000]
                  [--reclassify 100000,1000000] [--latency-seconds 20]
                  [--load 0.5 | --rate EVENTS_PER_S] [--ledger-window 0]
                  [--scaling-enterprises 20000] [--phases ...]
                  [--json bench.json] [--quick]

One embedded Tansu broker and one Redis (127.0.0.1:6379 when it answers, else an embedded one)
serve every phase, in this order:

1. a topic pre-filled with a synthetic district's history (``--enterprises``);
2. the ceiling: a Faust agent that only iterates that topic (benchmarks/ceiling.py), on stock
   Faust (the target's reference) and on the worker's runtime (its loop and transport);
3. the riskmon worker on the same records: events/s from its first to its last applied event,
   and the ratio to the ceiling;
4. end-to-end latency (event produced -> class updated -> alert on the topic) while the live
   district is offered at ``--load`` of the worker's measured rate (or at ``--rate`` events/s),
   per alert;
5. ``riskmon replay`` of the topic into a fresh prefix, events/s, and the ratio to
   ``redis-benchmark`` running the same Lua script pipelined (benchmarks/redis_baseline.py);
6. Redis bytes per enterprise of a ``--state-enterprises`` district (state, dedup ledger, due
   index and supervision's keys separately), built by the replay path from the generator's events,
   with the dedup ledger kept in a window of ``--ledger-window`` offsets per partition (0: the
   full ledger; ``RISKMON_LEDGER_WINDOW``);
7. seconds to reclassify every enterprise after a threshold change, at each size of
   ``--reclassify``: the first from the district of step 6; larger ones copy its enterprises
   under new keys (same states, so the same work per enterprise) to reach the size.
8. scaling: 1, 2 and 4 workers of one group on a 16-partition topic, each count applying a
   ``--scaling-enterprises`` district: events/s and the CPU per event of Redis and of each
   worker, and from those the workers and Redis masters a load needs
   (benchmarks/scaling.py).

Prints a table and writes the figures, with the machine they ran on, as JSON. Asserts
nothing: the test suite runs it once with ``--quick`` so that it keeps working.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import redis

from benchmarks.probes import applied_counter, cpu_seconds, wait_until
from district.generator import DistrictSpec, lines, live_events
from jobs.replay import file_records, from_thread, replay, topic_batches
from local.embedded import EmbeddedKafka, EmbeddedRedis, free_port
from local.feed import Pacer, keyed_lines, publish
from local.worker_process import spawn_worker, stop_worker, wait_ready
from schemas.alerts import ALERT_CLASS_CHANGED
from schemas.codec import encode_event
from scoring.model import ScoringModel, load_model
from scoring.store import Keys
from streams.topics import TopicSpec, ensure_topics

__all__ = ["Sizes", "drop_prefix", "local_redis_url", "main", "parse", "run"]

PARTITIONS = 4
MAX_EVENT_BYTES = 64 * 1024
#: The end of the simulated history: fixed, so that a seed gives the same events every day.
NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
_POLL_SECONDS = 0.005
#: The live load is sent in steps of a millisecond: even, and no sleep per event.
_PACE_SECONDS = 0.001


@dataclass(frozen=True)
class Sizes:
    enterprises: int = 20_000
    state_enterprises: int = 100_000
    reclassify: tuple[int, ...] = (100_000, 1_000_000)
    latency_seconds: float = 20.0
    load: float = 0.5
    #: The latency phase's offered load in events/s, instead of ``load`` of the measured rate.
    rate: float | None = None
    rounds: int = 2
    redis_benchmark_requests: int = 200_000
    #: The state phase's dedup ledger window, offsets per partition (0: the full ledger).
    ledger_window: int = 0
    #: The scaling phase's district: published once per worker count (benchmarks/scaling.py).
    scaling_enterprises: int = 20_000
    #: Loads (events/s) the scaling phase works out workers and Redis masters for.
    scaling_loads: tuple[int, ...] = (1_000, 10_000, 100_000)


QUICK = Sizes(
    enterprises=300,
    state_enterprises=1_000,
    reclassify=(1_000, 3_000),
    latency_seconds=3.0,
    rounds=1,
    redis_benchmark_requests=2_000,
    scaling_enterprises=200,
)


def local_redis_url(stack: contextlib.ExitStack) -> str:
    """The Redis on 127.0.0.1:6379 if one answers, else an embedded one for ``stack``'s life."""
    try:
        r = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5)
        r.ping()
        r.close()
        return "redis://127.0.0.1:6379/0"
    except redis.RedisError:
        return stack.enter_context(EmbeddedRedis()).url


def drop_prefix(r: redis.Redis, prefix: str) -> None:
    """Unlink every key under ``prefix``."""
    batch: list[bytes] = []
    for key in r.scan_iter(match=f"{prefix}:*", count=5_000):
        batch.append(key)
        if len(batch) >= 5_000:
            r.unlink(*batch)
            batch = []
    if batch:
        r.unlink(*batch)


def memory_usage(r: redis.Redis, pattern: str) -> tuple[int, int]:
    """(bytes, keys) of MEMORY USAGE summed over the keys matching ``pattern``, pipelined."""
    total = n = 0
    page: list[bytes] = []

    def flush() -> None:
        nonlocal total
        pipe = r.pipeline(transaction=False)
        for key in page:
            pipe.memory_usage(key, samples=0)
        total += sum(int(v or 0) for v in pipe.execute())
        page.clear()

    for key in r.scan_iter(match=pattern, count=5_000):
        page.append(key)
        n += 1
        if len(page) >= 5_000:
            flush()
    if page:
        flush()
    return total, n


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


class _Phase:
    """Prints a phase's name as it starts and its duration as it ends (the run takes minutes)."""

    def __init__(self, name: str, quiet: bool) -> None:
        self.name, self.quiet = name, quiet

    def __enter__(self) -> None:
        self.t0 = time.perf_counter()
        if not self.quiet:
            print(f"  {self.name} ...", file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if not self.quiet:
            took = time.perf_counter() - self.t0
            print(f"  {self.name}: {took:.1f}s", file=sys.stderr, flush=True)


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _ceiling(bootstrap: str, topic: str, n: int, runtime: str = "stock") -> float:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.ceiling", bootstrap, topic, str(n), runtime],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    lines_ = (out.stdout + out.stderr).splitlines()
    figure = next((ln[ln.index("{") :] for ln in lines_ if '{"events"' in ln), None)
    if figure is None:
        raise RuntimeError("the ceiling run printed no figure:\n" + "\n".join(lines_[-20:]))
    return float(json.loads(figure)["events_per_second"])


def _applied(r: redis.Redis, keys: Keys) -> Callable[[], int]:
    return applied_counter(r, keys, PARTITIONS)


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    wait_until(predicate, timeout, what)


def _cpu_seconds(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds each process has used so far (a process that is gone is left out)."""
    used = {name: cpu_seconds(pid) for name, pid in pids.items()}
    return {name: u for name, u in used.items() if u is not None}


def _latency(
    bootstrap: str,
    topics: dict[str, str],
    spec: DistrictSpec,
    offered: float,
    seconds: float,
    applied: Callable[[], int],
    already: int,
    pids: dict[str, int],
) -> tuple[list[float], int, dict[str, float]]:
    """Per alert: its record's timestamp minus the send time of the event that caused it.
    Offers ``offered`` events/s for ``seconds``, or as many events as the district of the
    throughput phase (``already``) if that is fewer: a tiny district's rate means little.
    Also the cores each of ``pids`` used while the load was sent (where /proc tells)."""
    from kafka import KafkaConsumer, TopicPartition

    count = max(1, min(int(offered * seconds), already))
    # Encoded before the clock starts: the paced loop only sends, so the load generator takes
    # as little as it can of the CPU the worker, broker and Redis share with it.
    t0 = dt.datetime.now(dt.UTC)
    times = (t0 + dt.timedelta(seconds=i / offered) for i in range(count))
    records = [(ev.id, ev.subject.encode(), encode_event(ev)) for ev in live_events(spec, times)]
    sent: dict[str, float] = {}

    def stamped() -> Iterator[tuple[bytes, bytes]]:
        for eid, key, value in records:
            sent[eid] = time.time()  # as it is handed to the producer
            yield key, value

    pacer = Pacer(offered, tick_seconds=_PACE_SECONDS)
    before, started = _cpu_seconds(pids), time.perf_counter()
    publish(stamped(), bootstrap=bootstrap, topic=topics["events"], pacer=pacer)
    wall, after = time.perf_counter() - started, _cpu_seconds(pids)
    cores = {name: (after[name] - before[name]) / wall for name in after.keys() & before.keys()}
    _wait(lambda: applied() >= already + len(sent), 300, "the live events to be applied")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topics["alerts"], p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        out: list[float] = []
        quiet = 0
        while quiet < 3:  # until quiet: Tansu's end offsets can stop short
            polled = consumer.poll(timeout_ms=300)
            quiet = 0 if polled else quiet + 1
            for msgs in polled.values():
                for m in msgs:
                    doc = orjson.loads(m.value)
                    if doc["type"] != ALERT_CLASS_CHANGED:
                        continue  # supervision's outputs share the topic (overdue has no cause)
                    cause = doc["data"]["cause"]["id"]
                    if cause in sent:
                        out.append(max(0.0, m.timestamp / 1000 - sent[cause]))
        return out, len(sent), cores
    finally:
        consumer.close()


def _threshold_change(model: ScoringModel) -> ScoringModel:
    """The default model with every class boundary 20% lower: a realistic tightening."""
    t = model.thresholds
    lowered = t.model_copy(
        update={"b_from": t.b_from * 0.8, "c_from": t.c_from * 0.8, "d_from": t.d_from * 0.8}
    )
    return model.model_copy(update={"version": f"{model.version}-bench", "thresholds": lowered})


def _clone(r: redis.Redis, src: str, dst: str, copies: int) -> int:
    """Copy every enterprise of prefix ``src`` ``copies`` times under prefix ``dst`` (same
    partition, the USCC suffixed), with the partitions' class counts; returns the count."""
    n = 0
    into = Keys(dst)
    for p in range(PARTITIONS):
        for bucket in Keys(src).buckets(p):
            pipe = r.pipeline(transaction=False)
            for name, value in r.hscan_iter(bucket, count=2_000):
                uscc = name.decode()
                for c in range(copies):
                    copy = f"{uscc}~{c}"
                    pipe.hset(into.states(p, copy), copy, value)
                    n += 1
                if len(pipe) >= 10_000:
                    pipe.execute()
            pipe.execute()
        counts = r.hgetall(Keys(src).meta(p))
        for name, v in counts.items():
            if name in (b"A", b"B", b"C", b"D"):
                r.hincrby(into.meta(p), name.decode(), int(v) * copies)
    return n


def _write_district(path: Path, spec: DistrictSpec) -> int:
    n = 0
    with path.open("wb") as f:
        for line in lines(spec):
            f.write(line + b"\n")
            n += 1
    return n


PHASES = ("stream", "replay", "state", "scaling")


@dataclass
class _Bench:
    """What every phase shares: one broker, one Redis, one scratch directory, the figures."""

    sizes: Sizes
    quiet: bool
    stack: contextlib.ExitStack
    tmp: Path
    bootstrap: str
    broker_pid: int | None
    url: str
    r: redis.Redis
    run_id: str
    model: ScoringModel
    figures: dict[str, Any]
    prefixes: list[str] = field(default_factory=list)

    def prefix(self, name: str) -> str:
        """A fresh key prefix of this run, deleted when the run ends. Seven characters, as
        long as the default ``riskmon``, so that bytes per enterprise are production's."""
        self.prefixes.append(name)
        prefix = f"b{self.run_id[:4]}{len(self.prefixes):02d}"
        self.stack.callback(drop_prefix, self.r, prefix)
        return prefix

    def phase(self, name: str) -> _Phase:
        return _Phase(name, self.quiet)


def run(sizes: Sizes, quiet: bool = False, phases: tuple[str, ...] = PHASES) -> dict[str, Any]:
    """Every figure of one run (see the module docstring); ``phases`` selects groups of them:
    "stream" (ceiling, worker, latency), "replay" (replay and redis-benchmark; it replays the
    stream phase's topic, or a district of the same size), "state" (bytes and reclassify)."""
    figures: dict[str, Any] = {"machine": machine(), "sizes": sizes.__dict__}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="riskmon-bench-")))
        with _Phase("start the broker and Redis", quiet):
            kafka = stack.enter_context(EmbeddedKafka())
            url = local_redis_url(stack)
        r = redis.Redis.from_url(url, socket_timeout=120)
        stack.callback(r.close)
        figures["machine"]["redis"] = r.info("server").get("redis_version")
        b = _Bench(
            sizes,
            quiet,
            stack,
            tmp,
            kafka.bootstrap,
            kafka.pid,
            url,
            r,
            uuid.uuid4().hex[:8],
            load_model(),
            figures,
        )
        if "stream" in phases or "replay" in phases:
            topic = _fill(b)
            if "stream" in phases:
                _stream(b, topic)
            if "replay" in phases:
                _replay_phase(b, topic)
        if "state" in phases:
            _state(b)
        if "scaling" in phases:
            _scaling(b)
    return figures


def _scaling(b: _Bench) -> None:
    from benchmarks import scaling

    spec = DistrictSpec(now=NOW, enterprises=b.sizes.scaling_enterprises, seed=5)
    points = []
    for n in scaling.WORKERS:
        with b.phase(f"scaling: {n} worker(s) on {scaling.PARTITIONS} partitions"):
            points.append(
                scaling.measure(
                    bootstrap=b.bootstrap,
                    redis_url=b.url,
                    r=b.r,
                    tmp=b.tmp,
                    prefix=b.prefix(f"scale{n}"),
                    workers=n,
                    spec=spec,
                )
            )
    b.figures["scaling"] = [p.as_dict() for p in points]
    b.figures["scaling_table"] = scaling.table(points, b.sizes.scaling_loads)


def _fill(b: _Bench) -> dict[str, str]:
    live = b.prefix("live")
    topics = {k: f"{live}.{k}" for k in ("events", "alerts", "tasks", "dlq")}
    ensure_topics(b.bootstrap, [TopicSpec(t, PARTITIONS) for t in topics.values()])
    spec = DistrictSpec(now=NOW, enterprises=b.sizes.enterprises, seed=3)
    with b.phase(f"fill the topic with a {b.sizes.enterprises:,}-enterprise district"):
        b.figures["events"] = publish(
            keyed_lines(spec), bootstrap=b.bootstrap, topic=topics["events"], pacer=Pacer(None)
        )
    topics["prefix"] = live
    return topics


def _stream(b: _Bench, topics: dict[str, str]) -> None:
    # Ceiling and worker take turns, ``rounds`` times each, and the best of each counts: on
    # a shared machine a neighbour's burst then spoils one turn, not the ratio. The target's
    # reference is stock Faust on asyncio's loop. The worker runs on a leaner runtime (uvloop,
    # and a Faust transport that hands records over without a task each), so the ceiling is
    # also measured on that runtime: the gap to it is what riskmon's own work costs.
    n = b.figures["events"]
    runtimes = ("stock", "riskmon")
    ceilings: dict[str, list[float]] = {rt: [] for rt in runtimes}
    rates: list[float] = []
    for i in range(b.sizes.rounds):
        for rt in runtimes:
            with b.phase(f"Faust ceiling, {rt} runtime, round {i + 1}"):
                ceilings[rt].append(_ceiling(b.bootstrap, topics["events"], n, rt))
        prefix = topics["prefix"] if i == 0 else b.prefix(f"live{i}")
        with b.phase(f"riskmon worker, round {i + 1}"):
            proc, applied = _start_worker(b, topics, prefix)
            rates.append(_rate(applied, n))
        if i < b.sizes.rounds - 1:
            stop_worker(proc)  # the next ceiling runs alone
    ceiling, own, rate = max(ceilings["stock"]), max(ceilings["riskmon"]), max(rates)
    b.figures["faust_ceiling_events_per_second"] = ceiling
    b.figures["faust_ceiling_riskmon_runtime_events_per_second"] = own
    b.figures["worker_events_per_second"] = rate
    b.figures["worker_ratio_to_ceiling"] = rate / ceiling
    b.figures["worker_ratio_to_riskmon_runtime_ceiling"] = rate / own
    b.figures["faust_ceiling_rounds"] = ceilings["stock"]
    b.figures["faust_ceiling_riskmon_runtime_rounds"] = ceilings["riskmon"]
    b.figures["worker_rounds"] = rates

    offered = b.sizes.rate or rate * b.sizes.load
    spec = DistrictSpec(now=NOW, enterprises=b.sizes.enterprises, seed=3)
    with b.phase(f"latency at {offered:,.0f} events/s"):
        pids = {"worker": proc.pid, "load generator": os.getpid()}
        if b.broker_pid is not None:
            pids["broker"] = b.broker_pid
        pids["redis"] = int(b.r.info("server")["process_id"])
        samples, live_n, cores = _latency(
            b.bootstrap, topics, spec, offered, b.sizes.latency_seconds, applied, n, pids
        )
    b.figures["latency_offered_events_per_second"] = offered
    b.figures["latency_events"] = live_n
    b.figures["latency_alerts_sampled"] = len(samples)
    for q in (50, 95, 99):
        b.figures[f"latency_p{q}_ms"] = _percentile(samples, q) * 1000
    for name, used in cores.items():
        b.figures[f"latency_cpu_{name.replace(' ', '_')}_cores"] = used
    stop_worker(proc)


def _rate(applied: Callable[[], int], n: int) -> float:
    """Events/s of a worker from its first applied event to its ``n``-th (a tiny district can
    be applied between two polls: the interval is then one poll, not zero)."""
    _wait(lambda: applied() > 0, 300, "the worker's first event")
    t0 = time.perf_counter()
    _wait(lambda: applied() >= n, 900, "the worker to apply the district")
    return n / max(time.perf_counter() - t0, _POLL_SECONDS)


def _start_worker(
    b: _Bench, topics: dict[str, str], prefix: str
) -> tuple[subprocess.Popen[bytes], Callable[[], int]]:
    """A worker (its own prefix and group) reading the district topic from its beginning."""
    web_port = free_port()
    env = {
        "RISKMON_KAFKA_BOOTSTRAP": b.bootstrap,
        "RISKMON_REDIS_URL": b.url,
        "RISKMON_REDIS_PREFIX": prefix,
        "RISKMON_GROUP_ID": f"riskmon-{prefix}",
        "RISKMON_EVENTS_TOPIC": topics["events"],
        "RISKMON_ALERTS_TOPIC": topics["alerts"],
        "RISKMON_TASKS_TOPIC": topics["tasks"],
        "RISKMON_DLQ_TOPIC": topics["dlq"],
        "RISKMON_PARTITIONS": str(PARTITIONS),
        "RISKMON_WEB_PORT": str(web_port),
        "RISKMON_DATA_DIR": str(b.tmp / f"faust-data-{prefix}"),
        "RISKMON_RUN_FILE": str(b.tmp / "run.json"),
        "RISKMON_TICK_SECONDS": "3600",  # measure the event path, not the ticker
        "RISKMON_LOG_LEVEL": "warn",
    }
    log = b.tmp / f"worker-{prefix}.log"
    proc = spawn_worker(env, log)
    b.stack.callback(stop_worker, proc)
    wait_ready(f"http://127.0.0.1:{web_port}", proc, log, timeout=120)
    return proc, _applied(b.r, Keys(prefix))


def _replay_phase(b: _Bench, topics: dict[str, str]) -> None:
    from benchmarks import redis_baseline

    with b.phase("replay from the topic"):
        stats = asyncio.run(
            _replay_topic(b.bootstrap, topics["events"], b.url, b.prefix("replay"), b.model)
        )
    b.figures["replay_events"] = stats.records
    b.figures["replay_events_per_second"] = stats.events_per_second
    with b.phase("redis-benchmark of apply.lua"):
        kwargs = b.r.connection_pool.connection_kwargs
        try:
            base = redis_baseline.run(
                str(kwargs["host"]), int(kwargs["port"]), requests=b.sizes.redis_benchmark_requests
            )
        except redis_baseline.NoRedisBenchmarkError as exc:
            b.figures["redis_benchmark_missing"] = str(exc)
            return
    rate = base["redis_benchmark_events_per_second"]
    b.figures["redis_benchmark_events_per_second"] = rate
    b.figures["replay_ratio_to_redis_benchmark"] = stats.events_per_second / rate


def _state(b: _Bench) -> None:
    from jobs.reclassify import reclassify_prefix

    size = b.sizes.state_enterprises
    state_prefix = b.prefix("state")
    with b.phase(f"state of a {size:,}-enterprise district"):
        path = b.tmp / "district.jsonl"
        events = _write_district(path, DistrictSpec(now=NOW, enterprises=size, seed=5))
        batches = from_thread(file_records(path, "district", PARTITIONS))
        asyncio.run(
            _replay(batches, b.url, state_prefix, b.model, PARTITIONS, b.sizes.ledger_window)
        )
    state, _ = memory_usage(b.r, f"{state_prefix}:s:*")
    ents = sum(b.r.hlen(h) for p in range(PARTITIONS) for h in Keys(state_prefix).buckets(p))
    ledger, _ = memory_usage(b.r, f"{state_prefix}:l:*")
    entries = sum(int(b.r.hlen(k)) for k in b.r.scan_iter(match=f"{state_prefix}:l:*"))
    due, _ = memory_usage(b.r, f"{state_prefix}:due:*")
    # supervision's keys (supervision/store/keys.py): its ledger apart from the rest
    sup_all, _ = memory_usage(b.r, f"{state_prefix}:sup:*")
    sup_seen, _ = memory_usage(b.r, f"{state_prefix}:sup:seen:*")
    f = b.figures
    f["state_enterprises"] = ents
    f["state_events"] = events
    f["state_bytes_per_enterprise"] = state / ents
    f["ledger_bytes_per_enterprise"] = ledger / ents
    f["ledger_bytes_per_event"] = ledger / events
    f["ledger_window"] = b.sizes.ledger_window
    f["ledger_entries"] = entries
    f["ledger_bytes_per_entry"] = ledger / max(entries, 1)
    f["due_index_bytes_per_enterprise"] = due / ents
    f["supervision_bytes_per_enterprise"] = (sup_all - sup_seen) / ents
    f["supervision_ledger_bytes_per_event"] = sup_seen / events

    changed = _threshold_change(b.model)
    copies_prefix = b.prefix("copies")
    for count in b.sizes.reclassify:
        prefix = state_prefix
        if count > ents:
            copies = -(-count // ents)
            with b.phase(f"copy the district's states to {ents * copies:,} enterprises"):
                drop_prefix(b.r, copies_prefix)
                _clone(b.r, state_prefix, copies_prefix, copies)
            prefix = copies_prefix
        with b.phase(f"reclassify {count:,}"):
            result = asyncio.run(reclassify_prefix(b.url, prefix, changed, PARTITIONS))
        f[f"reclassify_{count}_enterprises"] = result.scanned
        f[f"reclassify_{count}_changed"] = result.changed
        f[f"reclassify_{count}_seconds"] = result.seconds
        # Back to the old thresholds, so that the next size starts from the same states.
        asyncio.run(reclassify_prefix(b.url, state_prefix, b.model, PARTITIONS))


async def _replay(
    batches: Any, url: str, prefix: str, model: ScoringModel, parts: int, ledger_window: int = 0
) -> Any:
    return await replay(
        batches,
        redis_url=url,
        prefix=prefix,
        model=model,
        partitions=parts,
        max_event_bytes=MAX_EVENT_BYTES,
        ledger_window=ledger_window,
    )


async def _replay_topic(
    bootstrap: str, topic: str, url: str, prefix: str, model: ScoringModel
) -> Any:
    parts, batches = await topic_batches(bootstrap, topic)
    return await _replay(batches, url, prefix, model, parts)


_ROWS: tuple[tuple[str, str, str, str], ...] = (
    # (figure, label, unit / format, target)
    (
        "faust_ceiling_events_per_second",
        "Faust ceiling (agent that only iterates; stock Faust, asyncio)",
        "{:,.0f} ev/s",
        "",
    ),
    (
        "faust_ceiling_riskmon_runtime_events_per_second",
        "the same agent on the worker's runtime (uvloop, lean hand-off)",
        "{:,.0f} ev/s",
        "",
    ),
    ("worker_events_per_second", "riskmon worker, same events", "{:,.0f} ev/s", ""),
    ("worker_ratio_to_ceiling", "  ratio to stock Faust's ceiling", "{:.2f}", ">= 0.85"),
    (
        "worker_ratio_to_riskmon_runtime_ceiling",
        "  ratio to the ceiling on its own runtime",
        "{:.2f}",
        "",
    ),
    ("latency_offered_events_per_second", "latency: offered load", "{:,.0f} ev/s", ""),
    ("latency_p50_ms", "  p50 event -> alert on the topic", "{:,.0f} ms", ""),
    ("latency_p95_ms", "  p95", "{:,.0f} ms", ""),
    ("latency_p99_ms", "  p99", "{:,.0f} ms", "<= 100 ms"),
    ("latency_cpu_worker_cores", "  CPU meanwhile: the worker", "{:.2f} cores", ""),
    ("latency_cpu_broker_cores", "  the broker (Tansu)", "{:.2f} cores", ""),
    ("latency_cpu_redis_cores", "  Redis", "{:.2f} cores", ""),
    (
        "latency_cpu_load_generator_cores",
        "  the load generator (librdkafka, paced)",
        "{:.2f} cores",
        "",
    ),
    ("replay_events_per_second", "replay from the topic", "{:,.0f} ev/s", ""),
    (
        "redis_benchmark_events_per_second",
        "redis-benchmark, apply.lua pipelined",
        "{:,.0f} ev/s",
        "",
    ),
    ("replay_ratio_to_redis_benchmark", "  replay's ratio to it", "{:.2f}", ">= 0.8"),
    ("state_bytes_per_enterprise", "state, bytes per enterprise", "{:,.0f} B", "<= 300"),
    ("ledger_bytes_per_enterprise", "dedup ledger, bytes per enterprise", "{:,.0f} B", ""),
    ("ledger_bytes_per_event", "dedup ledger, bytes per event", "{:,.0f} B", ""),
    ("ledger_window", "  its window, offsets per partition (0: none)", "{:,}", ""),
    ("ledger_entries", "  its entries", "{:,}", ""),
    ("ledger_bytes_per_entry", "  bytes per entry", "{:,.0f} B", ""),
    ("due_index_bytes_per_enterprise", "due index, bytes per enterprise", "{:,.0f} B", ""),
    (
        "supervision_bytes_per_enterprise",
        "supervision (tasks, periods, due, counts), bytes per enterprise",
        "{:,.0f} B",
        "",
    ),
    (
        "supervision_ledger_bytes_per_event",
        "supervision ledger, bytes per event",
        "{:,.0f} B",
        "",
    ),
)


def table(figures: dict[str, Any]) -> str:
    """The figures as a Markdown table (what the README shows)."""
    out = ["| figure | value | target |", "|---|---:|---|"]
    for key, label, fmt, target in _ROWS:
        if key in figures:
            out.append(f"| {label} | {fmt.format(figures[key])} | {target} |")
    if "redis_benchmark_missing" in figures:
        out.append(f"| redis-benchmark baseline | n/a: {figures['redis_benchmark_missing']} | |")
    sizes = figures["sizes"]["reclassify"]
    for size in sizes:
        secs = figures.get(f"reclassify_{size}_seconds")
        if secs is not None:
            target = "<= 10 s" if size == 1_000_000 else ""
            changed = figures[f"reclassify_{size}_changed"]
            out.append(
                f"| reclassify {size:,} enterprises ({changed:,} change class) "
                f"| {secs:.1f} s | {target} |"
            )
    if "scaling_table" in figures:
        out += ["", "```", figures["scaling_table"], "```"]
    m = figures["machine"]
    what = []
    if "events" in figures:
        n, size = figures["events"], figures["sizes"]["enterprises"]
        what.append(f"{n:,} events of a {size:,}-enterprise district")
    if "state_enterprises" in figures:
        what.append(
            f"state of {figures['state_enterprises']:,} enterprises"
            f" ({figures['state_events']:,} events)"
        )
    out.append("")
    out.append(
        "; ".join(what) + f". {m['cpu']}, {m['cores']} cores, Python {m['python']},"
        f" Redis {m['redis']}, {m['system']}, {m['date']}."
    )
    return "\n".join(out)


def parse(argv: list[str] | None = None) -> tuple[Sizes, tuple[str, ...], Path]:
    """The sizes, phases and JSON path of a command line; exits with a message if it is bad."""
    ap = argparse.ArgumentParser(
        prog="riskmon bench",
        description=_plain(__doc__ or ""),
        formatter_class=argparse.RawTextHelpFormatter,
    )
    d = Sizes()
    ap.add_argument("--enterprises", type=int, default=d.enterprises)
    ap.add_argument("--state-enterprises", type=int, default=d.state_enterprises)
    ap.add_argument(
        "--reclassify",
        default=",".join(str(v) for v in d.reclassify),
        help="enterprise counts, comma-separated (default 100000,1000000)",
    )
    ap.add_argument("--latency-seconds", type=float, default=d.latency_seconds)
    ap.add_argument(
        "--scaling-enterprises",
        type=int,
        default=d.scaling_enterprises,
        help="scaling: the district each worker count applies",
    )
    ap.add_argument("--load", type=float, default=d.load, help="latency: share of the max rate")
    ap.add_argument(
        "--rate", type=float, default=None, help="latency: offered events/s, instead of --load"
    )
    ap.add_argument(
        "--rounds", type=int, default=d.rounds, help="ceiling and worker turns; best counts"
    )
    ap.add_argument(
        "--ledger-window",
        type=int,
        default=d.ledger_window,
        help="state: the dedup ledger's window, offsets per partition (0: the full ledger)",
    )
    ap.add_argument("--json", type=Path, default=Path("bench.json"), help="default bench.json")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks that it runs")
    ap.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="which groups of figures: stream (ceiling, worker, latency), replay, state"
        " (bytes, reclassify), scaling (1, 2, 4 workers on 16 partitions); default all",
    )
    a = ap.parse_args(argv)
    if a.rate is not None and not a.rate > 0:
        ap.error(f"--rate: must be more than 0 events/s, not {a.rate:g}")
    if a.ledger_window < 0:
        ap.error(f"--ledger-window: must be 0 or more offsets, not {a.ledger_window}")
    if a.quick:
        sizes = dataclasses.replace(QUICK, rate=a.rate, ledger_window=a.ledger_window)
    else:
        try:
            counts = tuple(int(v) for v in a.reclassify.split(",") if v.strip())
        except ValueError:
            ap.error(f"--reclassify: not a list of numbers: {a.reclassify!r}")
        sizes = Sizes(
            enterprises=a.enterprises,
            state_enterprises=a.state_enterprises,
            reclassify=counts,
            latency_seconds=a.latency_seconds,
            load=a.load,
            rate=a.rate,
            rounds=max(1, a.rounds),
            ledger_window=a.ledger_window,
            scaling_enterprises=a.scaling_enterprises,
        )
    phases = tuple(v.strip() for v in a.phases.split(",") if v.strip())
    if unknown := set(phases) - set(PHASES):
        ap.error(f"--phases: unknown {', '.join(sorted(unknown))}; choose from {', '.join(PHASES)}")
    return sizes, phases, a.json


def _plain(text: str) -> str:
    """The module's docstring as help text: without reStructuredText's double backquotes."""
    return text.replace("``", "")


def main(argv: list[str] | None = None) -> int:
    sizes, phases, json_path = parse(argv)
    try:
        figures = run(sizes, phases=phases)
    except RuntimeError as exc:
        print(f"riskmon bench: {exc}", file=sys.stderr)
        return 1
    json_path.write_text(json.dumps(figures, indent=2) + "\n")
    print(table(figures))
    print(f"\nfigures written to {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
