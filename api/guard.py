"""Authentication and roles in front of every handler of the route table.

A route's role (``api.routes``) is the least role that may call it, or :data:`PUBLIC`. For any
other route the guard answers, before the handler runs:

- 401 with ``WWW-Authenticate: Bearer realm="riskmon"`` when no credentials came (RFC 6750),
  adding ``error="invalid_token"`` when they came and are malformed, unknown, expired or
  revoked: the answer never says which;
- 403 with ``error="insufficient_scope"`` when the principal's role is below the route's;
- 429 with ``Retry-After`` when the principal has made more requests than its rate allows
  (``security/limits.py``);
- 503 when the token store cannot answer (never a 401: a good token is not turned away).

Neither 401 nor 403 depends on the path's parameters, so neither tells whether an enterprise
or a task exists. The handler sees the principal on ``Request.principal``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import Final

from api.http import Handler, Request, Response, json_response
from security.authn import Authenticate, bearer
from security.exceptions import UnavailableError
from security.limits import RateLimiter
from security.roles import Role

__all__ = ["PUBLIC", "REALM", "guarded"]

#: The role of a route anyone may call (health probes; /metrics when configured so).
PUBLIC: Final = None
REALM: Final = 'Bearer realm="riskmon"'


def _unauthorized(detail: str, error: str | None) -> Response:
    challenge = REALM + (f', error="{error}"' if error else "")
    body = {"error": "unauthorized", "detail": detail}
    return json_response(body, 401, {"WWW-Authenticate": challenge})


def _forbidden(needed: Role, has: Role) -> Response:
    body = {"error": "forbidden", "detail": f"this needs the {needed} role; yours is {has}"}
    return json_response(body, 403, {"WWW-Authenticate": f'{REALM}, error="insufficient_scope"'})


def guarded(
    handler: Handler,
    role: Role | None,
    authenticate: Authenticate,
    limiter: RateLimiter | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Handler:
    """``handler`` behind the checks above (``limiter``: shared by every route; None: no
    limit); a :data:`PUBLIC` route is served as it is."""
    if role is PUBLIC:
        return handler
    needed: Role = role

    async def guard(request: Request) -> Response:
        credential = bearer(request.headers)
        if credential is None:
            return _unauthorized("send Authorization: Bearer <token>", None)
        try:
            principal = await authenticate(credential) if credential else None
        except UnavailableError:
            return json_response({"error": "cannot check credentials now; retry"}, status=503)
        if principal is None:
            return _unauthorized("the credentials are not valid", "invalid_token")
        if not principal.may(needed):
            return _forbidden(needed, principal.role)
        wait = None if limiter is None else limiter.take(principal.actor, clock())
        if wait is not None:
            retry = {"Retry-After": str(max(1, math.ceil(wait)))}
            return json_response({"error": "too many requests", "retry_after": wait}, 429, retry)
        return await handler(dataclasses.replace(request, principal=principal))

    return guard
