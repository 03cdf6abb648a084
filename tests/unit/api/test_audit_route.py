"""GET /audit/recent: an audit chain's recent tail for admins, and the values it refuses."""

from __future__ import annotations

import orjson
import pytest

from api.audit import recent_audit
from api.http import Request
from security.audit import AuditRecord, Head, seal
from security.exceptions import UnavailableError

RECORD = seal(
    b"k" * 32,
    Head(),
    chain="ops",
    time="2026-12-07T10:00:00.000+00:00",
    actor="token:li.na",
    action="enterprise.explain",
    target="91610112MA6TGQ1K2M",
    details={},
)
asked: list[tuple[str, int]] = []


async def _read(chain: str, count: int) -> list[AuditRecord]:
    if chain == "p003":
        raise UnavailableError("Redis: connection refused")
    asked.append((chain, count))
    return [RECORD]


async def _get(**query: str) -> tuple[int, dict[str, object]]:
    r = await recent_audit(Request(query=query), read_recent=_read, partitions=4)
    return r.status, orjson.loads(r.body)


async def test_the_ops_chain_by_default_newest_first() -> None:
    asked.clear()
    status, doc = await _get()
    assert status == 200 and asked == [("ops", 100)]
    assert doc == {"chain": "ops", "records": [orjson.loads(RECORD.to_json())]}
    assert (await _get(chain="p002", limit="5"))[0] == 200 and asked[-1] == ("p002", 5)


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"chain": "p004"}, "chain: ops, or p000-p003; not 'p004'"),
        ({"chain": "ops;drop"}, "chain: ops"),
        ({"limit": "0"}, "limit: a whole number from 1 to 1000"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "-1"}, "limit"),
    ],
)
async def test_values_it_cannot_take_are_a_400(query: dict[str, str], says: str) -> None:
    status, doc = await _get(**query)
    assert status == 400 and str(doc["detail"]).startswith(says)


async def test_redis_unavailable_is_a_503() -> None:
    assert (await _get(chain="p003"))[0] == 503
