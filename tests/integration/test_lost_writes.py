"""The store's fence: once Redis has acknowledged applying a partition up to an offset, a later
call finding the partition's watermark below it (Redis lost acknowledged writes: a failover to a
lagging replica, a restart from an AOF missing its tail) is refused and applies nothing, so the
worker stops and its successor re-reads from the watermark (R13 in tests/cluster)."""

from __future__ import annotations

import pytest

from scoring.changes import change_for
from scoring.exceptions import StoreError
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import ApplyRequest, Keys, Store
from streams.redis_client import connect_async
from tests.support.builders import at, event

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

MODEL = load_model()
P = Params.of(MODEL)
USCC = "91110000600037341L"


def _requests(first: int, count: int) -> list[ApplyRequest]:
    out = []
    for offset in range(first, first + count):
        e = event(
            "complaint.received",
            {"category": "quality", "channel": "12315_platform"},
            when=at(60 + offset),
            subject=USCC,
            eid=f"c-{offset}",
        )
        out.append(ApplyRequest(USCC, 0, offset, change_for(e, MODEL)))
    return out


async def test_a_watermark_gone_back_refuses_the_next_call_and_applies_nothing(
    redis_url: str, key_prefix: str
) -> None:
    client = connect_async(redis_url)
    try:
        store = Store(client, prefix=key_prefix, params=P, partitions=1)
        await store.apply_batch(_requests(0, 10))
        meta = Keys(key_prefix).meta(0)
        assert int(await client.hget(meta, "wm")) == 9
        # Redis comes back without its last writes: the watermark is at 4 again.
        await client.hset(meta, "wm", 4)
        before = await store.get(0, USCC)
        with pytest.raises(StoreError, match=r"LOSTWRITES .* below 9.*re-read from 5"):
            await store.apply_batch(_requests(10, 5))
        assert int(await client.hget(meta, "wm")) == 4
        assert await store.get(0, USCC) == before
        # A new store (the worker's successor) has no fence: it re-reads from 5 and goes on.
        again = Store(client, prefix=key_prefix, params=P, partitions=1)
        results = await again.apply_batch(_requests(5, 10))
        # 5..9 are still in the ledger (only the watermark was set back here): duplicates.
        assert [r.duplicate for r in results] == [True] * 5 + [False] * 5
        assert int(await client.hget(meta, "wm")) == 14
    finally:
        await client.aclose()
