"""GET /webhooks/deliveries without a server: what it shows of a delivery, how it takes its
query, and its answer while Redis is away."""

from __future__ import annotations

from typing import Any

import pytest

from alerts.sinks.outbox import DeliveryPage, DeliveryRecord, State
from api.http import Request
from api.webhooks import list_deliveries
from schemas.codec import loads
from scoring.exceptions import StoreUnavailableError

PENDING = DeliveryRecord(
    "duty-desk", "m-1", "riskmon.alert.warning", "critical", "pending", 3, 1_800_000_000.0,
    503, "HTTP 503", 1_800_000_040.0,
)  # fmt: skip
DELIVERED = DeliveryRecord(
    "alertmanager", "m-2", "riskmon.alert.region", None, "delivered", 1, 1_800_000_000.0,
    200, None, None, 1_800_000_001.5,
)  # fmt: skip


class Reader:
    def __init__(self, fail: bool = False) -> None:
        self.asked: list[dict[str, Any]] = []
        self.fail = fail

    async def deliveries(
        self,
        *,
        state: State | None = None,
        subscriber: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> DeliveryPage:
        self.asked.append(
            {"state": state, "subscriber": subscriber, "limit": limit, "cursor": cursor}
        )
        if self.fail:
            raise StoreUnavailableError("redis unavailable: connection refused")
        if cursor == "bad":
            raise ValueError("not a cursor of this listing")
        return DeliveryPage([PENDING, DELIVERED], "1800000000.0/alertmanager|m-2")


async def test_a_delivery_shows_its_state_attempts_and_times_in_utc() -> None:
    reader = Reader()
    resp = await list_deliveries(Request(), reader=reader)
    assert resp.status == 200
    body = loads(resp.body)
    assert body["next_cursor"] == "1800000000.0/alertmanager|m-2" and body["limit"] == 50
    assert body["deliveries"][0] == {
        "subscriber": "duty-desk",
        "message_id": "m-1",
        "type": "riskmon.alert.warning",
        "severity": "critical",
        "state": "pending",
        "attempts": 3,
        "last_status": 503,
        "last_error": "HTTP 503",
        "enqueued_at": "2027-01-15T08:00:00+00:00",
        "next_attempt_at": "2027-01-15T08:00:40+00:00",
        "finished_at": None,
    }
    assert body["deliveries"][1]["finished_at"] == "2027-01-15T08:00:01.500000+00:00"
    assert body["deliveries"][1]["next_attempt_at"] is None


async def test_the_filters_and_page_reach_the_reader() -> None:
    reader = Reader()
    query = {"state": "dead", "subscriber": "duty-desk", "limit": "7", "cursor": "1.0/x|y"}
    assert (await list_deliveries(Request(query=query), reader=reader)).status == 200
    assert reader.asked == [
        {"state": "dead", "subscriber": "duty-desk", "limit": 7, "cursor": "1.0/x|y"}
    ]
    await list_deliveries(Request(query={"state": "", "subscriber": ""}), reader=reader)
    assert reader.asked[-1] == {"state": None, "subscriber": None, "limit": 50, "cursor": None}


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"state": "lost"}, "state must be one of pending, delivered, dead"),
        ({"subscriber": "Not An Id"}, "subscriber must be a subscriber id"),
        ({"limit": "0"}, "limit must be a whole number from 1 to 500"),
        ({"limit": "501"}, "limit must be a whole number from 1 to 500"),
        ({"limit": "ten"}, "limit must be a whole number from 1 to 500"),
        ({"url": "x"}, "unknown query parameter 'url'"),
        ({"cursor": "bad"}, "cursor must be a next_cursor this API returned"),
    ],
)
async def test_a_query_it_cannot_take_is_a_400_naming_it(query: dict[str, str], says: str) -> None:
    resp = await list_deliveries(Request(query=query), reader=Reader())
    assert resp.status == 400
    assert says in loads(resp.body)["detail"]


async def test_redis_away_is_a_503() -> None:
    resp = await list_deliveries(Request(), reader=Reader(fail=True))
    assert resp.status == 503
