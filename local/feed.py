"""The feeder: the synthetic district's events to a file, stdout or Kafka, paced or not.

The events come from :mod:`district.generator` (pure); this module only writes them (for
``riskmon generate``, the demo and the benchmark). Kafka records are keyed by the USCC and
partitioned by murmur2, Kafka's default partitioner, as every producer riskmon reads from must be.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from district.generator import DistrictSpec, enterprises, events, live_events
from schemas.codec import CreditEvent, encode_event

__all__ = [
    "LINGER_MS",
    "DistrictFeed",
    "Pacer",
    "PublishError",
    "keyed",
    "keyed_lines",
    "publish",
    "write_lines",
    "write_truth",
]


class Pacer:
    """Spaces calls at ``rate`` per second on average (``None``: as fast as possible).

    Sleeps in steps of at least ``tick_seconds`` rather than per event, so pacing costs nothing
    at high rates; ``clock`` and ``sleep`` are the I/O seam tests replace.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        tick_seconds: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be > 0 events/s, not {rate}")
        self.rate, self.tick_seconds = rate, tick_seconds
        self._clock, self._sleep = clock, sleep
        self._start = clock()
        self.count = 0

    def __call__(self) -> None:
        self.count += 1
        if self.rate is None:
            return
        ahead = self.count / self.rate - (self._clock() - self._start)
        if ahead >= self.tick_seconds:
            self._sleep(ahead)

    @property
    def elapsed(self) -> float:
        return self._clock() - self._start


def keyed(evs: Iterable[CreditEvent]) -> Iterator[tuple[bytes, bytes]]:
    """(USCC, CloudEvent JSON) for each event: a Kafka record's key and value."""
    for ev in evs:
        yield ev.subject.encode(), encode_event(ev)


def keyed_lines(spec: DistrictSpec) -> Iterator[tuple[bytes, bytes]]:
    """(USCC, CloudEvent JSON) for every event of the district, in stream order."""
    return keyed(events(spec))


def write_lines(records: Iterable[tuple[bytes, bytes]], out: BinaryIO, pacer: Pacer) -> int:
    """JSON lines to ``out``; returns the number written."""
    for _, value in records:
        out.write(value + b"\n")
        pacer()
    out.flush()
    return pacer.count


def write_truth(spec: DistrictSpec, path: Path) -> None:
    """The hidden truth beside the events: one CSV row per enterprise, never in the events."""
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["uscc", "propensity", "division", "industry", "key_sector", "new_economy"])
        for e in enterprises(spec):
            w.writerow(
                [
                    e.uscc,
                    f"{e.propensity:.6f}",
                    e.division,
                    e.industry,
                    e.key_sector or "",
                    int(e.new_economy),
                ]
            )


#: How long the producer gathers records into one request (librdkafka's ``linger.ms``). The
#: embedded broker spends CPU per request, on cores the worker shares: fewer, larger requests
#: leave the worker more. Latency is counted from the send, so the wait is in it.
LINGER_MS = 20


class PublishError(RuntimeError):
    """Some records were not delivered (the broker refused them or could not be reached)."""


def publish(
    records: Iterable[tuple[bytes, bytes]],
    *,
    bootstrap: str,
    topic: str,
    pacer: Pacer,
    should_stop: Callable[[], bool] = lambda: False,
    timeout_seconds: float = 120,
    config: Mapping[str, str] | None = None,
) -> int:
    """Send ``records`` to ``topic`` (acks=all, each partition's records in order), paced;
    returns the number sent. Keys are partitioned by murmur2, as Kafka's own clients do.

    Stops early, after flushing what was sent, when ``should_stop()`` turns true. Raises
    :class:`PublishError` if a record is not acknowledged within ``timeout_seconds`` of its
    send (the first failure named), after waiting for the others. ``config``: librdkafka's TLS
    and SASL properties (``streams.connections.confluent_config``).

    librdkafka (confluent-kafka) rather than kafka-python: it sends from C threads, at a small
    fraction of kafka-python's CPU per record, which on a shared machine the worker, the broker
    and Redis need (benchmarks/bench.py measures latency under this load).
    """
    from confluent_kafka import Producer

    failures: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(str(err))

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "partitioner": "murmur2_random",  # streams/topics.py partition_for
            "acks": "all",
            "linger.ms": LINGER_MS,
            # no reordering when a request is retried
            "max.in.flight.requests.per.connection": 1,
            "message.timeout.ms": int(timeout_seconds * 1000),
            # an idle connection the broker closed is reopened when needed: not worth a line
            "log.connection.close": False,
            **(config or {}),
        }
    )
    sent = 0
    try:
        for key, value in records:
            if should_stop():
                break
            while True:
                try:
                    producer.produce(topic, value=value, key=key, on_delivery=delivered)
                    break
                except BufferError:  # the local queue is full: let deliveries drain it
                    producer.poll(0.05)
            producer.poll(0)
            sent += 1
            pacer()
    finally:
        left = producer.flush(timeout_seconds + 5)
    if failures or left:
        first = failures[0] if failures else "no answer from the broker"
        raise PublishError(
            f"{len(failures) + left} of {sent} record(s) to {topic} at {bootstrap} were not"
            f" delivered: {first}"
        )
    return sent


def default_now() -> dt.datetime:
    """Today's midnight UTC: the default end of the simulated period (stable within a day, so
    the same seed gives the same bytes all day; pass ``--now`` for a fixed stream)."""
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(today, dt.time(), dt.UTC)


@dataclass
class DistrictFeed:
    """The district's history at ``rate``, then its live events (event time: the wall clock)
    at ``live_rate``, to ``topic``, until ``stop`` is set. :meth:`run` is a thread's target.

    The two rates differ on purpose: the history is two years of events to catch up on, the
    live district is the events of one moment. ``history`` is (events, seconds) once the
    history is fed, else None."""

    spec: DistrictSpec
    bootstrap: str
    topic: str
    rate: float
    live_rate: float
    stop: threading.Event
    pacers: list[Pacer] = field(default_factory=list)
    history: tuple[int, float] | None = None
    #: librdkafka's TLS and SASL properties (``streams.connections.confluent_config``)
    config: dict[str, str] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(p.count for p in self.pacers)

    def run(self) -> None:
        pacer = Pacer(self.rate)
        self.pacers.append(pacer)
        sent = publish(
            keyed_lines(self.spec),
            bootstrap=self.bootstrap,
            topic=self.topic,
            pacer=pacer,
            should_stop=self.stop.is_set,
            config=self.config,
        )
        if self.stop.is_set():
            return
        self.history = (sent, pacer.elapsed)
        if self.live_rate <= 0:
            return
        live = Pacer(self.live_rate)
        self.pacers.append(live)
        # Event time is the wall clock, read as each event is made.
        clock = (dt.datetime.now(dt.UTC) for _ in itertools.count())
        publish(
            keyed(live_events(self.spec, clock)),
            bootstrap=self.bootstrap,
            topic=self.topic,
            pacer=live,
            should_stop=self.stop.is_set,
            config=self.config,
        )

    def phase(self) -> str:
        """What the feed is doing, in a line for the dashboard."""
        if self.history is None:
            return f"feeding the district's history at {self.rate:,.0f} events/s (--rate)"
        n, seconds = self.history
        live = (
            f"now live at {self.live_rate:,.0f} events/s (--live-rate)"
            if self.live_rate > 0
            else "no live events (--live-rate 0)"
        )
        return f"history fed: {n:,} events in {seconds:,.0f} s; {live}"
