"""Early warnings on a real redis-server, through the worker's own path (planning, the scoring
write, supervision's MULTI, the address clusters after it): each rule of the shipped file fires
on its story; a redelivered batch re-sends the very same warnings and changes nothing; a crash
between supervision's write and the address clusters' is made good by the redelivery; the
address never enters Redis; and the metric counts each warning once."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from alerts.delivery import Topics
from alerts.warnings import WarningsConfig, load
from schemas.codec import encode_event
from schemas.uscc import make_uscc
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import Store
from streams.handler import Handler
from streams.metrics import Metrics
from streams.planning import Record
from streams.redis_client import connect_async
from streams.topics import partition_for
from supervision.config import load as load_supervision
from supervision.store.store import SupervisionStore
from tests.support.builders import RESTAURANT, at, event

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

MODEL = load_model()
PARTITIONS = 4
TOPIC = "warn.events"
ADDRESS = "西安市未央区凤城八路166号创业大厦"
SPELLINGS = [
    ADDRESS,
    "西安市 未央区 凤城八路１６６号（创业大厦）",
    "西安市未央区凤城八路166号 创业大厦。",
]
#: The shipped default but with no address rule: a worker that wrote supervision's MULTI and
#: crashed before the address clusters' write leaves Redis as this one does.
NO_ADDRESS = WarningsConfig(
    version=load().version,
    enterprise=tuple(r for r in load().enterprise if r.kind != "address_cluster"),
)


def _firms(n: int) -> list[str]:
    rng = random.Random(18)
    out: list[str] = []
    while len(out) < n:
        u = make_uscc(rng, "610112")
        if u not in out:
            out.append(u)
    return out


FIRMS = _firms(14)
SURGE, CLUSTER, DROP = FIRMS[11], FIRMS[12], FIRMS[13]


def _records(evs: Sequence[Any]) -> list[Record]:
    offsets: dict[int, int] = {}
    out = []
    for ev in evs:
        p = partition_for(ev.subject.encode(), PARTITIONS)
        out.append(Record(TOPIC, p, offsets.get(p, 0), ev.subject.encode(), encode_event(ev)))
        offsets[p] = offsets.get(p, 0) + 1
    return out


def story() -> list[Any]:
    evs = []
    # eleven firms registered at one address, spelled three ways: a cluster of ten is reached
    for n, u in enumerate(FIRMS[:11]):
        data = {**RESTAURANT, "address": SPELLINGS[n % 3]}
        evs.append(event("enterprise.registered", data, when=at(n), subject=u, eid=f"reg-{n}"))
    for u in (SURGE, CLUSTER, DROP):
        evs.append(event("enterprise.registered", RESTAURANT, when=at(0), subject=u, eid=f"r-{u}"))
    # five complaints in ten days on a quiet firm
    for n in range(5):
        data = {"channel": "12315_platform", "category": "food_safety"}
        evs.append(
            event("complaint.received", data, when=at(20 + 2 * n), subject=SURGE, eid=f"c-{n}")
        )
    # three penalties in four months
    for n in range(3):
        data = {
            "decision_number": f"西未市监罚〔2026〕{n}号",
            "domain": "food",
            "fine_cny": 20000.0,
            "severity": "ordinary",
        }
        evs.append(
            event("penalty.imposed", data, when=at(30 + 60 * n), subject=CLUSTER, eid=f"p-{n}")
        )
    # a serious-violation listing: straight into D
    data = {"decision_number": "西未市监严〔2026〕0003号", "reason": "fraud"}
    evs.append(event("serious_violation.added", data, when=at(40), subject=DROP, eid="sv"))
    return sorted(evs, key=lambda e: e.time)


class _Sink:
    """A broker that acks every record at once; what it took."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def enqueue(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Sequence[Any]
    ) -> Awaitable[object]:
        self.sent.append(orjson.loads(value or b"{}"))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    def warnings(self) -> list[dict[str, Any]]:
        return [d for d in self.sent if d.get("type") == "riskmon.alert.warning"]


class _Worker:
    def __init__(
        self, client: aioredis.Redis, prefix: str, warnings: WarningsConfig | None = None
    ) -> None:
        params = Params.of(MODEL)
        self.registry = CollectorRegistry()
        self.sink = _Sink()
        self.sup = SupervisionStore(
            client,
            prefix=prefix,
            config=load_supervision(None),
            model_version=MODEL.version,
            lateness=params.lateness,
            warnings=warnings if warnings is not None else load(),
            thresholds=params.thresholds,
        )
        self.handler = Handler(
            store=Store(client, prefix=prefix, params=params, partitions=PARTITIONS),
            model=MODEL,
            sink=self.sink,
            metrics=Metrics.create(self.registry, dict),
            topics=Topics(alerts="a", tasks="t", dlq="d", reminders="r"),
            partitions=PARTITIONS,
            max_event_bytes=65_536,
            supervision=self.sup,
        )

    async def run(self, records: list[Record], batch: int = 1000) -> None:
        for i in range(0, len(records), batch):
            await self.handler.handle_batch(records[i : i + batch])

    def counted(self, rule: str, severity: str) -> float:
        v = self.registry.get_sample_value(
            "riskmon_warnings_total", {"rule": rule, "severity": severity}
        )
        return v or 0.0


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = connect_async(redis_url)
    yield c
    await c.aclose()


async def _snapshot(client: aioredis.Redis, prefix: str) -> dict[bytes, Any]:
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


