"""Supervision's store on a real redis-server: a batch goes through the worker's own path
(planning, the scoring write, then supervision's), its redelivery re-sends the same messages
and changes nothing, and a write by another client between the read and the write (a zombie
worker) makes the call redo rather than apply twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, cast

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from alerts.delivery import Sink, Topics
from alerts.rules import Message
from local.embedded import free_port
from schemas.codec import decode_event, encode_event
from schemas.events import PLANS_SOURCE
from scoring.changes import event_hash
from scoring.exceptions import StoreUnavailableError
from scoring.fold import Outcome, Params
from scoring.model import load_model
from scoring.store import Store, StoreResult, ledger_field
from streams.handler import Handler, supervision_inputs
from streams.metrics import Metrics
from streams.planning import Record
from streams.redis_client import connect_async
from streams.topics import partition_for
from supervision.config import load as load_supervision
from supervision.ids import plan_task_id
from supervision.records import decode_task
from supervision.store.keys import SupervisionKeys
from supervision.store.store import SupervisionStore
from tests.support.builders import RESTAURANT, at, event

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

MODEL = load_model()
PARTITIONS = 4
FIRM = "91610112MA6TGQ1K2M"  # new economy: observed
OTHER = "91110108551385082Q"  # driven into D by a serious-violation listing
TOPIC = "sup.events"


def _as_records(evs: list[Any]) -> list[Record]:
    offsets: dict[int, int] = {}
    out = []
    for ev in evs:
        p = partition_for(ev.subject.encode(), PARTITIONS)
        out.append(Record(TOPIC, p, offsets.get(p, 0), ev.subject.encode(), encode_event(ev)))
        offsets[p] = offsets.get(p, 0) + 1
    return out


def _records() -> list[Record]:
    founded = at(0).date() - dt.timedelta(days=30)
    evs = [
        event(
            "enterprise.registered",
            {**RESTAURANT, "new_economy": True, "founded_on": str(founded)},
            when=at(0),
            subject=FIRM,
            eid="reg-firm",
        ),
        event("enterprise.registered", RESTAURANT, when=at(0), subject=OTHER, eid="reg-other"),
        event(
            "abnormal_list.added",
            {"decision_number": "西未市监异〔2026〕0042号", "reason": "unreachable_at_address"},
            when=at(3),
            subject=OTHER,
            eid="abn-other",
        ),
        event(
            "serious_violation.added",
            {"decision_number": "西未市监严〔2026〕0003号", "reason": "fraud"},
            when=at(5),
            subject=OTHER,
            eid="sv-other",
        ),
    ]
    return _as_records(evs)


class _Sink:
    """A broker that acks every record at once; what it took, as (topic, CloudEvents type)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def enqueue(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> Awaitable[object]:
        self.sent.append((topic, orjson.loads(value or b"{}").get("type", "")))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


class _Client:
    """A worker's Redis side: the scoring store, supervision's store and the handler that
    runs a batch through both (no Kafka: only its Redis half is used here)."""

    def __init__(self, client: aioredis.Redis, prefix: str, sink: Sink | None = None) -> None:
        params = Params.of(MODEL)
        self.registry = CollectorRegistry()
        self.store = Store(client, prefix=prefix, params=params, partitions=PARTITIONS)
        self.sup = SupervisionStore(
            client,
            prefix=prefix,
            config=load_supervision(None),
            model_version=MODEL.version,
            lateness=params.lateness,
        )
        self.handler = Handler(
            store=self.store,
            model=MODEL,
            sink=sink if sink is not None else cast(Sink, None),
            metrics=Metrics.create(self.registry, dict),
            topics=Topics(alerts="a", tasks="t", dlq="d", reminders="r"),
            partitions=PARTITIONS,
            max_event_bytes=65_536,
            supervision=self.sup,
        )

    async def batch(self, records: list[Record]) -> list[Message]:
        planned = await self.handler.plan_batch(records)
        return (await self.handler.apply_planned(planned)).flat()


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = connect_async(redis_url)
    yield c
    await c.aclose()


async def _snapshot(client: aioredis.Redis, prefix: str) -> dict[bytes, Any]:
    """Every key of ``prefix`` with its whole value."""
    out: dict[bytes, Any] = {}
    async for key in client.scan_iter(match=f"{prefix}:*"):
        kind = await client.type(key)
        if kind == b"hash":
            out[key] = await client.hgetall(key)
        elif kind == b"zset":
            out[key] = await client.zrange(key, 0, -1, withscores=True)
        else:
            out[key] = await client.get(key)
    return out


def _types(messages: list[Message]) -> list[str]:
    return [m.type for m in messages]


async def test_a_batch_then_its_redelivery_re_sends_the_same_and_changes_nothing(
    client: aioredis.Redis, key_prefix: str
) -> None:
    worker = _Client(client, key_prefix)
    records = _records()
    first = await worker.batch(records)
    types = _types(first)
    # supervision's outputs beside scoring's: the observed firm's period, the reminder of the
    # abnormal-operations listing, and the listing's task, tracked
    assert "riskmon.observation.started" in types
    assert "riskmon.reminder.sent" in types
    assert types.count("riskmon.task.created") == 1
    (task_msg,) = [m for m in first if m.type == "riskmon.task.created"]
    keys = SupervisionKeys(key_prefix)
    raw = await client.hget(keys.tasks(partition_for(OTHER.encode(), PARTITIONS)), task_msg.id)
    assert raw is not None
    task = decode_task(raw)
    assert (task.uscc, task.trigger, task.state) == (OTHER, "serious_violation", "created")
    before = await _snapshot(client, key_prefix)
    # the ledger holds every event, under its hash's 8 bytes as scoring's ledger does
    seen = [k for k in before if k.startswith(f"{key_prefix}:sup:seen:".encode())]
    fields = {f for k in seen for f in before[k]}
    events = [decode_event(r.value) for r in records]
    assert fields == {ledger_field(event_hash(e.source, e.id)) for e in events}

    again = await worker.batch(records)  # redelivered after a crash before the commit

    assert [(m.kind, m.id, m.value) for m in again] == [(m.kind, m.id, m.value) for m in first]
    assert await _snapshot(client, key_prefix) == before
    assert worker.sup.redos == 0


async def test_a_write_by_another_worker_between_read_and_write_is_redone_not_doubled(
    client: aioredis.Redis, key_prefix: str, redis_url: str
) -> None:
    records = _records()
    zombie = _Client(connect_async(redis_url), key_prefix)
    worker = _Client(client, key_prefix)
    # Scoring's half is written first (by the worker); supervision's read of the observed
    # firm's partition is then overtaken by the zombie applying the same events.
    planned = await worker.handler.plan_batch(records)
    p = partition_for(FIRM.encode(), PARTITIONS)
    raced: list[list[Message]] = []
    read = worker.sup._load

    async def load_then_race(partition: int, w: Any, fence: int) -> Any:
        loaded = await read(partition, w, fence)
        if partition == p and not raced:
            raced.append((await zombie.handler.apply_planned(planned)).flat())
        return loaded

    worker.sup._load = load_then_race  # type: ignore[method-assign]
    try:
        mine = (await worker.handler.apply_planned(planned)).flat()
    finally:
        await zombie.store._client.aclose()

    assert worker.sup.redos >= 1  # (another partition's read may have been overtaken too)
    # the same messages as the zombie sent, and those once: nothing applied twice
    assert sorted(m.id for m in mine) == sorted(m.id for m in raced[0])
    meta = await client.hgetall(SupervisionKeys(key_prefix).meta(p))
    started = [m for m in mine if m.type == "riskmon.observation.started"]
    assert len(started) == 1
    assert orjson.loads(started[0].value)["subject"] == FIRM
    # one write by the zombie, none by the refused worker: the version moved once
    assert int(meta[b"v"]) == 1


async def test_outputs_go_per_event_scoring_first_and_a_completed_plan_task_is_counted_once(
    client: aioredis.Redis, key_prefix: str
) -> None:
    sink = _Sink()
    worker = _Client(client, key_prefix, sink)
    records = _records()
    planned = await worker.handler.plan_batch(records)
    await worker.handler.start_outputs(
        records, planned, await worker.handler.apply_planned(planned)
    )
    # the listing's class change and task (scoring's), then its observation and reminder
    # messages (supervision's) on their topics
    assert ("r", "riskmon.reminder.sent") in sink.sent
    assert ("a", "riskmon.observation.started") in sink.sent
    assert sink.sent.index(("t", "riskmon.task.created")) > sink.sent.index(
        ("a", "riskmon.alert.class_changed")
    )
    plan = [
        event(
            "riskmon.task.planned",
            {
                "task_id": plan_task_id("plan-1", OTHER),
                "plan_id": "plan-1",
                "class_at_draw": "C",
                "inspectors": ["i1", "i2"],
            },
            when=at(10),
            subject=OTHER,
            eid="plan-1/other",
            source=PLANS_SOURCE,
        ),
        event(
            "inspection.completed",
            {"result": "problems_found", "plan_id": "plan-1"},
            when=at(20),
            subject=OTHER,
            eid="insp-1",
        ),
    ]
    more = _as_records(plan)
    for _ in range(2):  # the second time: redelivered
        planned = await worker.handler.plan_batch(more)
        applied = await worker.handler.apply_planned(planned)
        await worker.handler.start_outputs(more, planned, applied)
    count = worker.registry.get_sample_value(
        "riskmon_spot_checks_total", {"class_at_draw": "C", "result": "problems_found"}
    )
    assert count == 1
    disc = await client.hgetall(
        SupervisionKeys(key_prefix).discovery(partition_for(OTHER.encode(), PARTITIONS))
    )
    assert disc == {b"C|problems_found": b"1"}


async def test_redis_unavailable_is_retryable_not_a_bug(key_prefix: str) -> None:
    # the handler retries StoreUnavailableError with backoff; anything else stops the worker
    down = connect_async(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    worker = _Client(down, key_prefix)
    try:
        planned = await worker.handler.plan_batch(_records())
        inputs = [
            i
            for _, i in supervision_inputs(
                planned,
                [StoreResult("applied", Outcome(0, 1, 0, 0, 0))] * len(planned.events),
                [[] for _ in planned.events],
            )[partition_for(FIRM.encode(), PARTITIONS)]
        ]
        with pytest.raises(StoreUnavailableError):
            await worker.sup.apply(partition_for(FIRM.encode(), PARTITIONS), inputs)
    finally:
        await down.aclose()


async def test_supervision_keeps_the_offset_watermark_the_rewind_goes_back_to(
    client: aioredis.Redis, key_prefix: str
) -> None:
    worker = _Client(client, key_prefix)
    records = _records()
    parts = {r.partition for r in records}
    # nothing supervised yet: -1, so a rewind re-reads the partition from its start
    assert {await worker.sup.watermark(p) for p in parts} == {-1}
    await worker.batch(records)
    for p in parts:
        newest = max(r.offset for r in records if r.partition == p)
        assert await worker.sup.watermark(p) == newest
        assert await worker.store.watermark(p) == newest
    # state written before supervision kept a watermark: None, and the rewind keeps to scoring's
    p = min(parts)
    await client.hdel(SupervisionKeys(key_prefix).meta(p), "wm")
    assert await worker.sup.watermark(p) is None
