"""The OpenAPI description follows the route table: every route, its role, its answers."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from api.http import Request
from api.openapi import document
from api.routes import worker_routes
from security.roles import Role
from tests.support.routes import stub_deps


def _doc() -> dict[str, object]:
    table = worker_routes(stub_deps())
    (served,) = [r for r in table if r.path == "/openapi.json"]
    return orjson.loads(asyncio.run(served.handler(Request())).body)  # type: ignore[no-any-return]


def test_every_route_of_the_table_is_described_with_its_role() -> None:
    doc = _doc()
    paths = doc["paths"]
    assert isinstance(paths, dict)
    described = {
        (m.upper(), p): op["x-riskmon-role"] for p, ops in paths.items() for m, op in ops.items()
    }
    table = {
        (r.method, r.path): "public" if r.role is None else str(r.role)
        for r in worker_routes(stub_deps())
    }
    assert described == table


def test_guarded_operations_need_a_bearer_token_and_say_they_may_refuse() -> None:
    paths = _doc()["paths"]
    assert isinstance(paths, dict)
    tasks = paths["/tasks/{task_id}/cancel"]["post"]
    assert tasks["security"] == [{"bearer": []}]
    assert {"401", "403", "409", "413"} <= set(tasks["responses"])
    body = tasks["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["reason"] and "actor" not in body["properties"]
    assert body["additionalProperties"] is False
    health = paths["/healthz"]["get"]
    assert health["security"] == [] and "401" not in health["responses"]


def test_a_route_without_a_description_fails_to_build() -> None:
    with pytest.raises(
        KeyError, match=r"GET /secret: a route with no operation in api/openapi\.py"
    ):
        document([("GET", "/secret", Role.ADMIN)])
