"""Serves a route table (:mod:`api.routes`) on an aiohttp application.

The worker's web server is Faust's, and Faust's web is aiohttp: the composition root passes its
application here. Everything framework-specific is in this module: turning aiohttp's request
into :class:`api.http.Request` and the handler's :class:`api.http.Response` back, and turning
away every route the table does not hold (whatever else the server added: Faust's index page),
so that nothing answers without the table's guard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from api.http import Handler, Request, json_response
from api.routes import Route

__all__ = ["mount", "serve"]

_AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def mount(app: web.Application, routes: Iterable[Route]) -> None:
    """Add each route to ``app`` (before the server starts), in the table's order, and a
    middleware that answers 404 for any route of the application that is not among them."""
    ours: set[_AiohttpHandler] = set()
    for route in routes:
        served = serve(route.handler)
        ours.add(served)
        app.router.add_route(route.method, route.path, served)
    app.middlewares.append(_only(frozenset(ours)))


def _only(ours: frozenset[_AiohttpHandler]) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def only_the_table(request: web.Request, handler: _AiohttpHandler) -> web.StreamResponse:
        unmatched = request.match_info.http_exception is not None  # aiohttp's own 404 / 405
        if not unmatched and request.match_info.handler not in ours:
            # Another's page (Faust's index): as if there were none.
            answer = json_response({"error": "not found"}, status=404)
            return web.Response(status=404, headers=answer.headers, body=answer.body)
        return await handler(request)

    return only_the_table


def serve(handler: Handler) -> _AiohttpHandler:
    """A framework-free handler as an aiohttp one (the console mounts some this way)."""

    async def serve(request: web.Request) -> web.StreamResponse:
        response = await handler(
            Request(
                method=request.method,
                path_params=request.match_info,
                query=request.query,
                headers=request.headers,
                body=await request.read() if request.can_read_body else b"",
            )
        )
        # Headers as given: aiohttp refuses a charset in content_type=, and ours carry one.
        return web.Response(status=response.status, headers=response.headers, body=response.body)

    return serve
