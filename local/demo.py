"""``riskmon demo``: a live district on one machine, and a terminal dashboard of it.

Processes: this one holds the embedded broker and Redis (unless configured), a feeder thread
that publishes the synthetic district's history at a paced rate and then its live events (event
time = now) at a slower one, and the dashboard; the worker runs as
its own process (``riskmon run`` pointed at the same servers), so nothing here can block the
worker's event loop. The dashboard reads what an operator would: ``/metrics`` and ``/healthz``
of the worker, Redis (class counts per partition, and a bounded SCAN of enterprise states for
the riskiest industries and divisions) and the alerts and tasks topics.

Ctrl-C (or SIGTERM, or ``--seconds``) stops the feeder, then the worker (SIGINT, SIGKILL after a
grace period), then the servers; nothing is left running.
"""

from __future__ import annotations

import collections
import contextlib
import signal
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import orjson
import redis

from district.generator import DistrictSpec
from local.feed import DistrictFeed, default_now
from local.worker_process import spawn_worker, stop_worker, tail, wait_ready
from schemas.classes import CLASSES, class_name
from scoring.store import STATE_BUCKETS, Keys, decode_state
from streams.settings import Settings

__all__ = ["Dashboard", "cmd_demo"]

_DIVISION_NAMES = {
    "610102": "新城 Xincheng",
    "610103": "碑林 Beilin",
    "610104": "莲湖 Lianhu",
    "610111": "灞桥 Baqiao",
    "610112": "未央 Weiyang",
    "610113": "雁塔 Yanta",
    "610114": "阎良 Yanliang",
    "610115": "临潼 Lintong",
    "610116": "长安 Chang'an",
    "610117": "高陵 Gaoling",
    "610118": "鄠邑 Huyi",
}
_SECTION_NAMES = {
    "C": "manufacturing",
    "E": "construction",
    "F": "wholesale & retail",
    "G": "transport",
    "H": "accommodation & catering",
    "I": "information services",
    "K": "real estate",
    "L": "leasing & business services",
    "M": "science & technology",
    "O": "residents' services",
}
#: Enterprise states examined per refresh, and the most remembered (a sample beyond that).
_SCAN_PER_REFRESH = 5_000
_SAMPLE_MAX = 100_000


