"""``GET /stats/discovery``: per class, how often random spot checks found problems.

Only inspections of random spot-check plans count (an unbiased sample), each under the class
the enterprise had when its plan was drawn; ``problems_found`` and ``corrected`` count as
problems. Per class A to D: ``inspected``, ``problems_found``, ``rate`` and the Wilson 95 %
interval ``wilson_low``, ``wilson_high`` (fractions; null while none were inspected).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from api.http import Request, Response, json_response
from scoring.exceptions import StoreUnavailableError
from supervision.discovery import discovery, parse_counts

__all__ = ["ReadCounts", "stats_discovery"]

#: Reads ``<class at draw>|<result>`` -> completed random-plan inspections, over all
#: partitions (``SupervisionReader.discovery_counts``).
ReadCounts = Callable[[], Awaitable[Mapping[str, int]]]


async def stats_discovery(request: Request, *, read_counts: ReadCounts) -> Response:
    """200 with ``classes`` (A to D, each its counts, rate and interval) and ``confidence``
    (0.95); 503 while the store is unavailable."""
    try:
        counts = await read_counts()
    except StoreUnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    rows = discovery(parse_counts(counts))
    return json_response({"confidence": 0.95, "classes": {r.klass: r.as_json() for r in rows}})
