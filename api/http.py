"""The request and response every handler speaks: plain values, no web framework."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from schemas.codec import dumps
from security.roles import Principal

__all__ = ["JSON_CONTENT_TYPE", "Audit", "Handler", "Request", "Response", "json_response"]

#: Content type of every JSON answer (the charset spelled out, as the worker always sent it).
JSON_CONTENT_TYPE: Final = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler may look at. ``path_params`` are the route's ``{names}``, URL-decoded;
    ``headers`` should be case-insensitive (the adapter passes the server's own mapping);
    ``body``: the request's bytes (empty for a GET); ``principal``: who sent it, once the
    guard (:mod:`api.guard`) has checked (None on a public route)."""

    method: str = "GET"
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    principal: Principal | None = None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


#: A handler with its dependencies bound: what the route table holds and adapters serve.
Handler = Callable[[Request], Awaitable[Response]]
#: Records who did what to what in the audit log (``security/store/audit.py``): (principal,
#: action, target, details). Raises ``security.exceptions.UnavailableError`` if it cannot: a
#: handler then refuses (503) what it would have had to record.
Audit = Callable[[Principal, str, str, Mapping[str, Any]], Awaitable[object]]


def json_response(
    value: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """``value`` as JSON (the codec's orjson encoding) with :data:`JSON_CONTENT_TYPE`, and any
    other ``headers``."""
    return Response(status, {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}, dumps(value))
