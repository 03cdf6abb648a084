"""``riskmon generate``: the synthetic district's events to a file, stdout or Kafka, paced or not.

The events come from :mod:`district.generator` (pure); this module only writes them. Kafka
records are keyed by the USCC and partitioned by murmur2, Kafka's default partitioner, as every
producer riskmon reads from must be.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from district.generator import DistrictSpec, enterprises, events
from schemas.codec import CreditEvent, encode_event

__all__ = [
    "LINGER_MS",
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
#: embedded broker spends CPU per request: at 4,000 events/s, 5 ms cost it 0.58 of a core that
#: the worker shares, 20 ms 0.2. Latency is counted from the send, so the wait is in it.
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
) -> int:
    """Send ``records`` to ``topic`` (acks=all, each partition's records in order), paced;
    returns the number sent. Keys are partitioned by murmur2, as Kafka's own clients do.

    Stops early, after flushing what was sent, when ``should_stop()`` turns true. Raises
    :class:`PublishError` if a record is not acknowledged within ``timeout_seconds`` of its
    send (the first failure named), after waiting for the others.

    librdkafka (confluent-kafka) rather than kafka-python: it sends from C threads, so a paced
    4,000 events/s costs 0.06 of a core instead of 0.5-0.75, which on a shared machine the
    worker, the broker and Redis need (benchmarks/bench.py measures latency under this load).
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


def report(count: int, seconds: float) -> None:
    rate = count / seconds if seconds > 0 else float("inf")
    print(f"generated {count} event(s) in {seconds:.1f}s ({rate:,.0f} events/s)", file=sys.stderr)


def cmd_generate(
    *,
    events_topic: str,
    kafka_bootstrap: str | None,
    enterprises_n: int,
    seed: int,
    rate: float | None,
    out: str | None,
    to_kafka: bool,
    now: dt.datetime | None,
    truth: Path | None,
    partitions: int,
) -> int:
    """The ``riskmon generate`` command; returns the exit status."""
    spec = DistrictSpec(now=now or default_now(), enterprises=enterprises_n, seed=seed)
    if truth is not None:
        write_truth(spec, truth)
    pacer = Pacer(rate)
    records = keyed_lines(spec)
    if to_kafka:
        if not kafka_bootstrap:
            print("no Kafka: set RISKMON_KAFKA_BOOTSTRAP or start `riskmon run`", file=sys.stderr)
            return 2
        from streams.topics import TopicSpec, ensure_topics

        ensure_topics(kafka_bootstrap, [TopicSpec(events_topic, partitions)])
        try:
            count = publish(records, bootstrap=kafka_bootstrap, topic=events_topic, pacer=pacer)
        except PublishError as exc:
            print(f"riskmon generate: {exc}", file=sys.stderr)
            return 1
        print(f"sent {count} event(s) to {events_topic} at {kafka_bootstrap}", file=sys.stderr)
    elif out in (None, "-"):
        count = write_lines(records, sys.stdout.buffer, pacer)
    else:
        with open(out, "wb") as f:
            count = write_lines(records, f, pacer)
    report(count, pacer.elapsed)
    return 0
