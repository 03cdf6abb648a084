"""``GET /regions``, ``GET /industries`` and ``GET /regions/{code}``: regional and industry risk.

``/regions`` and ``/industries`` answer every area of their kind (a county-level division,
GB/T 2260; an industry section letter and section + two-digit division, GB/T 4754; and
``unknown`` for enterprises whose registration has not arrived), by code, each with
``enterprises``, ``by_class`` (A-D), ``cd_share`` (C+D among its enterprises), ``d_entries_7d``
and ``c_entries_7d`` (entries in the 7 days ending on the day of the event-time watermark,
UTC+8), ``d_weekly_mean`` (mean D entries a week over the 8 weeks before) and ``trend``
(``d_entries_7d - d_weekly_mean``). ``/regions/{code}`` lists the division's enterprises in C
and D, by USCC, paged with ``limit`` and ``cursor`` (the ``next_cursor`` of the page before).
The counts are kept by apply.lua per partition and summed here (``scoring/store/areas.py``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from api.http import Request, Response, json_response
from schemas.alerts import AreaKind
from schemas.uscc import problem as uscc_problem
from scoring.exceptions import StoreUnavailableError
from scoring.store.areas import UNKNOWN, AreaRow, MembersPage

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "ReadMembers", "ReadRows", "list_areas", "region"]

#: The rows of one kind of area (``scoring.store.area_rows``, bound to the worker's Redis).
ReadRows = Callable[[AreaKind], Awaitable[Sequence[AreaRow]]]
#: A page of a division's enterprises in C and D: (division, limit, after USCC or None).
ReadMembers = Callable[[str, int, str | None], Awaitable[MembersPage]]

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
_DIVISION: Final = re.compile(r"^[1-8][0-9]{5}$")


def _bad(detail: str) -> Response:
    return json_response({"error": "bad query", "detail": detail}, status=400)


def _unknown_parameters(request: Request, known: Sequence[str]) -> Response | None:
    unknown = sorted(set(request.query) - set(known))
    if unknown:
        return _bad(f"unknown query parameter {unknown[0][:64]!r}; known: {', '.join(known)}")
    return None


async def list_areas(request: Request, *, kind: AreaKind, read_rows: ReadRows) -> Response:
    """200 with ``kind`` and ``areas`` (the fields are in the module's docstring); 400 for a
    query parameter (it takes none); 503 while the store is unavailable."""
    if (bad := _unknown_parameters(request, ())) is not None:
        return bad
    try:
        rows = await read_rows(kind)
    except StoreUnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    return json_response({"kind": kind, "areas": [r.as_json() for r in rows]})


async def region(request: Request, *, read_members: ReadMembers) -> Response:
    """200 with ``code``, ``enterprises`` (``uscc`` and ``class``, by USCC), ``limit`` and
    ``next_cursor`` (null on the last page); 400 for a code that is no six-digit division (or
    ``unknown``), a ``limit`` outside 1-500 or a ``cursor`` that is no USCC; 503 while the
    store is unavailable. A division with none in C or D has an empty first page."""
    if (bad := _unknown_parameters(request, ("limit", "cursor"))) is not None:
        return bad
    code = request.path_params["code"]
    if code != UNKNOWN and not _DIVISION.match(code):
        return _bad(f"code must be a six-digit GB/T 2260 division or unknown; not {code[:64]!r}")
    q = {k: v for k, v in request.query.items() if v != ""}
    limit = q.get("limit", str(DEFAULT_LIMIT))
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        return _bad(f"limit must be a whole number from 1 to {MAX_LIMIT}; not {limit[:64]!r}")
    cursor = q.get("cursor")
    if cursor is not None and uscc_problem(cursor[:64]) is not None:
        return _bad("cursor must be a next_cursor this API returned")
    try:
        page = await read_members(code, int(limit), cursor)
    except StoreUnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    return json_response(
        {
            "code": code,
            "enterprises": [{"uscc": m.uscc, "class": m.klass} for m in page.members],
            "limit": int(limit),
            "next_cursor": page.next_cursor,
        }
    )
