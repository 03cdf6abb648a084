"""R8 of docs/reliability.md: poison of every kind in the middle of the stream. Each record is
dead-lettered exactly once, with its original key and bytes and the headers naming its reason
and place, and the events behind it in the same partition are applied."""

from __future__ import annotations

import orjson
import pytest

from streams.topics import partition_for
from tests.support.eventlog import LogRecord, seeded_log
from tests.support.harness import Worker
from tests.support.scenario import ROWS, Published, Row, metric, wait_exact

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.cluster]


def poison_records(good: list[LogRecord], partitions: int) -> list[tuple[LogRecord, int | None]]:
    """One record of each kind of poison (reason as the README names it), with the partition
    to force (None: murmur2 of the key), built from valid events of ``good``."""
    doc = orjson.loads(good[3].value)
    key = doc["subject"].encode()
    pen = next(orjson.loads(r.value) for r in good if b'"penalty.imposed"' in r.value)
    pen_key = pen["subject"].encode()

    def variant(eid: str, **changes: object) -> bytes:
        return orjson.dumps({**doc, "id": eid, **changes})

    wrong = (partition_for(key, partitions) + 1) % partitions
    return [
        (LogRecord(key, b"\xff\xfenot json", "not_json"), None),
        (LogRecord(key, b"[" * 5000 + b"]" * 5000, "not_json"), None),  # nesting beyond orjson's
        (LogRecord(key, b'{"id": "x", "data": "' + b"y" * 80_000 + b'"}', "oversized"), None),
        (LogRecord(key, orjson.dumps({"a": list(range(9000))}), "not_cloudevent"), None),  # 40 KB
        (LogRecord(key, b"[1, 2, 3]", "not_cloudevent"), None),
        (LogRecord(key, variant("p-time", time=12), "not_cloudevent"), None),
        (LogRecord(key, variant("p-type", type="penalty.imposed.v9"), "unknown_type"), None),
        (
            LogRecord(
                key,
                variant("p-reeval", type="riskmon.reevaluate", data={"asof": doc["time"]}),
                "unknown_type",
            ),
            None,
        ),
        (
            LogRecord(
                b"91350203M0001QAY9B",
                variant("p-uscc", subject="91350203M0001QAY9B"),
                "invalid_uscc",
            ),
            None,
        ),
        (
            LogRecord(
                pen_key,
                orjson.dumps({**pen, "id": "p-fine", "data": {**pen["data"], "fine_cny": "lots"}}),
                "invalid_data",
            ),
            None,
        ),
        (LogRecord(key, variant("p-wrongpart"), "misrouted"), wrong),
        (LogRecord(b"91610112MA6TGQ1K2M", variant("p-wrongkey"), "misrouted"), None),
    ]


def test_r8_every_kind_of_poison_is_dead_lettered_once_and_the_partition_flows(
    worker: Worker, env: dict[str, str], kafka_bootstrap: str, redis_url: str
) -> None:
    row = Row("R8 poison of every kind")
    ROWS.append(row)
    parts = int(env["RISKMON_PARTITIONS"])
    good = seeded_log(seed=8, enterprises=40, events=800, poison=False)
    bad = poison_records(good, parts)
    records = good[:300] + [rec for rec, _ in bad] + good[300:]
    forced = {300 + i: p for i, (_, p) in enumerate(bad) if p is not None}
    log = Published(kafka_bootstrap, env)
    row.events = log.send(records, forced)
    row.faults = f"{len(bad)} poison records"
    worker.start().wait_ready()
    out = wait_exact(kafka_bootstrap, redis_url, env, [worker], 180, published=log.records)

    by_value = {r.value: r for r in out.log}
    good_values = {g.value for g in good}
    dlq = {
        (d.key, d.value): {k: v.decode() for k, v in d.headers if k.startswith("dlq_")}
        for d in out.dlq
    }
    assert len(out.dlq) == len(bad)  # once each (wait_exact also checked it by place)
    for rec, _ in bad:
        placed = by_value[rec.value]
        h = dlq[(rec.key, rec.value)]
        assert h["dlq_reason"] == rec.poison, (rec.value[:60], h)
        assert h["dlq_topic"] == env["RISKMON_EVENTS_TOPIC"]
        assert (int(h["dlq_partition"]), int(h["dlq_offset"])) == (placed.partition, placed.offset)
        # the partition kept flowing: a valid event stands behind the poison, and was applied
        # (the states equal the reference, which applies it)
        assert any(
            r.partition == placed.partition and r.offset > placed.offset and r.value in good_values
            for r in out.log
        )
    assert metric(worker, "riskmon_dead_letters_total") == len(bad)
    row.duplicates = int(metric(worker, "riskmon_events_total", 'outcome="duplicate"'))
    row.result = "exact; each dead-lettered once"
