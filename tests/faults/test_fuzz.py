"""Fuzzing the ingestion path: any bytes (and JSON-ish documents, and valid events with one field
replaced) in. ``validate_record`` either raises InvalidEventError, and the real Handler then
dead-letters the record once with its reason, or returns an event, which the Handler applies to
a real Redis (its hash lands in the partition's ledger). Never another exception, never a stall
(each batch must finish within 10 s)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from alerts.delivery import Topics
from schemas.exceptions import InvalidEventError
from scoring.changes import change_for
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import Store, ledger_field
from streams.handler import Handler
from streams.metrics import Metrics
from streams.planning import Record, validate_record
from streams.redis_client import connect_async
from streams.ticker import TICKER_SOURCE
from streams.topics import partition_for
from tests.support.eventlog import seeded_log
from tests.support.scenario import ROWS, Row

pytestmark = [pytest.mark.integration]

PARTITIONS = 4
TOPICS = Topics(alerts="fz.alerts", tasks="fz.tasks", dlq="fz.dlq")


class RecordingSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, dict[str, bytes]]] = []

    async def enqueue(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> Awaitable[object]:
        self.sent.append((topic, key, value, dict(headers)))
        acked: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        acked.set_result(None)
        return acked


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=25,
)
VALID = [orjson.loads(r.value) for r in seeded_log(seed=77, enterprises=8, events=60, poison=False)]
FIELDS = ["id", "source", "type", "subject", "time", "specversion", "data", "datacontenttype"]


@st.composite
def mutated_events(draw: st.DrawFn) -> tuple[bytes | None, bytes]:
    doc = dict(draw(st.sampled_from(VALID)))
    how = draw(st.sampled_from(["field", "data_field", "drop", "type", "asis"]))
    if how == "field":
        doc[draw(st.sampled_from(FIELDS))] = draw(json_values)
    elif how == "data_field" and isinstance(doc.get("data"), dict):
        data = dict(doc["data"])
        data[draw(st.sampled_from([*data, "extra"]))] = draw(json_values)
        doc["data"] = data
    elif how == "drop":
        doc.pop(draw(st.sampled_from(FIELDS)), None)
    elif how == "type":
        doc["type"] = draw(
            st.sampled_from(["riskmon.reevaluate", "penalty.revoked", "inspection.completed"])
        )
        if doc["type"] == "riskmon.reevaluate" and draw(st.booleans()):
            doc["source"] = TICKER_SOURCE
    subject = doc.get("subject")
    key = (
        subject.encode()
        if isinstance(subject, str) and draw(st.integers(0, 4)) > 0
        else draw(st.none() | st.binary(max_size=20))
    )
    return key, orjson.dumps(doc)


inputs = st.one_of(
    st.tuples(st.none() | st.binary(max_size=24), st.binary(max_size=3000)),
    st.tuples(st.none() | st.binary(max_size=24), json_values.map(orjson.dumps)),
    mutated_events(),
    mutated_events(),
)


def test_fuzz_ingestion_dead_letters_or_applies_never_anything_else(
    redis_url: str, key_prefix: str, full: bool
) -> None:
    examples = 3000 if full else 300
    row = Row("fuzz ingestion path", faults="hypothesis inputs")
    ROWS.append(row)
    model = load_model()
    loop = asyncio.new_event_loop()
    client = connect_async(redis_url)
    store = Store(client, prefix=key_prefix, params=Params.of(model), partitions=PARTITIONS)
    sink = RecordingSink()
    handler = Handler(
        store=store,
        model=model,
        sink=sink,
        metrics=Metrics.create(CollectorRegistry(), dict),
        topics=TOPICS,
        partitions=PARTITIONS,
        max_event_bytes=65_536,
    )
    seen = {"n": 0, "dead": 0, "applied": 0}

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(inputs, st.integers(0, 4).map(bool))
    def run(kv: tuple[bytes | None, bytes], routed: bool) -> None:
        key, value = kv
        seen["n"] += 1
        part = partition_for(key, PARTITIONS) if routed and key else seen["n"] % PARTITIONS
        rec = Record(topic="fz.events", partition=part, offset=seen["n"], key=key, value=value)
        try:
            ev = validate_record(rec, PARTITIONS, 65_536)
        except InvalidEventError as exc:
            ev, reason = None, exc.reason
        del sink.sent[:]
        loop.run_until_complete(asyncio.wait_for(handler.handle_batch([rec]), timeout=10))
        dead = [s for s in sink.sent if s[0] == TOPICS.dlq]
        if ev is None:
            seen["dead"] += 1
            assert len(dead) == 1 and dead[0][3]["dlq_reason"] == reason.encode()
            assert (dead[0][1], dead[0][2]) == (key, value)
        else:
            seen["applied"] += 1
            assert not dead
            ledger = store.keys.ledger(part)
            field = ledger_field(change_for(ev, model).event_hash)
            assert loop.run_until_complete(client.hexists(ledger, field))

    try:
        run()
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
    print(
        f"\nfuzz: {seen['n']} inputs run: {seen['dead']} dead-lettered, {seen['applied']} applied"
    )
    row.events = seen["n"]
    row.result = f"{seen['dead']} dead-lettered, {seen['applied']} applied, nothing else"
    assert seen["applied"] > 0 and seen["dead"] > 0
