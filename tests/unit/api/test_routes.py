"""The worker's route table, served through the aiohttp adapter without a server."""

from __future__ import annotations

import asyncio

import orjson
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from api.aiohttp_adapter import mount
from api.http import Request, Response, json_response
from api.routes import Route, WorkerDeps, worker_routes
from scoring.model import load_model
from tests.support.routes import stub_deps

MODEL = load_model()


def _deps(asked: list[str]) -> WorkerDeps:
    return stub_deps(asked)


def test_the_worker_serves_these_routes() -> None:
    table = [(r.method, r.path) for r in worker_routes(_deps([]))]
    assert table == [
        ("GET", "/enterprises/{uscc}"),
        ("GET", "/tasks"),
        ("GET", "/tasks/{task_id}"),
        ("POST", "/tasks/{task_id}/assign"),
        ("POST", "/tasks/{task_id}/start"),
        ("POST", "/tasks/{task_id}/cancel"),
        ("GET", "/stats/discovery"),
        ("GET", "/regions"),
        ("GET", "/regions/{code}"),
        ("GET", "/industries"),
        ("GET", "/audit/recent"),
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/openapi.json"),
    ]


def _serve(app: web.Application, path: str, method: str = "GET") -> web.StreamResponse:
    async def go() -> web.StreamResponse:
        request = make_mocked_request(method, path, app=app)
        match = await app.router.resolve(request)
        request._match_info = match  # what aiohttp's server does before calling the handler
        return await match.handler(request)

    return asyncio.run(go())


def test_the_adapter_passes_path_parameters_and_returns_the_handlers_answer() -> None:
    asked: list[str] = []
    app = web.Application()
    mount(app, worker_routes(_deps(asked)))
    resp = _serve(app, "/enterprises/91110000600037341L")
    assert isinstance(resp, web.Response)
    assert resp.status == 404
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    assert resp.body is not None
    assert orjson.loads(bytes(resp.body)) == {
        "error": "unknown enterprise",
        "uscc": "91110000600037341L",
    }
    assert asked == ["91110000600037341L"]


def test_the_adapter_serves_metrics_with_their_content_type() -> None:
    app = web.Application()
    mount(app, worker_routes(_deps([])))
    resp = _serve(app, "/metrics")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"


def test_a_route_answers_only_its_method() -> None:
    app = web.Application()
    mount(app, worker_routes(_deps([])))

    async def resolve() -> int | None:
        match = await app.router.resolve(make_mocked_request("POST", "/healthz", app=app))
        return None if match.http_exception is None else match.http_exception.status

    assert asyncio.run(resolve()) == 405


def test_the_adapter_hands_a_posts_body_to_the_handler() -> None:
    seen: list[Request] = []

    async def echo(request: Request) -> Response:
        seen.append(request)
        return json_response({"got": request.body.decode()})

    async def go() -> tuple[int, object]:
        app = web.Application()
        mount(app, [Route("POST", "/tasks/{task_id}/assign", echo, None)])
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            resp = await client.post("/tasks/t-1/assign", data=b'{"actor": "wang.li"}')
            return resp.status, await resp.json()

    assert asyncio.run(go()) == (200, {"got": '{"actor": "wang.li"}'})
    assert (seen[0].method, dict(seen[0].path_params)) == ("POST", {"task_id": "t-1"})
