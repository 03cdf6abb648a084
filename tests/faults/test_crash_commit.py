"""R3 of docs/reliability.md: the worker dies after a batch's Redis write and before its alerts are
sent or its offsets committed (the fault hook RISKMON_FAULT_CRASH_AFTER_BATCHES); restarted
without the hook, it redelivers the batch, the ledger absorbs it, and the batch's alerts go out
with the ids they would have had: in the end, the alert, task and dead-letter ids of a clean run
of the same log (the reference of the log as published), time-driven changes included."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring.model import load_model
from scoring.store import Keys
from streams.redis_client import connect
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, wait_for
from tests.support.observe import observed
from tests.support.oracle import reference
from tests.support.scenario import ROWS, Published, Row, metric, wait_exact

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.cluster]


def test_r3_crash_between_redis_write_and_commit_resends_the_same_alert_ids(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path
) -> None:
    row = Row("R3 crash after Redis write", faults="exit 70 after 3rd batch owing output")
    ROWS.append(row)
    parts = int(env["RISKMON_PARTITIONS"])
    log = Published(kafka_bootstrap, env)
    # a feed in event-time order, one event in five late or early: the watermarks climb through
    # the log, so time-driven changes fall between its events, and between the crashes
    row.events = log.send(seeded_log(seed=3, enterprises=60, events=1500, disorder=0.2))

    crashing = Worker(
        {**env, "RISKMON_FAULT_CRASH_AFTER_BATCHES": "3", "RISKMON_BATCH_MAX_EVENTS": "100"},
        tmp_path / "crashing.log",
    ).start()
    wait_for(
        lambda: crashing.proc is not None and crashing.proc.poll() is not None,
        120,
        what="the fault hook's exit",
    )
    assert crashing.proc is not None and crashing.proc.returncode == 70, crashing.log_tail()

    # What the crash left: Redis holds the third batch that owed alerts or tasks (the hook
    # counts only those, so early batches of a few quiet events cannot make the scenario
    # empty), and the output topics lack them.
    r = connect(redis_url)
    keys = Keys(env["RISKMON_REDIS_PREFIX"])
    wm = {p: int(r.hget(keys.meta(p), "wm") or -1) for p in range(parts)}
    r.close()
    applied_part = [rec for rec in log.records if rec.offset <= wm[rec.partition]]
    assert applied_part, "the crash came before any Redis write"
    owed = reference(applied_part, load_model(), parts)
    alerts_before, tasks_before = observed(kafka_bootstrap, env)
    unsent = (owed.alert_ids | owed.task_ids) - alerts_before - tasks_before
    assert unsent, "the crashed batch owed nothing: the scenario proves nothing"

    worker.start().wait_ready()  # without the hook
    out = wait_exact(
        kafka_bootstrap,
        redis_url,
        env,
        [worker],
        180,
        published=log.records,
        dead_letters_once=False,
    )
    alerts, tasks = observed(kafka_bootstrap, env)
    assert unsent <= alerts | tasks  # re-sent, with the ids the first attempt would have used
    assert out.expected.fired  # and the log brings about time-driven changes, in event time
    row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
    # the crashed batch was redelivered and found in the ledger
    assert row.duplicates > out.expected.duplicates
    row.result = f"exact; {len(unsent)} alerts and tasks of the crashed batch re-sent"
