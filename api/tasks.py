"""``GET /tasks`` (filtered, paged) and ``GET /tasks/{task_id}``: inspection tasks as they are.

A task as JSON (:func:`task_json`): ``task_id``, ``state``, ``trigger``, ``mode``, ``uscc``,
``plan_id`` (null unless a plan's), ``risk_class`` (the class when it was created; for a
plan, when drawn), ``inspectors``, ``result`` (null until completed), ``overdue``, ``due``
(null: never), ``created_at`` and ``history``: every transition with its state, time, actor,
note, the id of the event that asked for it, and ``rejected`` when the state did not allow it.
Times are RFC 3339 (UTC) of *event* time.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, Final, get_args

from api.http import Request, Response, json_response
from schemas.alerts import TaskTrigger
from schemas.uscc import problem as uscc_problem
from scoring.exceptions import StoreUnavailableError
from supervision.records import TaskRecord, TaskState, Transition
from supervision.store.readers import Cursor, SupervisionReader, TaskFilter

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "QueryError",
    "get_task",
    "list_tasks",
    "task_json",
    "task_or_answer",
]

#: Tasks per page unless ``limit`` says otherwise, and the most one page holds.
DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500

_STATES: Final = get_args(TaskState)
_TRIGGERS: Final = get_args(TaskTrigger)
#: A GB/T 2260 code or a prefix of one: province (2 digits), prefecture (4) or county (6).
_DIVISION = re.compile(r"^[1-8]\d{0,5}$")
_KNOWN = ("state", "trigger", "plan_id", "division", "uscc", "limit", "cursor")


class QueryError(ValueError):
    """A query value the listing cannot take; the message says which and why (a 400)."""


def _iso(t: int) -> str | None:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat() if t > 0 else None


def _transition_json(h: Transition) -> dict[str, Any]:
    return {
        "state": h.state,
        "at": _iso(h.at),
        "actor": h.actor,
        "note": h.note or None,
        "event_id": h.event_id or None,
        "rejected": h.rejected,
    }


def task_json(t: TaskRecord) -> dict[str, Any]:
    """``t`` as the API shows it (the fields are listed in the module's docstring)."""
    return {
        "task_id": t.task_id,
        "state": t.state,
        "trigger": t.trigger,
        "mode": t.mode,
        "uscc": t.uscc,
        "plan_id": t.plan_id or None,
        "risk_class": t.risk_class or None,
        "inspectors": list(t.inspectors),
        "result": t.result or None,
        "overdue": t.overdue,
        "due": _iso(t.due),
        "created_at": _iso(t.created_at),
        "history": [_transition_json(h) for h in t.history],
    }


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise QueryError(f"{name} must be one of {', '.join(allowed)}; not {value[:64]!r}")
    return value


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise QueryError(f"limit must be a whole number from 1 to {MAX_LIMIT}; not {value[:64]!r}")
    return int(value)


def _cursor(value: str | None) -> Cursor | None:
    if value is None:
        return None
    created, sep, task_id = value.partition(":")
    if not sep or not created.isdigit() or not task_id:
        raise QueryError(f"cursor must be a next_cursor this API returned; not {value[:64]!r}")
    return int(created), task_id


def parse_query(query: Mapping[str, str]) -> tuple[TaskFilter, int, Cursor | None]:
    """The filter, page size and cursor of a listing's query. An empty value counts as not
    given. Raises :class:`QueryError` for an unknown parameter or a value it cannot take."""
    unknown = sorted(set(query) - set(_KNOWN))
    if unknown:
        raise QueryError(f"unknown query parameter {unknown[0][:64]!r}; known: {', '.join(_KNOWN)}")
    q = {k: v for k, v in query.items() if v != ""}
    state = q.get("state")
    trigger = q.get("trigger")
    division = q.get("division")
    uscc = q.get("uscc")
    plan_id = q.get("plan_id")
    if state is not None:
        _one_of("state", state, _STATES)
    if trigger is not None:
        _one_of("trigger", trigger, _TRIGGERS)
    if division is not None and not _DIVISION.match(division):
        raise QueryError(
            "division must be a GB/T 2260 code or its prefix (1 to 6 digits, the first 1-8);"
            f" not {division[:64]!r}"
        )
    if uscc is not None and (why := uscc_problem(uscc[:64])) is not None:
        raise QueryError(f"uscc: {why}")
    if plan_id is not None and len(plan_id) > 128:
        raise QueryError("plan_id must be at most 128 characters")
    where = TaskFilter(state=state, trigger=trigger, plan_id=plan_id, uscc=uscc, division=division)
    return where, _limit(q.get("limit")), _cursor(q.get("cursor"))


async def list_tasks(request: Request, *, reader: SupervisionReader) -> Response:
    """200 with ``tasks`` (oldest first), ``total`` (matching, in all pages), ``limit`` and
    ``next_cursor`` (pass it as ``cursor`` for the next page; null on the last); 400 naming a
    query value it cannot take; 503 while the store is unavailable."""
    try:
        where, limit, after = parse_query(request.query)
    except QueryError as exc:
        return json_response({"error": "bad query", "detail": str(exc)}, status=400)
    try:
        page = await reader.tasks(where, limit=limit, after=after)
    except StoreUnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    cursor = page.next_cursor
    return json_response(
        {
            "tasks": [task_json(t) for t in page.tasks],
            "total": page.total,
            "limit": limit,
            "next_cursor": None if cursor is None else f"{cursor[0]}:{cursor[1]}",
        }
    )


async def task_or_answer(reader: SupervisionReader, task_id: str) -> TaskRecord | Response:
    """The task ``task_id``, or the answer when there is none: 404 for an unknown task id, 503
    while the store is unavailable."""
    try:
        task = await reader.task(task_id)
    except StoreUnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    if task is None:
        return json_response({"error": "unknown task", "task_id": task_id[:128]}, status=404)
    return task


async def get_task(request: Request, *, reader: SupervisionReader) -> Response:
    """200 with the task; 404 for an unknown task id; 503 while the store is unavailable."""
    task = await task_or_answer(reader, request.path_params["task_id"])
    return task if isinstance(task, Response) else json_response(task_json(task))
