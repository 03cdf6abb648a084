"""``GET /alerts`` (recent alerts, paged) and ``POST /alerts/{alert_id}/ack``.

``GET /alerts?since=&types=&limit=&before=``: the kept alerts (``console/index.py``), newest
first by their ``time``, each as ``{"event": <CloudEvent>, "ack": <ack or null>}``. ``since``:
RFC 3339, only alerts at or after it; ``types``: as the stream's (``console/filters.py``);
``limit``: 1-500 (default 50); ``before``: the ``next`` of the previous page. The answer's
``next`` is null on the last page. 503 until the index has read the topics once.

``POST /alerts/{alert_id}/ack`` with an optional JSON body ``{"note": "..."}`` (at most
500 characters): the principal acknowledges the alert. The actor is who the credentials say
(``token:<name>``, ``oidc:<sub>``), never the body. The acknowledgement is first recorded in
the audit log's ops chain (``alert.ack``; if it cannot be, 503 and nothing is published), then
published on the acks topic (``riskmon.alert.acknowledged``, id derived from the alert id,
keyed by it), and the answer waits until the console has read it back:

- 201 ``{"ack": ..., "created": true}``: this one is the alert's acknowledgement;
- 200 ``{"ack": ..., "created": false}``: the alert was acknowledged already (or another
  console's acknowledgement came first in the topic): the first one, nothing new published;
- 202: published, but not yet read back within a few seconds;
- 404: no such alert among the kept ones; 400: a bad body; 503: Kafka or the audit log
  unavailable, or the index still loading.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any, Final

from aiohttp import web
from aiokafka.errors import KafkaError

from console.auth import principal_of
from console.deps import ConsoleDeps
from console.filters import FilterError, parse_filter
from console.index import MAX_NOTE_CHARS, Ack, Entry, ack_envelope, parse_time
from schemas.codec import loads
from security.exceptions import UnavailableError

__all__ = ["MAX_LIMIT", "ack_alert", "list_alerts", "parse_before"]

log = logging.getLogger(__name__)

MAX_LIMIT: Final = 500
_DEFAULT_LIMIT: Final = 50


def _bad(detail: str, status: int = 400) -> web.Response:
    return web.json_response({"error": "bad request", "detail": detail}, status=status)


def _loading() -> web.Response:
    body = {"error": "the console is still reading the alerts; retry"}
    return web.json_response(body, status=503, headers={"Retry-After": "2"})


def parse_before(text: str) -> tuple[int, str] | None:
    """A page cursor ``<microseconds>:<alert id>`` (None: malformed)."""
    us, sep, aid = text.partition(":")
    if not sep or not us.isdigit() or not aid or len(text) > 512:
        return None
    return int(us), aid


def entry_json(entry: Entry, ack: Ack | None) -> dict[str, Any]:
    return {"event": entry.doc, "ack": None if ack is None else ack.to_json()}


async def list_alerts(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    q = request.query
    try:
        wanted = parse_filter({"types": q.get("types", "")})
    except FilterError as exc:
        return _bad(str(exc))
    since = None
    if q.get("since"):
        since = parse_time(q["since"])
        if since is None:
            return _bad("since: an RFC 3339 time with its offset")
    try:
        limit = int(q.get("limit", _DEFAULT_LIMIT))
    except ValueError:
        return _bad(f"limit: 1 to {MAX_LIMIT}")
    if not 1 <= limit <= MAX_LIMIT:
        return _bad(f"limit: 1 to {MAX_LIMIT}")
    before = None
    if q.get("before"):
        before = parse_before(q["before"])
        if before is None:
            return _bad("before: the next of a previous page")
    if not deps.follower.ready.is_set():
        return _loading()
    page, more = deps.index.page(
        limit=limit, before=before, since_us=since, admits=lambda e: wanted.admits_type(e.type)
    )
    return web.json_response(
        {
            "alerts": [entry_json(e, deps.index.ack_of(e.id)) for e in page],
            "next": None if more is None else f"{more[0]}:{more[1]}",
        }
    )


def _note(body: bytes) -> str | None:
    """The note of a request body ('' for none; None: not an acceptable body)."""
    if not body.strip():
        return ""
    try:
        doc = loads(body)
    except ValueError:
        return None
    if not isinstance(doc, Mapping) or set(doc) - {"note"}:
        return None
    note = doc.get("note", "")
    if note is None:
        return ""
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        return None
    return note.strip()


async def _read_back(deps: ConsoleDeps, alert_id: str) -> Ack | None:
    async def seen() -> Ack:
        async with deps.follower.changed:
            await deps.follower.changed.wait_for(lambda: deps.index.ack_of(alert_id) is not None)
        found = deps.index.ack_of(alert_id)
        assert found is not None
        return found

    try:
        return await asyncio.wait_for(seen(), deps.ack_wait_seconds)
    except TimeoutError:
        return None


async def ack_alert(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    alert_id = request.match_info["alert_id"]
    note = _note(await request.read())
    if note is None:
        return _bad(f'body: {{"note": "..."}}, a note of at most {MAX_NOTE_CHARS} characters')
    if not deps.follower.ready.is_set():
        return _loading()
    entry = deps.index.get(alert_id)
    if entry is None:
        return web.json_response({"error": "unknown alert"}, status=404)
    existing = deps.index.ack_of(alert_id)
    if existing is not None:
        return web.json_response({"ack": existing.to_json(), "created": False})
    who = principal_of(request)
    when = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
    try:
        await deps.audit(who, "alert.ack", alert_id, {"type": entry.type})
    except UnavailableError:
        body = {"error": "cannot record this acknowledgement in the audit log now"}
        return web.json_response(body, status=503)
    envelope = ack_envelope(alert_id, who.actor, note, when)
    try:
        await deps.publish_ack(alert_id, envelope)
    except (KafkaError, OSError) as exc:
        log.warning("console: an acknowledgement was not published: %s", type(exc).__name__)
        return web.json_response({"error": "Kafka unavailable; retry"}, status=503)
    ack = await _read_back(deps, alert_id)
    if ack is None:
        return web.json_response({"ack": envelope["data"], "created": True}, status=202)
    ours = ack.actor == who.actor and ack.time == when
    return web.json_response({"ack": ack.to_json(), "created": ours}, status=201 if ours else 200)
