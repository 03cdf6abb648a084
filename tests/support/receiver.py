"""A real webhook receiver on a loopback port, for the delivery tests.

Each path ``/<name>`` has its own ``whsec_`` secret. A request is checked with the
``standardwebhooks`` library's own ``Webhook.verify`` (signature and timestamp) and recorded,
verified or not; verified ones get 204, others 401. The receiver can be taken down
(:meth:`Receiver.down`: the port refuses connections) and brought back on the same port
(:meth:`Receiver.up`), or set to hang (accept and never answer).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from local.embedded import free_port

__all__ = ["Received", "Receiver", "new_secret"]


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    webhook_id: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any


@dataclass
class Receiver:
    """Serves ``http://127.0.0.1:<port>/<name>`` for each name of ``secrets_by_path``."""

    secrets_by_path: dict[str, str]
    port: int = field(default_factory=free_port)
    hang: bool = False
    got: list[Received] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        body = await request.read()
        if self.hang:
            await asyncio.Event().wait()  # never answers; the sender times out
        secret = self.secrets_by_path.get(name)
        headers = dict(request.headers)
        payload, verified = None, False
        if secret is not None:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        hid = request.headers.get("webhook-id", "")
        self.got.append(Received(name, hid, headers, body, verified, payload))
        self._arrived.set()
        return web.Response(status=204 if verified else 401)

    async def up(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{name}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()
        return self

    async def down(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def ids(self, name: str) -> list[str]:
        """webhook-ids received on ``/<name>``, verified ones only, in arrival order."""
        return [r.webhook_id for r in self.got if r.path == name and r.verified]

    async def wait_for(self, name: str, ids: set[str], timeout: float = 60.0) -> None:
        """Until every id of ``ids`` has arrived verified on ``/<name>``; raises
        TimeoutError naming what is missing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ids <= set(self.ids(name)):
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"/{name} still lacks {sorted(ids - set(self.ids(name)))}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 0.5))
