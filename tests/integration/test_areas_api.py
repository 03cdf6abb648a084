"""GET /regions, /industries and /regions/{code} against a real Redis: enterprises classified
through apply.lua, counted per area and summed over partitions; a division's enterprises in C
and D paged; what the handlers refuse."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import orjson
import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from api.areas import list_areas, region
from api.http import Request
from local.embedded import free_port
from schemas.alerts import AreaKind
from scoring.changes import change_for
from scoring.fold import Params
from scoring.model import load_model
from scoring.store import ApplyRequest, Keys, MembersPage, Store, area_rows, region_members
from streams.redis_client import connect_async
from streams.topics import partition_for
from tests.support.builders import at, event

pytestmark = pytest.mark.integration

MODEL = load_model()
PARTS = 3
USCCS = ["91110000600037341L", "91110108551385082Q", "91440101MA5CJQ4N59", "91610112MA6TGQ1K2M"]


async def _populate(client: aioredis.Redis, prefix: str) -> None:
    """Four enterprises of 610112 (industries F5191, F52, C13, F5191): one in D, two in C,
    one in A; the D entry on day 30."""
    log = []
    for i, (u, ind) in enumerate(zip(USCCS, ["F5191", "F52", "C13", "F5191"], strict=True)):
        data = {
            "name": "测试企业",
            "division_code": "610112",
            "industry_code": ind,
            "founded_on": "2015-03-01",
            "registered_capital_cny": 1_000_000,
            "new_economy": False,
        }
        log.append(event("enterprise.registered", data, when=at(0), subject=u, eid=f"r{i}"))
    listing = {"decision_number": "S", "reason": "fraud"}
    abnormal = {"decision_number": "A", "reason": "unreachable_at_address"}
    log.append(event("serious_violation.added", listing, when=at(30), subject=USCCS[0], eid="s"))
    for i in (1, 2):
        log.append(
            event("abnormal_list.added", abnormal, when=at(20), subject=USCCS[i], eid=f"a{i}")
        )
    offsets: dict[int, int] = defaultdict(int)
    requests = []
    for ev in log:
        p = partition_for(ev.subject.encode(), PARTS)
        requests.append(ApplyRequest(ev.subject, p, offsets[p], change_for(ev, MODEL)))
        offsets[p] += 1
    await Store(client, prefix=prefix, params=Params.of(MODEL), partitions=PARTS).apply_batch(
        requests
    )


@pytest.fixture
async def client(redis_url: str, key_prefix: str) -> AsyncIterator[aioredis.Redis]:
    conn = connect_async(redis_url)
    await _populate(conn, key_prefix)
    yield conn
    await conn.aclose()


def _readers(conn: aioredis.Redis, prefix: str) -> tuple[Any, Any]:
    async def rows(kind: AreaKind) -> Any:
        return await area_rows(conn, Keys(prefix), PARTS, kind)

    async def members(code: str, limit: int, after: str | None) -> MembersPage:
        return await region_members(conn, Keys(prefix), PARTS, code, limit=limit, after=after)

    return rows, members


async def test_regions_and_industries_show_counts_share_and_entries(
    client: aioredis.Redis, key_prefix: str
) -> None:
    rows, _ = _readers(client, key_prefix)
    resp = await list_areas(Request(), kind="division", read_rows=rows)
    assert resp.status == 200
    body = orjson.loads(resp.body)
    assert body["kind"] == "division"
    (row,) = body["areas"]
    assert row["code"] == "610112"
    assert row["enterprises"] == 4
    assert row["by_class"] == {"A": 1, "B": 0, "C": 2, "D": 1}
    assert row["cd_share"] == 0.75
    assert row["d_entries_7d"] == 1 and row["c_entries_7d"] == 0  # C entries on day 20
    assert row["d_weekly_mean"] == 0.0 and row["trend"] == 1.0
    body = orjson.loads((await list_areas(Request(), kind="industry", read_rows=rows)).body)
    shares = {r["code"]: (r["enterprises"], r["cd_share"]) for r in body["areas"]}
    assert shares == {
        "C": (1, 1.0),
        "C13": (1, 1.0),
        "F": (3, 2 / 3),
        "F51": (2, 0.5),
        "F52": (1, 1.0),
    }


async def test_a_regions_enterprises_in_c_and_d_come_in_pages(
    client: aioredis.Redis, key_prefix: str
) -> None:
    _, members = _readers(client, key_prefix)
    handler = partial(region, read_members=members)
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        resp = await handler(Request(path_params={"code": "610112"}, query=query))
        assert resp.status == 200
        body = orjson.loads(resp.body)
        seen += [(e["uscc"], e["class"]) for e in body["enterprises"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted([(USCCS[0], "D"), (USCCS[1], "C"), (USCCS[2], "C")])
    empty = await handler(Request(path_params={"code": "110105"}))
    assert orjson.loads(empty.body)["enterprises"] == []


@pytest.mark.parametrize(
    ("code", "query"),
    [
        ("61011", {}),
        ("610112x", {}),
        ("610112", {"limit": "0"}),
        ("610112", {"limit": "501"}),
        ("610112", {"cursor": "not-a-uscc"}),
        ("610112", {"page": "2"}),
    ],
)
async def test_a_region_query_it_cannot_take_is_a_400(code: str, query: dict[str, str]) -> None:
    async def members(code: str, limit: int, after: str | None) -> MembersPage:
        raise AssertionError("not read")

    resp = await region(Request(path_params={"code": code}, query=query), read_members=members)
    assert resp.status == 400
    assert orjson.loads(resp.body)["error"] == "bad query"


async def test_without_redis_the_answer_is_503() -> None:
    dead = aioredis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    rows, members = _readers(dead, "nowhere")
    try:
        assert (await list_areas(Request(), kind="industry", read_rows=rows)).status == 503
        resp = await region(Request(path_params={"code": "610112"}), read_members=members)
        assert resp.status == 503
    finally:
        await dead.aclose()
