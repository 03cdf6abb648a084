"""Scenario R2 of docs/reliability.md: kill -9 the worker mid-stream, repeatedly; the final state
and the sets of alert, task and dead-letter ids equal those of a clean run of the same log: the
reference fold of the log as published (tests/support/oracle.py), whose time-driven class
changes are made in event time, however often the worker died on the way."""

from __future__ import annotations

import pytest

from schemas.events import TICKER_SOURCE
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, wait_for
from tests.support.scenario import Published, alert_causes, applied, metric, wait_exact

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_r2_kill_9_mid_stream_repeatedly_gives_the_exact_reference_result(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str
) -> None:
    log = Published(kafka_bootstrap, env)
    # a feed in event-time order, one event in five late or early: the watermarks climb through
    # the log, so time-driven changes fall between its events, and between the crashes
    log.send(seeded_log(seed=2, enterprises=80, events=2500, disorder=0.2))

    kills = 0
    worker.start().wait_ready()
    for target in (300, 900):
        wait_for(
            lambda t=target: applied(redis_url, env) >= t,
            90,
            interval=0.05,
            what=f"{target} applied",
        )
        worker.kill()
        kills += 1
        worker.start().wait_ready()

    # Each poison record dead-lettered at least once (a kill can repeat an unacked one), and
    # the topic holds nothing but the published log (no ticker records: idle 0).
    out = wait_exact(
        kafka_bootstrap,
        redis_url,
        env,
        [worker],
        180,
        published=log.records,
        dead_letters_once=False,
    )
    expected = out.expected
    assert kills == 2
    assert expected.alert_ids, "the log must produce alerts for this to mean anything"
    assert {reason for _, _, reason in expected.dead} >= {"not_json", "invalid_uscc", "oversized"}
    # time-driven changes among them, sent as the log warrants them, not as the kills fell
    assert len(expected.fired) >= 10
    assert TICKER_SOURCE in alert_causes(kafka_bootstrap, env).values()
    assert metric(worker, "riskmon_events_total", 'outcome="duplicate"') > 0
