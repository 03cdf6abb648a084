"""R12 of docs/reliability.md: the same log, the same outputs. One seeded log (re-published
duplicates, poison records, and a feed in event-time order but for one event in five that
comes late or early, so that each partition's watermark climbs through the log and time-driven
class changes fall between its events) is run twice into fresh topics and key prefixes: once at
full speed (the whole log waiting, default batches), once slowed (one event a batch, one batch
in flight, half the log arriving while the worker reads, and the worker frozen for a few seconds
mid-stream). Both runs send the very same alert, task and dead-letter ids, and those are the
reference's for the log as published. (Checked to bite: an apply.lua that made the changes due
before an event only at the end of its batch failed here, 2 alert ids missing in the fast run.)

Why a SIGSTOP rather than a throttled consumer: it freezes the whole worker (consumer,
producer, ticker, heartbeats) as a stalled host or a long pause of the runtime does, while the
wall clock runs on, with no test hook in the worker. It lasts less than the session timeout, so
the pause alone, not a rebalance, is what differs (R2 and R4 cover redelivery and rebalances).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas.events import TICKER_SOURCE
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, wait_for
from tests.support.observe import outputs
from tests.support.scenario import (
    ROWS,
    Published,
    Row,
    alert_causes,
    applied,
    fresh_env,
    metric,
    wait_exact,
)

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

PAUSE_SECONDS = 4.0  # below RISKMON_SESSION_TIMEOUT_SECONDS (6): no rebalance


@pytest.fixture
def slow_env(
    kafka_bootstrap: str, redis_url: str, key_prefix: str, tmp_path: Path
) -> Iterator[dict[str, str]]:
    """The slowed run's worker environment: topics, key prefix, group and port of its own."""
    with fresh_env(kafka_bootstrap, redis_url, f"{key_prefix}-slow", tmp_path / "slow") as e:
        yield e | {"RISKMON_BATCH_MAX_EVENTS": "1", "RISKMON_PIPELINE_BATCHES": "1"}


def test_r12_the_same_log_fast_and_slowed_sends_the_same_ids(
    env: dict[str, str],
    slow_env: dict[str, str],
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    row = Row(
        "R12 same log, fast vs slowed",
        faults=f"batches of 1, SIGSTOP {PAUSE_SECONDS:.0f} s",
    )
    ROWS.append(row)
    seeded = seeded_log(seed=12, enterprises=40, events=800, disorder=0.2)
    half = len(seeded) // 2
    fast, slow = Published(kafka_bootstrap, env), Published(kafka_bootstrap, slow_env)
    fast_worker = Worker(env, tmp_path / "fast.log")
    slow_worker = Worker(slow_env, tmp_path / "slow.log")
    try:
        # Full speed: the whole log is there before the worker starts.
        row.events = fast.send(seeded)
        fast_worker.start()
        # Slowed: half the log, then the worker; frozen mid-stream while the rest arrives.
        slow.send(seeded[:half])
        slow_worker.start().wait_ready()
        fast_worker.wait_ready()
        wait_for(lambda: applied(redis_url, slow_env) >= 150, 60, interval=0.05, what="150 applied")
        assert slow_worker.proc is not None
        os.killpg(slow_worker.proc.pid, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            slow.send(seeded[half:])
            time.sleep(max(0.0, PAUSE_SECONDS - (time.monotonic() - stopped)))
        finally:
            os.killpg(slow_worker.proc.pid, signal.SIGCONT)

        got_fast = wait_exact(
            kafka_bootstrap, redis_url, env, [fast_worker], 120, published=fast.records
        )
        got_slow = wait_exact(
            kafka_bootstrap, redis_url, slow_env, [slow_worker], 120, published=slow.records
        )
        # The runs did differ in how they read the log: one event a batch in the slowed one.
        batches = metric(slow_worker, "riskmon_batch_events_count")
        fast_batches = metric(fast_worker, "riskmon_batch_events_count")
        assert batches >= len(seeded) - half, batches
        assert fast_batches < batches / 4
        # The same log (same records at the same offsets), so the same reference ...
        expected = got_fast.expected
        assert got_slow.expected == expected
        # ... with enough time-driven class changes for the comparison to bite
        assert len(expected.fired) >= 20, expected.fired
        for e in (env, slow_env):
            caused_by_time = [
                s for s in alert_causes(kafka_bootstrap, e).values() if s == TICKER_SOURCE
            ]
            assert len(caused_by_time) >= 10
        # ... and identical outputs: alert and task ids (with their types), dead letters by
        # partition, offset and reason
        sent_fast, sent_slow = outputs(kafka_bootstrap, env), outputs(kafka_bootstrap, slow_env)
        assert sent_fast == sent_slow
        assert {o["id"] for o in sent_fast if o["kind"] == "alert"} == expected.alert_ids
        assert {o["id"] for o in sent_fast if o["kind"] == "task"} == expected.task_ids
        assert {
            (o["partition"], o["offset"], o["reason"])
            for o in sent_fast
            if o["kind"] == "dead_letter"
        } == set(expected.dead)
        row.duplicates = int(metric(fast_worker, "riskmon_events_total", 'outcome="duplicate"'))
        row.result = (
            f"identical ({len(expected.alert_ids)} alert ids, {len(expected.fired)} time-driven"
            f" changes; {fast_batches:.0f} batches fast, {batches:.0f} slowed)"
        )
    finally:
        for w in (fast_worker, slow_worker):
            if w.proc is not None and w.proc.poll() is None:
                w.stop()
