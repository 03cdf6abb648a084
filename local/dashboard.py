"""What ``riskmon demo`` shows in the terminal: :class:`Dashboard` reads what an operator would
(``/metrics``, ``/healthz`` and ``/stats/discovery`` of the worker, Redis: class counts per
partition and a bounded SCAN of enterprise states for the riskiest industries and divisions,
and the alerts and tasks topics) and draws it (:meth:`Dashboard.render`, no I/O).
"""

from __future__ import annotations

import collections
import contextlib
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import orjson

from schemas.classes import CLASSES, class_name
from scoring.store import STATE_BUCKETS, Keys, decode_state
from streams.settings import Settings
from supervision.discovery import ClassDiscovery, render_table

__all__ = ["Dashboard"]

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

    "processed" is what the worker counted, apart: the events fed (the district's, and the
    demo's plan tasks and their inspections; the worker may not have caught up with them yet)
    and the ticker's re-evaluations, records the worker writes to the events topic
    itself only for a partition idle for RISKMON_IDLE_SECONDS with a change due (so processed
    can exceed fed). "time-driven changes" are the class changes time alone made (a penalty
    fading, a listing's period ending), as the events' time passed their due moment
    (``riskmon_time_driven_changes_total``): most come with fed events, not with the ticker."""

    settings: Settings
    web: str
    redis_client: Any
    consumer: Any
    #: The dashboard's own bearer token (an analyst's) for the API
    token: str = ""
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
    #: ``GET /stats/discovery``'s classes: per class its inspected, problems and interval
    discovery: list[ClassDiscovery] = field(default_factory=list)
    #: What the demo's inspection office last did (``local/inspections.py``)
    plans: str = ""
    _cursors: dict[int, tuple[int, int]] = field(default_factory=dict)
    _last: tuple[float, float] | None = None

    def refresh(self) -> None:
        self._metrics()
        self._classes()
        self._outputs()
        self._scan()
        self._discovery()

    def _get(self, path: str) -> bytes | None:
        auth = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            with urllib.request.urlopen(
                urllib.request.Request(self.web + path, headers=auth), timeout=2
            ) as resp:
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

    def _discovery(self) -> None:
        body = self._get("/stats/discovery")
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            classes = orjson.loads(body or b"{}").get("classes")
            if isinstance(classes, dict):
                self.discovery = [ClassDiscovery(k, **v) for k, v in classes.items()]

    def discovery_line(self) -> str:
        """Per class: problems found / inspected by random plans (``A=0/12 B=1/9 ...``)."""
        got = {r.klass: f"{r.problems_found}/{r.inspected}" for r in self.discovery}
        return " ".join(f"{c}={got.get(c, '0/0')}" for c in CLASSES)

    def discovery_rows(self) -> list[str]:
        """The discovery table, as ``riskmon tasks discovery`` prints it (indented)."""
        return [f"  {line}" for line in render_table(self.discovery).splitlines()]

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
        lines += [
            "",
            "discovery rate of random spot checks, by class at the plan's draw"
            " (Henan 2021 found 0 / 39.6 / 56.5 / 85.0 % in A / B / C / D)",
        ]
        lines += [f"  {self.plans}"] if self.plans else []
        lines += self.discovery_rows()
        lines += ["", f"newest alerts ({self.alert_count:,})"]
        lines += [f"  {a}" for a in sorted(self.alerts, reverse=True)] or ["  (none yet)"]
        lines += ["", f"newest inspection tasks ({self.task_count:,})"]
        lines += [f"  {t}" for t in sorted(self.tasks, reverse=True)] or ["  (none yet)"]
        return "\n".join(lines)
