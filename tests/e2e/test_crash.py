"""Scenario R2 of docs/reliability.md: kill -9 the worker mid-stream, repeatedly; the final state
and the set of alert and task ids equal a single-threaded reference fold over the same log."""

from __future__ import annotations

import pytest
import redis
from kafka import KafkaProducer

from scoring.model import load_model
from scoring.store import Keys
from tests.support.eventlog import seeded_log
from tests.support.harness import Worker, read_topic, wait_for
from tests.support.observe import observed, redis_states
from tests.support.oracle import Expected, reference

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def converged(bootstrap: str, redis_url: str, env: dict[str, str]) -> tuple[bool, Expected, str]:
    parts = int(env["RISKMON_PARTITIONS"])
    log = read_topic(bootstrap, env["RISKMON_EVENTS_TOPIC"])
    expected = reference(log, load_model(), parts)
    states = redis_states(redis_url, env["RISKMON_REDIS_PREFIX"], parts)
    alerts, tasks = observed(bootstrap, env)
    problems = []
    if states != expected.states:
        diff = {
            u for u in set(states) | set(expected.states) if states.get(u) != expected.states.get(u)
        }
        problems.append(f"{len(diff)} enterprise states differ")
    if alerts != expected.alert_ids:
        problems.append(
            f"alerts: {len(alerts - expected.alert_ids)} unexpected, "
            f"{len(expected.alert_ids - alerts)} missing"
        )
    if tasks != expected.task_ids:
        problems.append("task ids differ")
    return not problems, expected, "; ".join(problems)


def test_r2_kill_9_mid_stream_repeatedly_gives_the_exact_reference_result(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str
) -> None:
    parts = int(env["RISKMON_PARTITIONS"])
    log = seeded_log(seed=2, enterprises=80, events=2500)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", linger_ms=5)
    for rec in log:
        producer.send(env["RISKMON_EVENTS_TOPIC"], key=rec.key, value=rec.value)
    producer.flush()
    producer.close()

    r = redis.Redis.from_url(redis_url)
    keys = Keys(env["RISKMON_REDIS_PREFIX"])

    def applied() -> int:
        return sum(int(r.hget(keys.meta(p), "wm") or -1) + 1 for p in range(parts))

    kills = 0
    worker.start().wait_ready()
    for target in (300, 900):
        wait_for(lambda t=target: applied() >= t, 90, interval=0.05, what=f"{target} applied")
        worker.kill()
        kills += 1
        worker.start().wait_ready()

    def done() -> bool:
        ok, _, why = converged(kafka_bootstrap, redis_url, env)
        done.why = why  # type: ignore[attr-defined]
        return ok

    try:
        wait_for(done, 180, interval=2, what="state and alerts equal to the reference")
    except AssertionError:
        raise AssertionError(f"{done.why}\n{worker.log_tail()}") from None  # type: ignore[attr-defined]
    _, expected, _ = converged(kafka_bootstrap, redis_url, env)
    assert kills == 2
    assert expected.alert_ids, "the log must produce alerts for this to mean anything"
    assert {reason for _, _, reason in expected.dead} >= {"not_json", "invalid_uscc", "oversized"}
    dlq = read_topic(kafka_bootstrap, env["RISKMON_DLQ_TOPIC"])
    # each poison record dead-lettered at least once (a kill can repeat an unacked one)
    assert {
        (int(dict(d.headers)["dlq_partition"]), int(dict(d.headers)["dlq_offset"])) for d in dlq
    } == {(p, o) for p, o, _ in expected.dead}
    status, text = worker.get("/metrics")
    assert status == 200
    dup_lines = [
        ln for ln in text.splitlines() if 'outcome="duplicate"' in ln and not ln.startswith("#")
    ]
    assert sum(float(ln.rsplit(" ", 1)[1]) for ln in dup_lines) > 0
    r.close()
