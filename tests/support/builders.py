"""Building credit events in tests (not a fixture module: plain functions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.codec import CreditEvent, decode_event, encode_event
from schemas.events import DATA_MODELS, EventType

UTC = dt.UTC
STORY_USCC = "91610112MA6TGQ1K2M"
#: examples/story.jsonl's narrative: the class changes a warning centre should see, in order.
STORY_ALERTS = [("A", "B"), ("B", "C"), ("C", "D"), ("D", "C"), ("C", "B"), ("B", "A")]

#: The data of an ``enterprise.registered`` event: a Weiyang restaurant company.
RESTAURANT = {
    "name": "西安未央示例餐饮管理有限公司",
    "division_code": "610112",
    "industry_code": "H6210",
    "founded_on": "2015-03-01",
    "registered_capital_cny": 5_000_000,
    "new_economy": False,
}


def at(day: int, hour: int = 12) -> dt.datetime:
    """Day ``day`` after 2026-01-01 (UTC)."""
    return dt.datetime(2026, 1, 1, hour, tzinfo=UTC) + dt.timedelta(days=day)


def event(
    etype: str | EventType,
    data: dict[str, Any],
    *,
    when: dt.datetime,
    subject: str = STORY_USCC,
    eid: str | None = None,
    source: str = "/test",
) -> CreditEvent:
    et = EventType(etype)
    return CreditEvent(
        id=eid or f"{et}-{when.isoformat()}-{sorted(data.items())!r}",
        source=source,
        type=et,
        subject=subject,
        time=when,
        data=DATA_MODELS[et].model_validate(data),
    )


def roundtrip(ev: CreditEvent) -> CreditEvent:
    return decode_event(encode_event(ev))
