"""The console's routes, in one table (path, handler, least role, page or API), and the aiohttp
application that serves them: every route behind the guard of its role (``console/auth.py``).

=============================== ====== ========== =============================================
route                           method role       what
=============================== ====== ========== =============================================
``/``                           GET    viewer     the live feed (page)
``/enterprises/{uscc}``         GET    viewer     an enterprise (contributions: analyst)
``/board/tasks``                GET    supervisor the task board (as ``GET /tasks`` of the API)
``/areas/regions``              GET    viewer     the region table
``/areas/industries``           GET    viewer     the industry table
``/alerts``                     GET    viewer     recent alerts, JSON (``console/acks.py``)
``/alerts/stream``              GET    viewer     Server-Sent Events (``console/stream.py``)
``/alerts/{alert_id}/ack``      POST   analyst    acknowledge an alert
``/login``                      GET    public     the login page
``/login``, ``/logout``         POST   public     start or end a browser session
``/healthz``                    GET    public     200 once the alert index is loaded, else 503
``/metrics``                    GET    public*    Prometheus (*viewer unless RISKMON_METRICS_PUBLIC)
``/static/...``                 GET    public     the page's script and style
=============================== ====== ========== =============================================
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal
from urllib.parse import urlsplit

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.aiohttp_adapter import serve
from api.webhooks import list_deliveries
from console.acks import ack_alert, list_alerts
from console.auth import COOKIE, AiohttpHandler, guarded, same_origin, set_session
from console.deps import ConsoleDeps
from console.pages import areas_page, enterprise_page, feed_page, render, tasks_page
from console.stream import alerts_stream
from security.exceptions import UnavailableError
from security.roles import Role

__all__ = ["DEPS", "ConsoleRoute", "build_app", "console_routes"]

DEPS: Final = web.AppKey("riskmon.console", ConsoleDeps)
_STATIC: Final = Path(__file__).parent / "static"
#: Largest request body (a note, a login form).
_MAX_BODY: Final = 16_384


@dataclass(frozen=True, slots=True)
class ConsoleRoute:
    method: str
    path: str
    handler: AiohttpHandler
    role: Role | None
    kind: Literal["page", "api"]


def _next(target: str) -> str:
    # Only a path of this console: never another site (an open redirect).
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def login_page(request: web.Request) -> web.StreamResponse:
    nxt = _next(request.query.get("next", "/"))
    return render(request, "login.html", next=nxt, failed=False, actor="", role="")


async def login(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    if not same_origin(request):
        return web.json_response({"error": "cross-site login refused"}, status=403)
    form = await request.post()
    token, nxt = str(form.get("token", "")).strip(), _next(str(form.get("next", "/")))
    try:
        principal = await deps.authenticate(token) if token else None
    except UnavailableError:
        return web.json_response({"error": "cannot check credentials now; retry"}, status=503)
    if principal is None:
        return render(request, "login.html", 401, next=nxt, failed=True, actor="", role="")
    response = web.HTTPSeeOther(nxt)
    set_session(response, token, deps.https)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        return web.json_response({"error": "cross-site request refused"}, status=403)
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


async def healthz(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    ready = deps.follower.ready.is_set()
    return web.json_response(
        {"ready": ready, "alerts": len(deps.index)}, status=200 if ready else 503
    )


async def metrics(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    body = generate_latest(deps.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def console_routes(deps: ConsoleDeps) -> tuple[ConsoleRoute, ...]:
    def bind(handler: Callable[..., Awaitable[web.StreamResponse]], **kw: object) -> AiohttpHandler:
        return functools.partial(handler, deps=deps, **kw)

    v, a, s = Role.VIEWER, Role.ANALYST, Role.SUPERVISOR
    return (
        ConsoleRoute("GET", "/", bind(feed_page), v, "page"),
        ConsoleRoute("GET", "/enterprises/{uscc}", bind(enterprise_page), v, "page"),
        ConsoleRoute("GET", "/board/tasks", bind(tasks_page), s, "page"),
        ConsoleRoute("GET", "/areas/regions", bind(areas_page, kind="division"), v, "page"),
        ConsoleRoute("GET", "/areas/industries", bind(areas_page, kind="industry"), v, "page"),
        ConsoleRoute("GET", "/alerts", bind(list_alerts), v, "api"),
        ConsoleRoute("GET", "/alerts/stream", bind(alerts_stream), v, "api"),
        ConsoleRoute("POST", "/alerts/{alert_id:[^/]{1,200}}/ack", bind(ack_alert), a, "api"),
        *(
            (
                ConsoleRoute(
                    "GET",
                    "/webhooks/deliveries",
                    serve(functools.partial(list_deliveries, reader=deps.read_deliveries)),
                    s,
                    "api",
                ),
            )
            if deps.read_deliveries is not None
            else ()
        ),
        ConsoleRoute("GET", "/login", login_page, None, "page"),
        ConsoleRoute("POST", "/login", bind(login), None, "page"),
        ConsoleRoute("POST", "/logout", logout, None, "page"),
        ConsoleRoute("GET", "/healthz", bind(healthz), None, "api"),
        ConsoleRoute("GET", "/metrics", bind(metrics), None if deps.metrics_public else v, "api"),
    )


def build_app(deps: ConsoleDeps, routes: Sequence[ConsoleRoute] | None = None) -> web.Application:
    """The application: every route of the table behind its guard, and the static files.
    Open streams end when the application shuts down."""
    app = web.Application(client_max_size=_MAX_BODY)
    app[DEPS] = deps
    for r in routes if routes is not None else console_routes(deps):
        guard = guarded(r.handler, r.role, deps.authenticate, r.kind, deps.limiter)
        app.router.add_route(r.method, r.path, guard)
    app.router.add_static("/static/", _STATIC, append_version=True)

    async def closing(app: web.Application) -> None:
        app[DEPS].closing.set()

    app.on_shutdown.append(closing)
    return app
