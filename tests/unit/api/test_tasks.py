"""GET /tasks and GET /tasks/{task_id} against a real Redis holding task records: filters,
paging, the task's fields and history, 400 for a bad query and 404 for an unknown task."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

import orjson
import pytest
import redis

from api.http import Request, Response
from api.tasks import get_task, list_tasks
from streams.redis_client import connect, connect_async
from supervision.records import Transition
from supervision.store.readers import SupervisionReader
from tests.support.tasks import DAY, T0, partition_of, put_task, register, task, usccs

PARTS = 4
WEIYANG, BEILIN = usccs(3, "610112"), usccs(2, "610103")
OUTSIDE = usccs(1, "110101")[0]


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    c = connect(redis_url)
    yield c
    c.close()


def _call(redis_url: str, prefix: str, handler: Any, request: Request) -> tuple[int, Any]:
    async def go() -> Response:
        conn = connect_async(redis_url)
        try:
            reader = SupervisionReader(conn, prefix=prefix, partitions=PARTS)
            return await handler(request, reader=reader)  # type: ignore[no-any-return]
        finally:
            await conn.aclose()

    r = asyncio.run(go())
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    return r.status, orjson.loads(r.body)


def _list(redis_url: str, prefix: str, query: Mapping[str, str]) -> tuple[int, Any]:
    return _call(redis_url, prefix, list_tasks, Request(query=query))


def _ids(body: Any) -> list[str]:
    return [t["task_id"] for t in body["tasks"]]


@pytest.fixture
def district(client: redis.Redis, key_prefix: str) -> None:
    """Six tasks over five enterprises of two Xi'an districts and one Beijing one."""
    for u in WEIYANG:
        register(client, key_prefix, PARTS, u, "610112")
    for u in BEILIN:
        register(client, key_prefix, PARTS, u, "610103")
    register(client, key_prefix, PARTS, OUTSIDE, "110101")
    assigned = [
        Transition("created", T0 + 4 * DAY, "riskmon"),
        Transition("assigned", T0 + 5 * DAY, "wang.li", "to the food team", "ev-1"),
    ]
    for t in (
        task("t-1", WEIYANG[0], created_at=T0 + 1 * DAY),
        task("t-2", WEIYANG[1], trigger="serious_violation", created_at=T0 + 2 * DAY),
        task(
            "t-3",
            WEIYANG[2],
            trigger="random_plan",
            plan_id="plan-1",
            risk_class="B",
            created_at=T0 + 3 * DAY,
            inspectors=["i-01", "i-02"],
        ),
        task(
            "t-4",
            BEILIN[0],
            state="assigned",
            trigger="random_plan",
            plan_id="plan-1",
            risk_class="C",
            created_at=T0 + 4 * DAY,
            history=assigned,
        ),
        task("t-5", BEILIN[1], state="completed", result="problems_found", created_at=T0 + 5 * DAY),
        task("t-6", OUTSIDE, state="cancelled", created_at=T0 + 6 * DAY),
    ):
        put_task(client, key_prefix, PARTS, t)


@pytest.mark.usefixtures("district")
def test_a_task_is_found_by_its_id_alone_with_its_history(redis_url: str, key_prefix: str) -> None:
    # The tasks are spread over partitions; the API is given only the id.
    assert len({partition_of(u, PARTS) for u in (*WEIYANG, *BEILIN, OUTSIDE)}) > 1
    status, body = _call(redis_url, key_prefix, get_task, Request(path_params={"task_id": "t-4"}))
    assert status == 200
    assert body == {
        "task_id": "t-4",
        "state": "assigned",
        "trigger": "random_plan",
        "mode": "on_site",
        "uscc": BEILIN[0],
        "plan_id": "plan-1",
        "risk_class": "C",
        "inspectors": [],
        "result": None,
        "overdue": False,
        "due": "2026-04-04T00:00:00+00:00",
        "created_at": "2026-03-05T00:00:00+00:00",
        "history": [
            {
                "state": "created",
                "at": "2026-03-05T00:00:00+00:00",
                "actor": "riskmon",
                "note": None,
                "event_id": None,
                "rejected": False,
            },
            {
                "state": "assigned",
                "at": "2026-03-06T00:00:00+00:00",
                "actor": "wang.li",
                "note": "to the food team",
                "event_id": "ev-1",
                "rejected": False,
            },
        ],
    }


