"""What a worker left behind, read back for comparison with the reference or another run:
every enterprise's state in Redis, the alert and task ids on their topics, and the dead
letters by the place and reason their headers name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from scoring.fold import EnterpriseState
from scoring.store import Keys, iter_states
from streams.redis_client import connect
from supervision.records import TaskRecord, decode_task
from supervision.store.keys import SupervisionKeys
from tests.support.harness import read_topic

__all__ = [
    "dead_letters",
    "event_watermarks",
    "observed",
    "output_order",
    "outputs",
    "redis_states",
    "redis_tasks",
    "reminders",
]


def redis_states(url: str, prefix: str, partitions: int) -> dict[str, EnterpriseState]:
    r = connect(url)
    try:
        return {uscc: s for _, uscc, s in iter_states(r, Keys(prefix), partitions)}
    finally:
        r.close()


def redis_tasks(url: str, prefix: str, partitions: int) -> dict[str, TaskRecord]:
    """Every task supervision tracks, by id."""
    r = connect(url)
    keys = SupervisionKeys(prefix)
    try:
        return {
            tid.decode(): decode_task(raw)
            for p in range(partitions)
            for tid, raw in r.hgetall(keys.tasks(p)).items()
        }
    finally:
        r.close()


def event_watermarks(url: str, prefix: str, partitions: int) -> dict[int, int]:
    """Each partition's event-time watermark as Redis keeps it (meta field ``ew``; 0: none)."""
    r = connect(url)
    keys = Keys(prefix)
    try:
        return {p: int(r.hget(keys.meta(p), "ew") or 0) for p in range(partitions)}
    finally:
        r.close()


#: Made on the wall clock's tick from the area counts, not from the log (as the idle
#: re-evaluations, which these tests turn off): tests/integration/test_area_tick.py checks them.
AREA_TYPES = frozenset({"riskmon.alert.region", "riskmon.alert.industry"})


def observed(bootstrap: str, env: Mapping[str, str]) -> tuple[set[str], set[str]]:
    """The ids of the alerts (but area warnings) and of the tasks sent."""
    docs = (orjson.loads(r.value) for r in read_topic(bootstrap, env["RISKMON_ALERTS_TOPIC"]))
    alerts = {d["id"] for d in docs if d["type"] not in AREA_TYPES}
    tasks = {orjson.loads(r.value)["id"] for r in read_topic(bootstrap, env["RISKMON_TASKS_TOPIC"])}
    return alerts, tasks


def reminders(bootstrap: str, env: Mapping[str, str]) -> set[str]:
    """The ids of the risk reminders sent (none if ``env`` names no reminders topic)."""
    if "RISKMON_REMINDERS_TOPIC" not in env:
        return set()
    return {
        orjson.loads(r.value)["id"] for r in read_topic(bootstrap, env["RISKMON_REMINDERS_TOPIC"])
    }


def dead_letters(bootstrap: str, env: Mapping[str, str]) -> set[tuple[int, int, str]]:
    """(partition, offset, reason) of each dead letter, from its dlq_* headers (a record
    dead-lettered twice, after a crash, counts once)."""
    out = set()
    for d in read_topic(bootstrap, env["RISKMON_DLQ_TOPIC"]):
        h = {k: v.decode() for k, v in d.headers}
        out.add((int(h["dlq_partition"]), int(h["dlq_offset"]), h["dlq_reason"]))
    return out


def outputs(bootstrap: str, env: Mapping[str, str]) -> list[dict[str, Any]]:
    """What a live worker sent, in the form and order of ``riskmon replay --outputs``: alerts
    (but area warnings), tasks and reminders by id and CloudEvents type, dead letters by
    partition, offset and reason."""
    topics = [("alert", "RISKMON_ALERTS_TOPIC"), ("task", "RISKMON_TASKS_TOPIC")]
    if "RISKMON_REMINDERS_TOPIC" in env:
        topics.append(("reminder", "RISKMON_REMINDERS_TOPIC"))
    sent = {  # a set: a crash may have sent one twice, and it is one output
        (kind, doc["id"], doc["type"])
        for kind, name in topics
        for doc in (orjson.loads(r.value) for r in read_topic(bootstrap, env[name]))
        if doc["type"] not in AREA_TYPES  # the ticker's, not the log's
    }
    rows: list[dict[str, Any]] = [{"kind": k, "id": i, "type": t} for k, i, t in sent]
    rows += [
        {"kind": "dead_letter", "partition": p, "offset": o, "reason": why}
        for p, o, why in dead_letters(bootstrap, env)
    ]
    return sorted(rows, key=output_order)


def output_order(row: Mapping[str, Any]) -> tuple[str, str, int, int]:
    """The order ``riskmon replay --outputs`` lists outputs in: by kind (alert, dead_letter,
    task), then by id, or for a dead letter by partition and offset."""
    return (row["kind"], row.get("id", ""), row.get("partition", 0), row.get("offset", 0))
