"""The API's OpenAPI 3.1 description, made from the route table: ``GET /openapi.json``.

Each route of the table has its operation here (what it is, its parameters, body and answers);
a route without one fails :func:`document`, so the description cannot fall behind the table.
Roles are the table's: public operations have no ``security``, the others need a bearer token
and say their role in ``x-riskmon-role``. The description drives the API's fuzz
(``tests/e2e/test_fuzz_api.py``, schemathesis): every answer must be one it documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from pydantic import BaseModel

from api.http import Request, Response, json_response
from schemas.events import TaskAssigned, TaskCancelled, TaskStarted
from security.roles import Role

__all__ = ["OPERATIONS", "Operation", "document", "openapi"]

_USCC: Final = {
    "type": "string",
    "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
}
_TEXT: Final = {"type": "string", "maxLength": 128}
_REASONS: Final = {
    200: "done",
    202: "published; not applied yet (the event id)",
    400: "a value it cannot take, named in `detail`",
    401: "no credentials, or not valid ones (`WWW-Authenticate`)",
    403: "the role is too low for this route",
    404: "no such enterprise or task",
    409: "the task's state does not allow this step",
    413: "the body is larger than RISKMON_MAX_REQUEST_BYTES",
    429: "more requests than the principal's rate allows (`Retry-After`)",
    503: "Redis or the broker cannot answer now; retry",
}


@dataclass(frozen=True, slots=True)
class Operation:
    summary: str
    #: Answers besides those every guarded route may give (401, 403, 429).
    statuses: tuple[int, ...]
    path_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    query: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    body: type[BaseModel] | None = None
    content_type: str = "application/json"


_TASK = {"task_id": _TEXT}
_COMMAND = (200, 202, 400, 404, 409, 413, 503)
OPERATIONS: Final[Mapping[tuple[str, str], Operation]] = {
    ("GET", "/enterprises/{uscc}"): Operation(
        "an enterprise's class and score, and (from analyst up) why",
        (200, 400, 404, 503),
        {"uscc": _USCC},
    ),
    ("GET", "/tasks"): Operation(
        "inspection tasks, filtered and paged",
        (200, 400, 503),
        query={
            "state": _TEXT,
            "trigger": _TEXT,
            "plan_id": _TEXT,
            "division": _TEXT,
            "uscc": _USCC,
            "limit": {"type": "integer", "minimum": 1, "maximum": 500},
            "cursor": _TEXT,
        },
    ),
    ("GET", "/tasks/{task_id}"): Operation("one task", (200, 404, 503), _TASK),
    ("POST", "/tasks/{task_id}/assign"): Operation(
        "assign a task", _COMMAND, _TASK, body=TaskAssigned
    ),
    ("POST", "/tasks/{task_id}/start"): Operation(
        "start a task", _COMMAND, _TASK, body=TaskStarted
    ),
    ("POST", "/tasks/{task_id}/cancel"): Operation(
        "cancel a task", _COMMAND, _TASK, body=TaskCancelled
    ),
    ("GET", "/stats/discovery"): Operation("random-plan discovery rate per class", (200, 503)),
    ("GET", "/regions"): Operation(
        "per division: enterprises per class, C+D share, 7-day D entries and trend (analysts)",
        (200, 400, 503),
    ),
    ("GET", "/regions/{code}"): Operation(
        "a division's enterprises in C and D, paged (analysts)",
        (200, 400, 503),
        {"code": {"type": "string", "pattern": "^([1-8][0-9]{5}|unknown)$"}},
        query={
            "limit": {"type": "integer", "minimum": 1, "maximum": 500},
            "cursor": _USCC,
        },
    ),
    ("GET", "/industries"): Operation(
        "per industry (section, and section + two-digit division): enterprises per class, C+D"
        " share, 7-day D entries and trend (analysts)",
        (200, 400, 503),
    ),
    ("GET", "/audit/recent"): Operation(
        "the newest records of an audit chain (admins)",
        (200, 400, 503),
        query={
            "chain": {"type": "string", "pattern": "^(ops|p[0-9]{3})$"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        },
    ),
    ("GET", "/metrics"): Operation("Prometheus metrics", (200,), content_type="text/plain"),
    ("GET", "/healthz"): Operation("liveness, by progress", (200, 503)),
    ("GET", "/readyz"): Operation("readiness: Redis answers, partitions assigned", (200, 503)),
    ("GET", "/openapi.json"): Operation("this description", (200,)),
}


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    # The event's data less what the path (task_id) and the credentials (actor) give.
    schema = model.model_json_schema()
    props = {k: v for k, v in schema["properties"].items() if k not in ("task_id", "actor")}
    required = [k for k in schema.get("required", []) if k in props]
    return {
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }


def _operation(method: str, path: str, role: Role | None) -> dict[str, Any]:
    try:
        op = OPERATIONS[(method, path)]
    except KeyError:
        raise KeyError(f"{method} {path}: a route with no operation in api/openapi.py") from None
    statuses = sorted({*op.statuses, *(() if role is None else (401, 403, 429))})
    out: dict[str, Any] = {
        "summary": op.summary,
        "operationId": method.lower() + re.sub(r"[{}]", "", path.replace("/", "_")),
        "parameters": [
            {"name": n, "in": "path", "required": True, "schema": dict(s)}
            for n, s in op.path_params.items()
        ]
        + [
            {"name": n, "in": "query", "required": False, "schema": dict(s)}
            for n, s in op.query.items()
        ],
        "responses": {
            str(code): {
                "description": _REASONS[code],
                "content": {op.content_type if code == 200 else "application/json": {}},
            }
            for code in statuses
        },
        "security": [] if role is None else [{"bearer": []}],
        "x-riskmon-role": "public" if role is None else str(role),
    }
    if op.body is not None:
        out["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _body_schema(op.body)}},
        }
    return out


def document(routes: Sequence[tuple[str, str, Role | None]]) -> dict[str, Any]:
    """The description of (method, path, role) routes. Raises KeyError for a route without
    an operation here."""
    paths: dict[str, dict[str, Any]] = {}
    for method, path, role in routes:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, role)
    return {
        "openapi": "3.1.0",
        "info": {"title": "riskmon", "version": "1"},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


async def openapi(request: Request, *, doc: Mapping[str, Any]) -> Response:
    """200 with the description."""
    return json_response(doc)
