"""R14 of docs/reliability.md: the rolling upgrade of deploy/README.md. Two workers with static
membership ids (as the Compose file and the Kubernetes StatefulSet give them) take a steady
feed; each is stopped (SIGTERM, as ``docker compose up`` or a rollout does) and started again,
one at a time, waiting for it to be ready before the next. No event is lost or applied twice:
the result equals the reference fold of the log."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from local.embedded import free_port
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, wait_for
from tests.support.scenario import ROWS, Published, Row, metric, wait_exact

# slow (--faults=full): it fails about half its runs, on one Redis and on the cluster alike,
# with partition 0 left short of its end and no error logged; cause not found (issue 21)
pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.cluster, pytest.mark.slow]


def _terminate(w: Worker) -> int:
    """SIGTERM, as a container runtime sends it; the worker's exit status."""
    assert w.proc is not None
    os.killpg(w.proc.pid, signal.SIGTERM)
    return w.proc.wait(timeout=60)


def test_r14_workers_restarted_one_at_a_time_under_load_is_exact(
    env: dict[str, str], kafka_bootstrap: str, redis_url: str, tmp_path: Path, full: bool
) -> None:
    cluster = redis_url.startswith("redis+cluster")
    if cluster and not full:
        # passed its last 3 runs, but failed 3 of 5 before the ticker's stop fix with a
        # partition left short of its end for reasons not yet found (docs/reliability.md)
        pytest.skip(
            "slow fault scenario: R14 on the cluster runs with python -m pytest --faults=full"
        )
    row = Row(
        f"R14 rolling upgrade{' (cluster)' if cluster else ''}",
        faults="2 workers restarted in turn",
    )
    ROWS.append(row)
    workers = [
        Worker(
            {
                **env,
                "RISKMON_INSTANCE_ID": f"riskmon-{name}",
                "RISKMON_WEB_PORT": str(free_port()),
                "RISKMON_DATA_DIR": str(tmp_path / name),
            },
            tmp_path / f"{name}.log",
        )
        for name in ("a", "b")
    ]
    records = seeded_log(seed=14, enterprises=80, events=3000, disorder=0.2)
    log = Published(kafka_bootstrap, env)
    stop = threading.Event()
    sent = [0]

    def feed() -> None:  # ~300 records/s until every record is out
        for i in range(0, len(records), 60):
            if stop.is_set():
                return
            sent[0] += log.send(records[i : i + 60])
            time.sleep(0.2)

    feeder = threading.Thread(target=feed, daemon=True)
    try:
        for w in workers:
            w.start().wait_ready()
        feeder.start()
        for w in workers:  # the rollout: one at a time, each ready before the next
            wait_for(lambda: sent[0] > 0, 30, what="the feed under way")
            assert _terminate(w) == 0, w.log_tail()
            w.start().wait_ready()
        feeder.join(timeout=120)
        assert not feeder.is_alive() and sent[0] == len(records)
        row.events = sent[0]
        out = wait_exact(
            kafka_bootstrap,
            redis_url,
            env,
            workers,
            240,
            published=log.records,
            dead_letters_once=False,
        )
        row.duplicates = sum(
            int(metric(w, "riskmon_events_total", 'outcome="duplicate"')) for w in workers
        )
        row.result = f"exact ({len(out.expected.alert_ids)} alert ids)"
    finally:
        stop.set()
        for w in workers:
            if w.proc is not None and w.proc.poll() is None:
                w.stop()
