"""Serves a route table (:mod:`api.routes`) on an aiohttp application.

The worker's web server is Faust's, and Faust's web is aiohttp: the composition root passes its
application's router here. Everything framework-specific is in this module: turning aiohttp's
request into :class:`api.http.Request` and the handler's :class:`api.http.Response` back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from api.http import Handler, Request
from api.routes import Route

__all__ = ["mount"]


def mount(router: web.UrlDispatcher, routes: Iterable[Route]) -> None:
    """Add each route to ``router`` (before the server starts), in the table's order."""
    for route in routes:
        router.add_route(route.method, route.path, _serve(route.handler))


def _serve(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
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
