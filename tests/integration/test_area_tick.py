"""The ticker's regional and industry turn (streams/ticker.py AreaTicker) on a real Redis: the
worker owning events partition 0 sends each area warning once, on the alerts topic keyed by
the area; another worker sends none; both export the area gauge; the counter counts sends."""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from alerts.delivery import Topics
from alerts.warnings import load
from schemas.alerts import ALERT_REGION, OutgoingEnvelope
from schemas.uscc import make_uscc
from scoring.changes import change_for
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import ApplyRequest, Store
from streams.redis_client import connect_async
from streams.ticker import AreaTicker
from streams.topics import partition_for
from tests.support.builders import at, event

pytestmark = pytest.mark.integration

MODEL = load_model()
PARTS = 4
TOPICS = Topics(alerts="riskmon.alerts", tasks="riskmon.tasks", dlq="riskmon.dlq")


class Sink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None]] = []

    async def enqueue(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Sequence[Any]
    ) -> asyncio.Future[None]:
        self.sent.append((topic, key, value))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


async def _district(client: aioredis.Redis, prefix: str) -> Store:
    """40 enterprises in 610112, 9 of them entering D on one day (none before): a surge and a
    C+D share far above the district's (which has 40 more enterprises in A in 610113)."""
    rng = random.Random(5)
    log = []
    for i in range(80):
        u = make_uscc(rng)
        data = {
            "name": "测试企业",
            "division_code": "610112" if i < 40 else "610113",
            "industry_code": "F5191" if i < 40 else "H6210",
            "founded_on": "2015-03-01",
            "registered_capital_cny": 1_000_000,
            "new_economy": False,
        }
        log.append(event("enterprise.registered", data, when=at(0), subject=u, eid=f"r{i}"))
        if i < 9:
            listing = {"decision_number": f"S{i}", "reason": "fraud"}
            log.append(
                event("serious_violation.added", listing, when=at(90), subject=u, eid=f"s{i}")
            )
    offsets: dict[int, int] = defaultdict(int)
    requests = []
    for ev in log:
        p = partition_for(ev.subject.encode(), PARTS)
        requests.append(ApplyRequest(ev.subject, p, offsets[p], change_for(ev, MODEL)))
        offsets[p] += 1
    store = Store(client, prefix=prefix, params=Params.of(MODEL), partitions=PARTS)
    await store.apply_batch(requests)
    return store


def _runtime(client: aioredis.Redis, store: Store, sink: Sink, partitions: list[int]) -> Any:
    return SimpleNamespace(
        redis=client,
        store=store,
        settings=SimpleNamespace(partitions=PARTS),
        events_partitions=lambda: partitions,
        handler=SimpleNamespace(sink=sink, topics=TOPICS),
    )


async def test_partition_zeros_worker_sends_each_area_warning_once(
    redis_url: str, key_prefix: str
) -> None:
    client = connect_async(redis_url)
    try:
        store = await _district(client, key_prefix)
        registries = [CollectorRegistry(), CollectorRegistry()]
        owner, other = (AreaTicker.create(load(), r) for r in registries)
        sinks = [Sink(), Sink()]
        await owner.tick(_runtime(client, store, sinks[0], [0, 2]), now=1000.0)
        await other.tick(_runtime(client, store, sinks[1], [1, 3]), now=1000.0)
        assert sinks[1].sent == []
        envs = [
            OutgoingEnvelope.model_validate(orjson.loads(v or b"")) for _, _, v in sinks[0].sent
        ]
        fired = {(e.type, e.subject, e.data.rule) for e in envs}  # type: ignore[union-attr]
        assert (ALERT_REGION, "division:610112", "division-cd-share") in fired
        assert (ALERT_REGION, "division:610112", "division-d-surge") in fired
        assert all(e.subject != "division:610113" for e in envs)
        assert {t for t, _, _ in sinks[0].sent} == {"riskmon.alerts"}
        assert all(
            k == e.subject.encode() for (_, k, _), e in zip(sinks[0].sent, envs, strict=True)
        )
        # within the minute nothing is read again; after it, the same warnings are not re-sent
        n = len(sinks[0].sent)
        await owner.tick(_runtime(client, store, sinks[0], [0, 2]), now=1030.0)
        await owner.tick(_runtime(client, store, sinks[0], [0, 2]), now=1100.0)
        assert len(sinks[0].sent) == n
        for r in registries:  # every worker exports the counts
            assert (
                r.get_sample_value(
                    "riskmon_area_enterprises", {"kind": "division", "code": "610112", "class": "D"}
                )
                == 9.0
            )
            assert (
                r.get_sample_value(
                    "riskmon_area_enterprises", {"kind": "industry", "code": "H62", "class": "A"}
                )
                == 40.0
            )
        sent = registries[0].get_sample_value(
            "riskmon_area_warnings_total", {"rule": "division-d-surge", "kind": "division"}
        )
        assert sent == 1.0
        assert (
            registries[1].get_sample_value(
                "riskmon_area_warnings_total", {"rule": "division-d-surge", "kind": "division"}
            )
            == 0.0
        )
    finally:
        await client.aclose()
