"""``GET /webhooks/deliveries``: recent deliveries to webhook subscribers and Alertmanager,
newest first, filtered by ``state`` (pending, delivered, dead) and ``subscriber``, paged with
``limit`` and ``cursor``.

A delivery as JSON: ``subscriber`` (an id of the webhooks file, or ``alertmanager``),
``message_id`` (the CloudEvents id, also the ``webhook-id`` header), ``type``, ``severity``
(null: the message has none), ``state``, ``attempts``, ``last_status`` (the HTTP status of the
last attempt; null: none yet, or no answer), ``last_error`` (short: ``HTTP 503``, ``no answer
within 10 s``...), ``enqueued_at``, ``next_attempt_at`` (null unless pending) and
``finished_at`` (null while pending), RFC 3339 in UTC of wall-clock time. Never a subscriber's
URL or secret: the outbox does not hold them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol, get_args

from alerts.sinks.outbox import DeliveryPage, DeliveryRecord, State
from api.http import Request, Response, json_response
from scoring.exceptions import StoreUnavailableError

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "ReadDeliveries",
    "delivery_json",
    "list_deliveries",
]

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
_STATES: Final[tuple[State, ...]] = get_args(State)
_KNOWN: Final = ("state", "subscriber", "limit", "cursor")
_SUBSCRIBER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


class ReadDeliveries(Protocol):
    """What the handler reads: ``jobs.deliver.Delivery.outbox`` (an ``Outbox``) is one."""

    async def deliveries(
        self,
        *,
        state: State | None = None,
        subscriber: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> DeliveryPage:
        """Raises ValueError for a cursor it did not make, StoreUnavailableError while the
        store cannot answer."""
        ...


def _iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


def delivery_json(d: DeliveryRecord) -> dict[str, Any]:
    """``d`` as the API shows it (the fields are listed in the module's docstring)."""
    return {
        "subscriber": d.subscriber,
        "message_id": d.message_id,
        "type": d.type,
        "severity": d.severity,
        "state": d.state,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "enqueued_at": _iso(d.enqueued_at),
        "next_attempt_at": _iso(d.next_attempt_at),
        "finished_at": _iso(d.finished_at),
    }


def _bad(detail: str) -> Response:
    return json_response({"error": "bad query", "detail": detail}, status=400)


def _problem(query: Mapping[str, str]) -> str | None:
    unknown = sorted(set(query) - set(_KNOWN))
    if unknown:
        return f"unknown query parameter {unknown[0][:64]!r}; known: {', '.join(_KNOWN)}"
    state, sub, limit = query.get("state"), query.get("subscriber"), query.get("limit")
    if state is not None and state not in _STATES:
        return f"state must be one of {', '.join(_STATES)}; not {state[:64]!r}"
    if sub is not None and not _SUBSCRIBER.match(sub):
        return f"subscriber must be a subscriber id; not {sub[:64]!r}"
    if limit is not None and not (limit.isdigit() and 1 <= int(limit) <= MAX_LIMIT):
        return f"limit must be a whole number from 1 to {MAX_LIMIT}; not {limit[:64]!r}"
    return None


async def list_deliveries(request: Request, *, reader: ReadDeliveries) -> Response:
    """200 with ``deliveries`` (newest first), ``limit`` and ``next_cursor`` (pass it as
    ``cursor`` for the next page; null on the last); 400 naming a query value it cannot take;
    503 while Redis is unavailable."""
    query = {k: v for k, v in request.query.items() if v != ""}
    problem = _problem(query)
    if problem is not None:
        return _bad(problem)
    limit = int(query.get("limit", DEFAULT_LIMIT))
    states: Sequence[State] = [s for s in _STATES if s == query.get("state")]
    try:
        page = await reader.deliveries(
            state=states[0] if states else None,
            subscriber=query.get("subscriber"),
            limit=limit,
            cursor=query.get("cursor"),
        )
    except ValueError:
        return _bad("cursor must be a next_cursor this API returned")
    except StoreUnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    return json_response(
        {
            "deliveries": [delivery_json(d) for d in page.deliveries],
            "limit": limit,
            "next_cursor": page.next_cursor,
        }
    )