@pytest.mark.usefixtures("district")
def test_an_unknown_task_is_a_404_naming_it(redis_url: str, key_prefix: str) -> None:
    request = Request(path_params={"task_id": "no-such-task"})
    status, body = _call(redis_url, key_prefix, get_task, request)
    assert (status, body) == (404, {"error": "unknown task", "task_id": "no-such-task"})


@pytest.mark.usefixtures("district")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["t-1", "t-2", "t-3", "t-4", "t-5", "t-6"]),
        ({"state": "created"}, ["t-1", "t-2", "t-3"]),
        ({"state": "completed"}, ["t-5"]),
        ({"trigger": "random_plan"}, ["t-3", "t-4"]),
        ({"plan_id": "plan-1", "state": "assigned"}, ["t-4"]),
        ({"uscc": WEIYANG[1]}, ["t-2"]),
        ({"division": "610112"}, ["t-1", "t-2", "t-3"]),
        ({"division": "6101"}, ["t-1", "t-2", "t-3", "t-4", "t-5"]),
        ({"division": "11"}, ["t-6"]),
        ({"division": "610103", "trigger": "random_plan"}, ["t-4"]),
        ({"division": "3201"}, []),
        ({"state": "", "trigger": ""}, ["t-1", "t-2", "t-3", "t-4", "t-5", "t-6"]),
    ],
    ids=lambda v: repr(v) if isinstance(v, dict) else "",
)
def test_the_filters_combine(
    redis_url: str, key_prefix: str, query: dict[str, str], expected: list[str]
) -> None:
    status, body = _list(redis_url, key_prefix, query)
    assert status == 200
    assert _ids(body) == expected
    assert body["total"] == len(expected)


@pytest.mark.usefixtures("district")
def test_pages_walk_every_task_once_in_creation_order(redis_url: str, key_prefix: str) -> None:
    seen: list[str] = []
    query: dict[str, str] = {"limit": "4"}
    pages = 0
    while True:
        status, body = _list(redis_url, key_prefix, query)
        assert status == 200 and body["total"] == 6 and body["limit"] == 4
        seen += _ids(body)
        pages += 1
        if body["next_cursor"] is None:
            break
        query = {"limit": "4", "cursor": body["next_cursor"]}
    assert (pages, seen) == (2, ["t-1", "t-2", "t-3", "t-4", "t-5", "t-6"])


def test_tasks_created_at_the_same_time_page_by_their_id(
    client: redis.Redis, redis_url: str, key_prefix: str
) -> None:
    codes = usccs(5, "610112", seed=11)
    for i, u in enumerate(codes):
        put_task(client, key_prefix, PARTS, task(f"same-{4 - i}", u))
    first = _list(redis_url, key_prefix, {"limit": "2"})[1]
    rest = _list(redis_url, key_prefix, {"cursor": first["next_cursor"]})[1]
    assert _ids(first) + _ids(rest) == [f"same-{i}" for i in range(5)]
    assert rest["next_cursor"] is None


def test_no_tasks_is_an_empty_page(redis_url: str, key_prefix: str) -> None:
    status, body = _list(redis_url, key_prefix, {})
    assert (status, body) == (200, {"tasks": [], "total": 0, "limit": 50, "next_cursor": None})


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"state": "done"}, "state must be one of created, assigned, in_progress, completed"),
        ({"trigger": "whim"}, "trigger must be one of class_d, serious_violation, random_plan"),
        ({"division": "61-01"}, "division must be a GB/T 2260 code or its prefix"),
        ({"division": "9101"}, "division must be a GB/T 2260 code or its prefix"),
        ({"uscc": "NOTAUSCC"}, "uscc: 'NOTAUSCC' is not a valid USCC"),
        ({"limit": "0"}, "limit must be a whole number from 1 to 500; not '0'"),
        ({"limit": "ten"}, "limit must be a whole number from 1 to 500; not 'ten'"),
        ({"limit": "501"}, "limit must be a whole number from 1 to 500"),
        ({"cursor": "yesterday"}, "cursor must be a next_cursor this API returned"),
        ({"plan_id": "p" * 129}, "plan_id must be at most 128 characters"),
        ({"status": "created"}, "unknown query parameter 'status'; known: state, trigger"),
    ],
    ids=lambda v: repr(v)[:40] if isinstance(v, dict) else "",
)
def test_a_bad_query_is_a_400_that_says_what_is_wrong(
    redis_url: str, key_prefix: str, query: dict[str, str], says: str
) -> None:
    status, body = _list(redis_url, key_prefix, query)
    assert (status, body["error"]) == (400, "bad query")
    assert says in body["detail"]