@dataclass
class Dashboard:
    """What the terminal shows; :meth:`refresh` reads, :meth:`render` draws (no I/O there).

    "processed" is what the worker counted, apart: the events fed (which it may not have caught
    up with yet) and the ticker's re-evaluations, records the worker writes to the events topic
    itself only for a partition idle for RISKMON_IDLE_SECONDS with a change due (so processed
    can exceed fed). "time-driven changes" are the class changes time alone made (a penalty
    fading, a listing's period ending), as the events' time passed their due moment
    (``riskmon_time_driven_changes_total``): most come with fed events, not with the ticker."""

    settings: Settings
    web: str
    redis_client: Any
    consumer: Any
    fed: int = 0
    phase: str = ""
    events_total: float = 0.0
    reevaluations: float = 0.0
    time_driven: float = 0.0
    events_per_second: float = 0.0
    lag: int | None = None
    classes: dict[str, int] = field(default_factory=dict)
    alerts: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=8))
    tasks: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=4))
    alert_count: int = 0
    task_count: int = 0
    sample: dict[bytes, tuple[str, str, str]] = field(default_factory=dict)
    _cursors: dict[int, tuple[int, int]] = field(default_factory=dict)
    _last: tuple[float, float] | None = None

    def refresh(self) -> None:
        self._metrics()
        self._classes()
        self._outputs()
        self._scan()

    def _get(self, path: str) -> bytes | None:
        try:
            with urllib.request.urlopen(self.web + path, timeout=2) as resp:
                return bytes(resp.read())
        except OSError as exc:
            body = getattr(exc, "read", None)
            return bytes(body()) if callable(body) else None

    def _metrics(self) -> None:
        text = self._get("/metrics")
        if text is not None:
            total = reevaluations = 0.0
            for line in text.decode().splitlines():
                if line.startswith("riskmon_events_total{"):
                    n = float(line.rsplit(" ", 1)[1])
                    total += n
                    # the ticker's own records: processed, but never fed
                    if 'type="riskmon.reevaluate"' in line:
                        reevaluations += n
                elif line.startswith("riskmon_time_driven_changes_total "):
                    self.time_driven = float(line.rsplit(" ", 1)[1])
            self.reevaluations = reevaluations
            now = time.monotonic()
            if self._last is not None and now > self._last[0]:
                self.events_per_second = (total - self._last[1]) / (now - self._last[0])
            self._last = (now, total)
            self.events_total = total
        health = self._get("/healthz")
        if health is not None:
            with contextlib.suppress(ValueError):
                self.lag = int(orjson.loads(health).get("lag", 0))

    def _classes(self) -> None:
        s = self.settings
        pipe = self.redis_client.pipeline(transaction=False)
        for p in range(s.partitions):
            pipe.hmget(Keys(s.redis_prefix).meta(p), *CLASSES)
        totals: dict[str, int] = dict.fromkeys(CLASSES, 0)
        for row in pipe.execute():
            for name, v in zip(CLASSES, row, strict=True):
                totals[name] += int(v or 0)
        self.classes = totals

    def _outputs(self) -> None:
        s = self.settings
        polled = self.consumer.poll(timeout_ms=50, max_records=2_000)
        for tp, msgs in sorted(polled.items(), key=lambda kv: kv[0].partition):
            for m in msgs:
                try:
                    doc = orjson.loads(m.value)
                    d = doc["data"]
                except (ValueError, KeyError, TypeError):
                    continue
                when = str(doc.get("time", ""))[:19].replace("T", " ")
                if tp.topic == s.alerts_topic:
                    self.alert_count += 1
                    cause = d.get("cause", {}).get("type", "")
                    self.alerts.append(
                        f"{when}  {doc['subject']}  {d.get('old_class')}→{d.get('new_class')}"
                        f"  {cause}"
                    )
                else:
                    self.task_count += 1
                    self.tasks.append(f"{when}  {doc['subject']}  {d.get('trigger', '')}")

    def _scan(self) -> None:
        # A bounded HSCAN per partition per refresh, resumed where it left off (one state hash
        # after another): the sample of (class, division, section) is current for a small
        # district, and a rolling sample of a large one, at a fixed cost to Redis per second.
        s = self.settings
        keys = Keys(s.redis_prefix)
        per_partition = max(100, _SCAN_PER_REFRESH // s.partitions)
        for p in range(s.partitions):
            bucket, cursor = self._cursors.get(p, (0, 0))
            cursor, page = self.redis_client.hscan(
                keys.buckets(p)[bucket], cursor, count=per_partition
            )
            if int(cursor) == 0:
                bucket = (bucket + 1) % STATE_BUCKETS
            self._cursors[p] = (bucket, int(cursor))
            for uscc, raw in page.items():
                state = decode_state(raw)
                if state is None or state.profile is None:
                    continue
                row = (
                    class_name(state.klass),
                    state.profile.division,
                    state.profile.industry[:1],
                )
                if uscc in self.sample or len(self.sample) < _SAMPLE_MAX:
                    self.sample[uscc] = row

    def riskiest(self, index: int, top: int = 5) -> list[tuple[str, int, int]]:
        """(division or section, C/D enterprises, enterprises) in the sample, most C/D first."""
        cd: collections.Counter[str] = collections.Counter()
        all_: collections.Counter[str] = collections.Counter()
        for row in self.sample.values():
            all_[row[index]] += 1
            if row[0] in ("C", "D"):
                cd[row[index]] += 1
        ranked = sorted(all_, key=lambda k: (-cd[k], -cd[k] / all_[k], k))
        return [(k, cd[k], all_[k]) for k in ranked[:top]]

    def render(self, seconds: float) -> str:
        total = sum(self.classes.values()) or 1
        lag = "?" if self.lag is None else f"{self.lag:,}"
        lines = [
            f"riskmon demo  {seconds:6.0f}s   fed {self.fed:,} events   processed"
            f" {self.events_total - self.reevaluations:,.0f} + {self.reevaluations:,.0f} ticker"
            f" re-evaluations   {self.time_driven:,.0f} time-driven changes"
            f"   {self.events_per_second:,.0f} processed/s   lag {lag}",
            f"  {self.phase}",
            f"API {self.web}/enterprises/{{uscc}}   {self.web}/metrics      (Ctrl-C stops)",
            "",
            "enterprises per class",
        ]
        for c in CLASSES:
            n = self.classes.get(c, 0)
            bar = "█" * round(40 * n / total)
            lines.append(f"  {c} {n:8,}  {100 * n / total:5.1f} %  {bar}")
        sampled = len(self.sample)
        lines += ["", f"riskiest divisions (C/D of {sampled:,} sampled)"]
        for k, cd, n in self.riskiest(1):
            lines.append(f"  {k} {_DIVISION_NAMES.get(k, ''):16} {cd:6,} C/D of {n:7,}")
        lines += ["", "riskiest industries (GB/T 4754 section)"]
        for k, cd, n in self.riskiest(2):
            lines.append(f"  {k} {_SECTION_NAMES.get(k, ''):28} {cd:6,} C/D of {n:7,}")
        lines += ["", f"newest alerts ({self.alert_count:,})"]
        lines += [f"  {a}" for a in sorted(self.alerts, reverse=True)] or ["  (none yet)"]
        lines += ["", f"newest inspection tasks ({self.task_count:,})"]
        lines += [f"  {t}" for t in sorted(self.tasks, reverse=True)] or ["  (none yet)"]
        return "\n".join(lines)


class _Stop(Exception):
    """SIGTERM, turned into an exception so the same clean shutdown runs as for Ctrl-C."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _draw(out: TextIO, board: Dashboard, seconds: float, tty: bool) -> None:
    text = board.render(seconds)
    if tty:
        out.write("\x1b[H\x1b[2J" + text + "\n")
    else:  # a log, not a screen: one status line per refresh
        classes = " ".join(f"{c}={board.classes.get(c, 0)}" for c in CLASSES)
        out.write(f"{text.splitlines()[0]}  | {classes}  alerts={board.alert_count}\n")
    out.flush()


@contextlib.contextmanager
def _servers(settings: Settings) -> Iterator[tuple[str, str]]:
    from local.embedded import EmbeddedKafka, EmbeddedRedis

    with contextlib.ExitStack() as stack:
        bootstrap = settings.kafka_bootstrap or stack.enter_context(EmbeddedKafka()).bootstrap
        redis_url = settings.redis_url or stack.enter_context(EmbeddedRedis()).url
        yield bootstrap, redis_url


def cmd_demo(
    settings: Settings,
    *,
    enterprises: int,
    rate: float,
    seed: int,
    seconds: float | None,
    live_rate: float = 20.0,
    out: TextIO = sys.stdout,
) -> int:
    """The ``riskmon demo`` command; returns the exit status (0 after Ctrl-C too)."""
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _demo(settings, enterprises, rate, live_rate, seed, seconds, out)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, previous)


def _demo(
    settings: Settings,
    enterprises: int,
    rate: float,
    live_rate: float,
    seed: int,
    seconds: float | None,
    out: TextIO,
) -> int:
    from kafka import KafkaConsumer, TopicPartition

    from streams.topics import ensure_topics, topic_specs

    s = settings
    tty = out.isatty()
    started = time.monotonic()
    stop = threading.Event()
    with contextlib.ExitStack() as stack:
        try:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="riskmon-demo-")))
            print("riskmon demo: starting the broker, Redis and the worker ...", file=out)
            bootstrap, redis_url = stack.enter_context(_servers(s))
            ensure_topics(bootstrap, topic_specs(s))
            web = f"http://{s.web_host}:{s.web_port}"
            log = tmp / "worker.log"
            env = {
                "RISKMON_KAFKA_BOOTSTRAP": bootstrap,
                "RISKMON_REDIS_URL": redis_url,
                "RISKMON_WEB_PORT": str(s.web_port),
                "RISKMON_DATA_DIR": str(tmp / "faust-data"),
                "RISKMON_LOG_LEVEL": "warn",
            }
            proc = spawn_worker(env, log)
            stack.callback(stop_worker, proc)
            print(f"  kafka {bootstrap}   redis {redis_url}   api {web}", file=out)
            print(f"  worker log {log}", file=out, flush=True)
            wait_ready(web, proc, log, timeout=120)

            spec = DistrictSpec(now=default_now(), enterprises=enterprises, seed=seed)
            feed = DistrictFeed(spec, bootstrap, s.events_topic, rate, live_rate, stop)
            feeder = threading.Thread(target=feed.run, name="riskmon-demo-feeder", daemon=True)
            feeder.start()
            stack.callback(feeder.join, 60)
            stack.callback(stop.set)

            client = redis.Redis.from_url(redis_url, socket_timeout=5)
            stack.callback(client.close)
            consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","))
            stack.callback(consumer.close)
            tps = [
                TopicPartition(t, p)
                for t in (s.alerts_topic, s.tasks_topic)
                for p in range(s.partitions)
            ]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            board = Dashboard(s, web, client, consumer)
            announced = False
            while seconds is None or time.monotonic() - started < seconds:
                tick = time.monotonic()
                if proc.poll() is not None:
                    print(f"the worker exited ({proc.returncode}):\n{tail(log)}", file=out)
                    return 1
                board.fed, board.phase = feed.count, feed.phase()
                if feed.history is not None and not announced and not tty:
                    print(board.phase, file=out, flush=True)  # a screen shows it in the board
                    announced = True
                with contextlib.suppress(redis.RedisError):
                    board.refresh()
                _draw(out, board, time.monotonic() - started, tty)
                time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
        except (KeyboardInterrupt, _Stop):
            pass
        except RuntimeError as exc:
            print(f"riskmon demo: {exc}", file=sys.stderr)
            return 1
        finally:
            # A second Ctrl-C must not cut the shutdown short and leave a server behind.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            stop.set()
            print("riskmon demo: stopping ...", file=out, flush=True)
    print("riskmon demo: stopped; nothing left running", file=out, flush=True)
    return 0
