"""One HTTP attempt of a delivery: a webhook signed per Standard Webhooks, or an Alertmanager
v2 post. aiohttp is the client: it is already riskmon's web stack (the console serves with
it), async, and keeps connections alive per host across attempts; httpx would add a
dependency for no gain here.

An attempt never raises for what the far end did: it returns an :class:`Attempt` whose
``error`` is short and safe to show (an HTTP status or the kind of failure: never the URL,
which may carry a token, nor a secret).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Final

import aiohttp
from standardwebhooks import Webhook

__all__ = ["USER_AGENT", "Attempt", "post_alertmanager", "post_webhook", "signed_headers"]

USER_AGENT: Final = "riskmon-delivery/1"
#: The body is the CloudEvent in structured JSON; plain JSON is what receivers parse by default.
_CONTENT_TYPE: Final = "application/json"


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt got: ``ok`` on a 2xx; ``status`` (None: no HTTP answer), ``error``
    (None when ok), ``seconds`` it took."""

    ok: bool
    status: int | None
    error: str | None
    seconds: float


def signed_headers(secret: str, msg_id: str, body: bytes, at: dt.datetime) -> dict[str, str]:
    """The Standard Webhooks headers for ``body``: ``webhook-id`` (the message's CloudEvents
    id: a receiver dedups on it), ``webhook-timestamp`` (``at``, whole seconds) and
    ``webhook-signature`` (``v1,`` + base64 HMAC-SHA256 of ``id.timestamp.body`` under the
    ``whsec_`` secret), signed by the ``standardwebhooks`` library itself."""
    signature = Webhook(secret).sign(msg_id, at, body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout_seconds: float,
) -> Attempt:
    loop = asyncio.get_running_loop()
    start = loop.time()
    all_headers = {"Content-Type": _CONTENT_TYPE, "User-Agent": USER_AGENT, **headers}
    try:
        async with session.post(
            url,
            data=body,
            headers=all_headers,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            allow_redirects=False,
        ) as resp:
            await resp.read()
            status = resp.status
    except TimeoutError:
        return Attempt(False, None, f"no answer within {timeout_seconds:g} s", loop.time() - start)
    except aiohttp.ClientConnectorError:
        return Attempt(False, None, "connection refused or unreachable", loop.time() - start)
    except aiohttp.ClientError as exc:
        return Attempt(False, None, type(exc).__name__, loop.time() - start)
    took = loop.time() - start
    if 200 <= status < 300:
        return Attempt(True, status, None, took)
    return Attempt(False, status, f"HTTP {status}", took)


async def post_webhook(
    session: aiohttp.ClientSession,
    url: str,
    secret: str,
    msg_id: str,
    body: bytes,
    *,
    at: dt.datetime,
    timeout_seconds: float,
) -> Attempt:
    """POST ``body`` (the CloudEvent JSON) to ``url``, signed at ``at``: each attempt is signed
    afresh, so a retry after hours still passes the receiver's five-minute timestamp window."""
    headers = signed_headers(secret, msg_id, body, at)
    return await _post(session, url, body, headers, timeout_seconds)


async def post_alertmanager(
    session: aiohttp.ClientSession, base_url: str, body: bytes, *, timeout_seconds: float
) -> Attempt:
    """POST ``body`` (a JSON list of alerts) to ``<base_url>/api/v2/alerts``."""
    url = base_url.rstrip("/") + "/api/v2/alerts"
    return await _post(session, url, body, {}, timeout_seconds)
