"""GET /stats/discovery against a real Redis: the random-plan counts of every partition summed
per class at draw, with rate and Wilson interval."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from api.discovery import stats_discovery
from api.http import Request
from scoring.exceptions import StoreUnavailableError
from streams.redis_client import connect, connect_async
from supervision.discovery import wilson
from supervision.store.keys import SupervisionKeys
from supervision.store.readers import SupervisionReader

PARTS = 3


def _get(redis_url: str, prefix: str) -> tuple[int, Any]:
    async def go() -> tuple[int, Any]:
        conn = connect_async(redis_url)
        try:
            reader = SupervisionReader(conn, prefix=prefix, partitions=PARTS)
            r = await stats_discovery(Request(), read_counts=reader.discovery_counts)
        finally:
            await conn.aclose()
        return r.status, orjson.loads(r.body)

    return asyncio.run(go())


def test_counts_of_every_partition_are_summed_per_class(redis_url: str, key_prefix: str) -> None:
    keys = SupervisionKeys(key_prefix)
    client = connect(redis_url)
    try:
        client.hset(keys.discovery(0), mapping={"B|problems_found": 3, "B|no_problem": 10})
        client.hset(keys.discovery(2), mapping={"B|corrected": 2, "D|problems_found": 17})
        client.hset(keys.discovery(2), mapping={"D|no_problem": 3, "A|no_problem": 25})
    finally:
        client.close()
    status, body = _get(redis_url, key_prefix)
    assert status == 200
    assert body["confidence"] == 0.95
    classes = body["classes"]
    assert list(classes) == ["A", "B", "C", "D"]
    assert (classes["A"]["inspected"], classes["A"]["problems_found"]) == (25, 0)
    assert (classes["B"]["inspected"], classes["B"]["problems_found"]) == (15, 5)
    assert classes["C"] == {
        "inspected": 0,
        "problems_found": 0,
        "rate": None,
        "wilson_low": None,
        "wilson_high": None,
    }
    d = classes["D"]
    assert (d["inspected"], d["problems_found"], d["rate"]) == (20, 17, 0.85)
    # The interval of 17 in 20 (tests/unit/supervision/test_discovery.py checks wilson()).
    assert (d["wilson_low"], d["wilson_high"]) == pytest.approx(wilson(17, 20))
    assert classes["A"]["wilson_low"] == 0.0 and classes["A"]["wilson_high"] < 0.14


def test_no_inspections_yet_is_four_empty_classes(redis_url: str, key_prefix: str) -> None:
    status, body = _get(redis_url, key_prefix)
    assert status == 200
    assert all(c["inspected"] == 0 and c["rate"] is None for c in body["classes"].values())


def test_the_store_unavailable_is_a_503() -> None:
    async def down() -> dict[str, int]:
        raise StoreUnavailableError("redis unavailable: Connection refused")

    r = asyncio.run(stats_discovery(Request(), read_counts=down))
    assert (r.status, orjson.loads(r.body)) == (
        503,
        {"error": "redis unavailable: Connection refused"},
    )
