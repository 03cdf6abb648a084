"""Who may see the console: every route has a role (``security/roles.py``), as the worker's
API does (``api/routes.py``, ``api/guard.py``), checked before its handler runs.

Credentials are an ``Authorization: Bearer`` header (API clients), else the session cookie a
browser got on the login page: the token itself, in an ``HttpOnly``, ``SameSite=Strict``
cookie (``Secure`` when the console serves HTTPS), so no script of the page can read it.

- No or bad credentials: a page redirects to ``/login``; any other route answers 401 with
  ``WWW-Authenticate: Bearer realm="riskmon"`` (and ``error="invalid_token"`` when bad).
- A role below the route's: 403.
- The token store cannot answer: 503.
- A principal past its request rate (``RISKMON_RATE_LIMIT_*``, as the API): 429.
- Cross-site request forgery: a POST that relies on the cookie must come from the console's
  own pages: its ``Origin`` is the console's own, or (no Origin) ``Sec-Fetch-Site`` is
  ``same-origin``; else 403. ``SameSite=Strict`` already keeps the cookie off cross-site
  requests in current browsers; this check holds in older ones too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Final, Literal, NoReturn
from urllib.parse import quote

from aiohttp import web

from api.guard import REALM
from security.authn import Authenticate, bearer
from security.exceptions import UnavailableError
from security.limits import RateLimiter
from security.roles import Principal, Role

__all__ = [
    "COOKIE",
    "PRINCIPAL",
    "AiohttpHandler",
    "credential_of",
    "guarded",
    "principal_of",
    "same_origin",
    "set_session",
]

AiohttpHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE: Final = "riskmon_console"
#: Where a guarded handler finds the principal: ``request[PRINCIPAL]``.
PRINCIPAL: Final = web.RequestKey("riskmon.principal", Principal)
_SESSION_SECONDS: Final = 12 * 3_600


def credential_of(request: web.Request) -> tuple[str | None, bool]:
    """The presented credential ('' for a malformed header, None for none) and whether it
    came from the cookie."""
    header = bearer(request.headers)
    if header is not None:
        return header, False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def same_origin(request: web.Request) -> bool:
    """Whether the request comes from a page of this console (see the module's docstring)."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != "null":
        return origin == f"{request.scheme}://{request.host}"
    # No Origin, or "null" (a page under a no-referrer policy): the browser's own word.
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def set_session(response: web.StreamResponse, token: str, https: bool) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=_SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=https,
    )


def principal_of(request: web.Request) -> Principal:
    """The principal the guard put on ``request`` (a guarded handler only)."""
    who: Principal | None = request.get(PRINCIPAL)
    if who is None:
        raise RuntimeError("principal_of called outside a guarded route")
    return who


def _json_error(status: int, error: str, detail: str, challenge: str | None) -> web.Response:
    headers = {"WWW-Authenticate": challenge} if challenge else None
    return web.json_response({"error": error, "detail": detail}, status=status, headers=headers)


def _to_login(request: web.Request) -> NoReturn:
    target = request.path_qs if request.path_qs.startswith("/") else "/"
    raise web.HTTPSeeOther(f"/login?next={quote(target, safe='')}")


def guarded(
    handler: AiohttpHandler,
    role: Role | None,
    authenticate: Authenticate,
    kind: Literal["page", "api"],
    limiter: RateLimiter | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> AiohttpHandler:
    """``handler`` behind the checks above; ``role`` None: public, served as it is.
    ``limiter`` (shared by every route; None: no limit): 429 with ``Retry-After`` for a
    principal past its rate, as the worker's API (``security/limits.py``)."""
    if role is None:
        return handler
    needed: Role = role

    async def guard(request: web.Request) -> web.StreamResponse:
        credential, from_cookie = credential_of(request)
        if credential is None:
            if kind == "page":
                _to_login(request)
            return _json_error(401, "unauthorized", "log in, or send a bearer token", REALM)
        try:
            principal = await authenticate(credential) if credential else None
        except UnavailableError:
            return _json_error(503, "unavailable", "cannot check credentials now; retry", None)
        if principal is None:
            if kind == "page":
                _to_login(request)
            bad = f'{REALM}, error="invalid_token"'
            return _json_error(401, "unauthorized", "the credentials are not valid", bad)
        if from_cookie and request.method not in ("GET", "HEAD") and not same_origin(request):
            return _json_error(403, "forbidden", "cross-site request refused", None)
        if not principal.may(needed):
            detail = f"this needs the {needed} role; yours is {principal.role}"
            scope = f'{REALM}, error="insufficient_scope"'
            return _json_error(403, "forbidden", detail, scope)
        wait = None if limiter is None else limiter.take(principal.actor, clock())
        if wait is not None:
            retry = {"Retry-After": str(max(1, math.ceil(wait)))}
            body = {"error": "too many requests", "retry_after": wait}
            return web.json_response(body, status=429, headers=retry)
        request[PRINCIPAL] = principal
        return await handler(request)

    return guard
