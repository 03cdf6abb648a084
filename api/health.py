"""``GET /healthz`` (liveness, judged by progress) and ``GET /readyz`` (readiness)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from api.http import Request, Response, json_response

__all__ = ["ProgressReport", "healthz", "readyz"]


@dataclass(frozen=True, slots=True)
class ProgressReport:
    """How far behind a worker is: ``lag`` records of its partitions not yet processed, and
    the seconds since it last finished a batch (since it started, if it has not yet)."""

    lag: int
    seconds_since_progress: float


async def healthz(
    request: Request, *, progress: Callable[[], ProgressReport], stall_seconds: float
) -> Response:
    """200 ``ok`` unless the worker is stalled: lag that has not shrunk for more than
    ``stall_seconds`` (a quiet topic, lag 0, is not a stall); then 503 ``stalled``."""
    p = progress()
    stalled = p.lag > 0 and p.seconds_since_progress > stall_seconds
    body = {
        "status": "stalled" if stalled else "ok",
        "lag": p.lag,
        "seconds_since_progress": round(p.seconds_since_progress, 3),
    }
    return json_response(body, status=503 if stalled else 200)


async def readyz(
    request: Request,
    *,
    ping_redis: Callable[[], Awaitable[object]],
    assigned: Callable[[], Sequence[int]],
) -> Response:
    """200 once Redis answers and the worker holds partitions of the events topic; else 503
    with the reasons."""
    reasons = []
    try:
        await ping_redis()
    except Exception as exc:
        reasons.append(f"redis: {exc!r}")
    if not assigned():
        reasons.append("no partitions of the events topic assigned yet")
    return json_response({"ready": not reasons, "reasons": reasons}, status=503 if reasons else 200)
