"""R1 (no fault), R9 (the whole log replayed) and R10 (re-published events with new offsets and
shuffled event times) of docs/reliability.md: the worker's result equals the reference fold of
the log as published (the time-driven class changes it warrants included, in event time)."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.events import TICKER_SOURCE
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, wait_for
from tests.support.scenario import ROWS, Published, Row, alert_causes, metric, wait_exact

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.cluster]


def test_r1_no_fault_is_exact_and_lag_reaches_zero(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str
) -> None:
    row = Row("R1 no fault")
    ROWS.append(row)
    log = Published(kafka_bootstrap, env)
    row.events = log.send(seeded_log(seed=11, enterprises=60, events=1500))
    worker.start().wait_ready()
    out = wait_exact(kafka_bootstrap, redis_url, env, [worker], 180, published=log.records)
    assert out.expected.alert_ids and out.expected.task_ids and out.expected.duplicates > 0
    # time-driven changes made in event time, from the published events alone
    assert out.expected.fired
    assert TICKER_SOURCE in alert_causes(kafka_bootstrap, env).values()
    assert {reason for _, _, reason in out.expected.dead} >= {"not_json", "invalid_uscc"}
    wait_for(lambda: worker.get("/healthz")[1]["lag"] == 0, 60, what="lag 0 on /healthz")
    assert metric(worker, "riskmon_consumer_lag_records") == 0 or wait_for(
        lambda: metric(worker, "riskmon_consumer_lag_records") == 0, 30, what="lag gauge 0"
    )
    row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
    assert row.duplicates >= out.expected.duplicates
    row.result = "exact; lag 0"


def test_r10_republished_events_with_shuffled_times_are_exact(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str
) -> None:
    row = Row("R10 re-published, shuffled times", faults="40% re-published")
    ROWS.append(row)
    # seeded_log shuffles arrival order against event time; 40% of the records come again later
    # with the same source + id at a new offset.
    log = Published(kafka_bootstrap, env)
    row.events = log.send(seeded_log(seed=10, enterprises=50, events=1200, duplicate_ratio=0.4))
    worker.start().wait_ready()
    out = wait_exact(kafka_bootstrap, redis_url, env, [worker], 180, published=log.records)
    assert out.expected.duplicates >= 400
    row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
    assert row.duplicates >= out.expected.duplicates
    row.result = "exact"


def test_r10_through_a_small_ledger_window_is_still_exact(
    env: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    """RISKMON_LEDGER_WINDOW forgets old events: a re-published copy of one is applied again,
    which must change no state and send no alert or task the reference does not."""
    row = Row("R10, ledger window 16", faults="40% re-published")
    ROWS.append(row)
    log = Published(kafka_bootstrap, env)
    row.events = log.send(seeded_log(seed=10, enterprises=50, events=1200, duplicate_ratio=0.4))
    windowed = Worker({**env, "RISKMON_LEDGER_WINDOW": "16"}, tmp_path / "windowed.log")
    windowed.start().wait_ready()
    try:
        out = wait_exact(kafka_bootstrap, redis_url, env, [windowed], 180, published=log.records)
        row.duplicates = int(metric(windowed, "riskmon_events_total", 'outcome="duplicate"'))
    finally:
        windowed.stop()
    # It did forget: fewer duplicates were recognised than the reference's full ledger finds.
    assert 0 < row.duplicates < out.expected.duplicates
    row.result = f"exact; {out.expected.duplicates - row.duplicates} forgotten copies re-applied"


def test_r9_whole_log_replayed_changes_nothing(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str
) -> None:
    row = Row("R9 whole log replayed", faults="log published twice")
    ROWS.append(row)
    seeded = seeded_log(seed=9, enterprises=50, events=1000)
    log = Published(kafka_bootstrap, env)
    row.events = log.send(seeded)
    worker.start().wait_ready()
    first = wait_exact(kafka_bootstrap, redis_url, env, [worker], 180, published=log.records)
    alerts_before = alert_causes(kafka_bootstrap, env)
    row.events += log.send(seeded)  # same ids, new offsets
    second = wait_exact(kafka_bootstrap, redis_url, env, [worker], 180, published=log.records)
    # Every event of the second copy is a duplicate: it moves no watermark, so it brings about
    # no time-driven change its first copy did not, and re-sends its first copy's ids. Same
    # state, and not one new alert or task id (the time-driven ones included).
    assert second.expected.states == first.expected.states
    assert second.expected.alert_ids == first.expected.alert_ids
    assert second.expected.task_ids == first.expected.task_ids
    assert set(alert_causes(kafka_bootstrap, env)) == set(alerts_before)
    assert TICKER_SOURCE in alerts_before.values()  # time-driven alerts were among them
    assert second.expected.duplicates >= len(seeded) - len(first.expected.dead)
    row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
    assert row.duplicates >= len(seeded) - len(first.expected.dead)
    row.result = "exact; no new alert/task ids"
