"""The one place the wall clock moves time: an idle partition. A log whose last event leaves an
enterprise in B with its return to A due long ago by the clock, but after every event time of
the log. No event will ever raise the partition's watermark past that due moment, so with
``RISKMON_IDLE_SECONDS=1`` the worker's ticker, once the partition has been quiet and fully
read, publishes one ``riskmon.reevaluate`` record at the current time into it: the change is
made (its alert caused by ``riskmon.reevaluate``), and the record that made it stays in the
log, so the topic, folded again, warrants exactly the alerts that were sent. With
``RISKMON_IDLE_SECONDS=0`` (the tests' default) the ticker publishes nothing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.codec import encode_event
from schemas.events import TICKER_SOURCE
from scoring.model import load_model
from streams.planning import Record
from streams.redis_client import connect
from streams.topics import partition_for
from tests.support.builders import RESTAURANT, event
from tests.support.eventlog import LogRecord
from tests.support.harness import ROOT, Worker, read_topic, wait_for
from tests.support.observe import observed, outputs
from tests.support.oracle import reference
from tests.support.scenario import Published, fresh_env

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

USCC = "91610112MA6TGQ1K2M"
QUIET_SECONDS = 5  # how long the idle-0 worker is watched for a ticker record


def idle_log(now: dt.datetime) -> list[LogRecord]:
    """A firm registered 401 days ago, fined 400 days ago: B, back to A ~150 days later."""
    fined = now - dt.timedelta(days=400)
    penalty = {
        "decision_number": "D1",
        "domain": "food",
        "fine_cny": 50_000,
        "severity": "ordinary",
    }
    return [
        LogRecord(USCC.encode(), encode_event(ev))
        for ev in (
            event("enterprise.registered", RESTAURANT, when=fined - dt.timedelta(days=1), eid="r"),
            event("penalty.imposed", penalty, when=fined, eid="p"),
        )
    ]


def alerts(bootstrap: str, env: dict[str, str]) -> list[dict[str, Any]]:
    return [
        orjson.loads(r.value)["data"] for r in read_topic(bootstrap, env["RISKMON_ALERTS_TOPIC"])
    ]


def positions(records: Sequence[Record]) -> list[tuple[int, int, bytes | None, bytes | None]]:
    return [(r.partition, r.offset, r.key, r.value) for r in records]


def test_an_idle_partition_gets_one_ticker_record_and_its_due_change_and_idle_0_none(
    env: dict[str, str], kafka_bootstrap: str, redis_url: str, key_prefix: str, tmp_path: Path
) -> None:
    started = int(time.time())
    records = idle_log(dt.datetime.now(dt.UTC))
    parts = int(env["RISKMON_PARTITIONS"])
    idle_env = {**env, "RISKMON_IDLE_SECONDS": "1"}
    log = Published(kafka_bootstrap, idle_env)
    log.send(records)
    expected = reference(log.records, load_model(), parts)
    state = expected.states[USCC]
    # The log leaves the firm in B, its return to A due in the past, beyond the watermark.
    assert state.klass == 2 and expected.watermarks[partition_for(USCC.encode(), parts)] < state.due
    assert state.due < started and not expected.fired

    with fresh_env(kafka_bootstrap, redis_url, f"{key_prefix}-i0", tmp_path / "i0") as env0:
        env0["RISKMON_IDLE_SECONDS"] = "0"
        log0 = Published(kafka_bootstrap, env0)
        log0.send(records)
        idle = Worker(idle_env, tmp_path / "idle.log")
        never = Worker(env0, tmp_path / "never.log")
        try:
            idle.start()
            never.start()
            idle.wait_ready()
            never.wait_ready()

            # Idle 1 s: the change due by the clock is made, caused by a re-evaluation.
            def back_to_a() -> list[dict[str, Any]]:
                return [a for a in alerts(kafka_bootstrap, idle_env) if a["new_class"] == "A"]

            [alert] = wait_for(back_to_a, 60, what="the B->A alert of the idle partition")
            assert alert["old_class"] == "B"
            assert alert["cause"] == {
                "source": TICKER_SOURCE,
                "id": f"{USCC}@{state.due}",
                "type": "riskmon.reevaluate",
            }
            assert dt.datetime.fromisoformat(alert["asof"]).timestamp() == state.due

            # Idle 0: the log applied (its A->B alert sent), then nothing, however long.
            wait_for(
                lambda: [a["new_class"] for a in alerts(kafka_bootstrap, env0)] == ["B"],
                60,
                what="the idle-0 worker's A->B alert",
            )
            time.sleep(QUIET_SECONDS)
            assert positions(read_topic(kafka_bootstrap, env0["RISKMON_EVENTS_TOPIC"])) == (
                positions(log0.records)
            )
            assert [a["new_class"] for a in alerts(kafka_bootstrap, env0)] == ["B"]
        finally:
            for w in (idle, never):
                if w.proc is not None and w.proc.poll() is None:
                    w.stop()

    # The ticker's one record is in the log now, in the firm's partition, after the published
    # ones; nothing else was added (the firm has nothing more due).
    topic = read_topic(kafka_bootstrap, idle_env["RISKMON_EVENTS_TOPIC"])
    published = {(r.partition, r.offset) for r in log.records}
    [tick] = [r for r in topic if (r.partition, r.offset) not in published]
    doc = orjson.loads(tick.value)
    assert (tick.key, tick.partition) == (USCC.encode(), partition_for(USCC.encode(), parts))
    assert (doc["source"], doc["type"], doc["subject"]) == (
        TICKER_SOURCE,
        "riskmon.reevaluate",
        USCC,
    )
    uscc, at = doc["id"].split("@")
    assert uscc == USCC and int(at) >= started
    # Folded again, the topic (that record included) warrants exactly what was sent: by the
    # reference, and by `riskmon replay --outputs`.
    again = reference(topic, load_model(), parts)
    assert (again.alert_ids, again.task_ids) == observed(kafka_bootstrap, idle_env)
    assert [(u, due) for u, due in again.fired] == [(USCC, state.due)]
    listed = tmp_path / "outputs.jsonl"
    replayed = f"{key_prefix}-replay"
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cli", "replay", "--prefix", replayed, "--outputs", str(listed)],
            env={**os.environ, **idle_env},
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
    finally:
        client = connect(redis_url)
        keys = list(client.scan_iter(match=f"{replayed}:*", count=1000))
        if keys:
            client.unlink(*keys)
        client.close()
    rows = [orjson.loads(line) for line in listed.read_text().splitlines()]
    assert rows == outputs(kafka_bootstrap, idle_env)


def test_a_restarted_worker_still_ticks_a_partition_read_before_it_started(
    env: dict[str, str], kafka_bootstrap: str, tmp_path: Path
) -> None:
    """The partition was read to its end and committed by an earlier worker (run with idle 0,
    then stopped): the worker started next has nothing left to read there, and that partition
    is idle and caught up for it too, so its due change is still made."""
    Published(kafka_bootstrap, env).send(idle_log(dt.datetime.now(dt.UTC)))
    first = Worker(env, tmp_path / "first.log")  # RISKMON_IDLE_SECONDS=0
    first.start().wait_ready()
    try:
        wait_for(
            lambda: [a["new_class"] for a in alerts(kafka_bootstrap, env)] == ["B"],
            60,
            what="the first worker's A->B alert",
        )
    finally:
        assert first.stop() == 0
    second = Worker({**env, "RISKMON_IDLE_SECONDS": "1"}, tmp_path / "second.log")
    second.start().wait_ready()
    try:
        wait_for(
            lambda: [a["new_class"] for a in alerts(kafka_bootstrap, env)] == ["B", "A"],
            30,
            what="the B->A alert from the restarted worker's idle partition",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}; /healthz says {second.get('/healthz')[1]}") from None
    finally:
        second.stop()
