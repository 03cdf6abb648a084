"""/healthz judges liveness by progress, /readyz readiness by Redis and partitions."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest

from api.health import ProgressReport, healthz, readyz
from api.http import Request, Response

STALL_SECONDS = 60.0


def _healthz(lag: int, idle: float) -> tuple[int, object]:
    r = asyncio.run(
        healthz(
            Request(),
            progress=lambda: ProgressReport(lag=lag, seconds_since_progress=idle),
            stall_seconds=STALL_SECONDS,
        )
    )
    return r.status, orjson.loads(r.body)


@pytest.mark.parametrize(
    ("lag", "idle", "status", "word"),
    [
        (0, 0.5, 200, "ok"),  # keeping up
        (0, 3600.0, 200, "ok"),  # a quiet topic: nothing to do is not a stall
        (500, 10.0, 200, "ok"),  # behind, but batches are finishing
        (500, 61.0, 503, "stalled"),  # behind, and nothing finished for longer than allowed
    ],
)
def test_liveness_is_judged_by_progress(lag: int, idle: float, status: int, word: str) -> None:
    got_status, body = _healthz(lag, idle)
    assert got_status == status
    assert body == {"status": word, "lag": lag, "seconds_since_progress": idle}


def test_seconds_since_progress_are_rounded_to_milliseconds() -> None:
    _, body = _healthz(0, 1.23456)
    assert isinstance(body, dict)
    assert body["seconds_since_progress"] == 1.235


def _readyz(ping_fails: bool, assigned: Sequence[int]) -> Response:
    async def ping() -> bool:
        if ping_fails:
            raise ConnectionError("Connection refused")
        return True

    return asyncio.run(readyz(Request(), ping_redis=ping, assigned=lambda: assigned))


def test_ready_once_redis_answers_and_partitions_are_assigned() -> None:
    r = _readyz(False, [0, 3])
    assert (r.status, orjson.loads(r.body)) == (200, {"ready": True, "reasons": []})


def test_not_ready_says_why() -> None:
    r = _readyz(True, [])
    assert r.status == 503
    assert orjson.loads(r.body) == {
        "ready": False,
        "reasons": [
            "redis: ConnectionError('Connection refused')",
            "no partitions of the events topic assigned yet",
        ],
    }
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"


def test_not_ready_before_any_partition_is_assigned() -> None:
    r = _readyz(False, [])
    assert r.status == 503
    assert orjson.loads(r.body)["reasons"] == ["no partitions of the events topic assigned yet"]