def _by_rule(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for d in docs:
        out.setdefault(d["data"]["rule"], []).append(d)
    return out


async def test_each_rule_fires_on_its_story_once_and_a_redelivery_re_sends_the_same(
    client: aioredis.Redis, key_prefix: str
) -> None:
    w = _Worker(client, key_prefix)
    records = _records(story())
    await w.run(records, batch=5)
    first = w.sink.warnings()
    rules = _by_rule(first)
    assert sorted(rules) == [
        "address-cluster",
        "complaint-surge",
        "first-d",
        "near-boundary",
        "penalty-cluster",
    ]
    assert all(len(v) == 1 for v in rules.values()), {k: len(v) for k, v in rules.items()}
    assert rules["complaint-surge"][0]["subject"] == SURGE
    assert rules["penalty-cluster"][0]["subject"] == CLUSTER
    # the complaints also lift its score to within five points under B's threshold
    assert rules["near-boundary"][0]["subject"] == SURGE
    (first_d,) = rules["first-d"]
    assert first_d["subject"] == DROP and first_d["data"]["severity"] == "critical"
    (cluster,) = rules["address-cluster"]
    assert cluster["data"]["measures"]["enterprises"] == 10
    # the one that happened to be tenth there (partitions are written concurrently)
    assert cluster["subject"] in FIRMS[:11]
    for rule, docs in rules.items():
        severity = docs[0]["data"]["severity"]
        assert w.counted(rule, severity) == 1, rule
    before = await _snapshot(client, key_prefix)
    # the address is nowhere in Redis, neither in a key nor in a value
    dump = repr(before).encode() + b"".join(
        v for h in before.values() if isinstance(h, dict) for v in h.values()
    )
    assert "凤城".encode() not in dump and "凤城" not in repr(before)

    w.sink.sent.clear()
    await w.run(records, batch=7)  # redelivered, cut into other batches

    again = w.sink.warnings()
    assert [(d["id"], d["data"]) for d in again] == [(d["id"], d["data"]) for d in first]
    assert await _snapshot(client, key_prefix) == before
    for rule, docs in rules.items():
        assert w.counted(rule, docs[0]["data"]["severity"]) == 1, rule


async def test_a_crash_between_supervisions_write_and_the_address_clusters_is_made_good(
    client: aioredis.Redis, key_prefix: str
) -> None:
    records = _records(story())
    crashed = _Worker(client, key_prefix, NO_ADDRESS)
    await crashed.run(records)
    assert "address-cluster" not in _by_rule(crashed.sink.warnings())
    successor = _Worker(client, key_prefix)
    await successor.run(records)  # the whole batch again: all duplicates now
    rules = _by_rule(successor.sink.warnings())
    assert len(rules["address-cluster"]) == 1
    # the partition rules' warnings are the ledger's, re-sent as they were
    assert {k: [d["id"] for d in v] for k, v in rules.items() if k != "address-cluster"} == {
        k: [d["id"] for d in v] for k, v in _by_rule(crashed.sink.warnings()).items()
    }


async def test_a_kill_between_scorings_write_and_supervisions_loses_no_warning(
    client: aioredis.Redis, key_prefix: str, redis_url: str
) -> None:
    # The reference: the story through one worker.
    records = _records(story())
    reference = _Worker(client, key_prefix)
    await reference.run(records)
    want = _bodies(reference.sink.warnings())
    assert "near-boundary" in _by_rule(reference.sink.warnings())
    # A worker killed after scoring's write of every batch, before supervision's: the scores
    # are in Redis, supervision has seen nothing. Its successor gets the batches again, every
    # event a scoring duplicate; the near-boundary rule needs each one's score all the same.
    other = connect_async(redis_url)
    try:
        killed = _Worker(other, key_prefix + ":killed")
        for i in range(0, len(records), 5):
            await killed.handler.apply_scoring(await killed.handler.plan_batch(records[i : i + 5]))
        successor = _Worker(other, key_prefix + ":killed")
        await successor.run(records, batch=5)
    finally:
        await other.aclose()
    assert _bodies(successor.sink.warnings()) == want


def _bodies(docs: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    """(id, data) of each warning, sorted; an address cluster's by id alone: which firm is the
    tenth at an address depends on the order the partitions are written in, not its id."""
    return sorted(
        (d["id"], b"" if d["data"]["rule"] == "address-cluster" else orjson.dumps(d["data"]))
        for d in docs
    )


async def test_the_address_warning_id_does_not_depend_on_the_order_partitions_are_read(
    redis_url: str, key_prefix: str
) -> None:
    records = _records(story())
    ids = []
    for n, order in enumerate((records, records[::-1])):
        c = connect_async(redis_url)
        try:
            w = _Worker(c, f"{key_prefix}:{n}")
            # one partition at a time, in the order given: other enterprises reach the level
            for p in sorted({r.partition for r in order}, reverse=bool(n)):
                await w.run([r for r in records if r.partition == p])
            ids.append(
                {d["id"] for d in w.sink.warnings() if d["data"]["rule"] == "address-cluster"}
            )
        finally:
            await c.aclose()
    assert ids[0] == ids[1] and len(ids[0]) == 1


async def test_a_redis_that_lost_the_address_script_gets_it_again() -> None:
    from local.embedded import EmbeddedRedis

    records = _records(story())
    with EmbeddedRedis() as server:  # its own server: SCRIPT FLUSH touches nobody else's
        c = connect_async(server.url)
        try:
            w = _Worker(c, "own")
            await w.run(records)
            first = [d["id"] for d in w.sink.warnings() if d["data"]["rule"] == "address-cluster"]
            await c.script_flush()
            w.sink.sent.clear()
            await w.run(records)
            again = [d["id"] for d in w.sink.warnings() if d["data"]["rule"] == "address-cluster"]
        finally:
            await c.aclose()
    assert first == again and len(first) == 1
