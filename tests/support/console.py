"""The console in tests: alerts to publish, tokens, an SSE reader, and the console served
in-process (integration) or as a ``riskmon console`` process (e2e)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiokafka import AIOKafkaProducer

from console.deps import ConsoleDeps
from console.service import ensure_acks_topic, open_console
from console.web import build_app
from local.embedded import free_port
from schemas.codec import dumps
from security.roles import Role
from streams.access import token_store
from streams.redis_client import connect_async
from streams.settings import Settings

ROOT = Path(__file__).parents[2]
USCCS = ("91610112MA6TGQ1K2M", "91110108551385082Q", "91440101MA5CJQ4N59")


def console_settings(settings: Settings) -> Settings:
    """The test's settings with an acks topic of its own."""
    return settings.model_copy(update={"acks_topic": f"{settings.redis_prefix}.acks"})


def class_changed(uscc: str, old: str | None, new: str, when: dt.datetime) -> dict[str, Any]:
    """A class-change alert as the worker publishes it (a fresh id)."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/riskmon/test",
        "type": "riskmon.alert.class_changed",
        "subject": uscc,
        "time": when.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "uscc": uscc,
            "old_class": old,
            "new_class": new,
            "score": 42.0,
            "asof": when.isoformat(),
            "model_version": "test",
            "cause": {"source": "/test", "id": "e1", "type": "penalty.imposed"},
            "reasons": [],
        },
    }


def task_created(uscc: str, when: dt.datetime) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/riskmon/test",
        "type": "riskmon.task.created",
        "subject": uscc,
        "time": when.isoformat(),
        "datacontenttype": "application/json",
        "data": {
            "task_id": f"T-{uuid.uuid4().hex[:8]}",
            "uscc": uscc,
            "trigger": "class_d",
            "risk_class": "D",
            "asof": when.isoformat(),
            "model_version": "test",
            "cause": {"source": "/test", "id": "e1", "type": "penalty.imposed"},
        },
    }


async def publish(bootstrap: str, topic: str, docs: Sequence[Mapping[str, Any]]) -> None:
    """Publish ``docs`` on ``topic`` keyed by their subject, acknowledged by the broker."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for doc in docs:
            await producer.send_and_wait(topic, dumps(doc), key=str(doc["subject"]).encode())
    finally:
        await producer.stop()


async def make_token(s: Settings, redis_url: str, name: str, role: Role) -> str:
    client = connect_async(redis_url)
    try:
        token, _ = await token_store(s, client).create(name, role, expires_days=1)
        return token
    finally:
        await client.aclose()


@dataclass
class Frame:
    id: str | None
    event: str | None
    data: str | None


async def frames(resp: aiohttp.ClientResponse) -> AsyncIterator[Frame]:
    """The SSE frames of a response (comment lines skipped), as they come."""
    fields: dict[str, str] = {}
    async for raw in resp.content:
        line = raw.decode().rstrip("\r\n")
        if not line:
            if fields:
                yield Frame(fields.get("id"), fields.get("event"), fields.get("data"))
            fields = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")


async def read_events(
    resp: aiohttp.ClientResponse, n: int, timeout: float = 30
) -> tuple[list[Frame], str | None]:
    """The next ``n`` events (frames with data), and the last id seen (of any frame)."""
    got: list[Frame] = []
    last: str | None = None

    async def collect() -> None:
        nonlocal last
        async for f in frames(resp):
            if f.id is not None:
                last = f.id
            if f.data is not None:
                got.append(f)
                if len(got) == n:
                    return

    await asyncio.wait_for(collect(), timeout)
    return got, last


@contextlib.asynccontextmanager
async def served(
    s: Settings, bootstrap: str, redis_url: str
) -> AsyncIterator[tuple[str, ConsoleDeps]]:
    """The console on a free loopback port, in this process: its base URL and dependencies,
    once its alert index is loaded."""
    await asyncio.to_thread(ensure_acks_topic, s, bootstrap)
    async with open_console(s, bootstrap, redis_url) as deps:
        deps.heartbeat_seconds = 1.0
        runner = web.AppRunner(build_app(deps), shutdown_timeout=2)
        await runner.setup()
        port = free_port()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        try:
            await asyncio.wait_for(deps.follower.ready.wait(), 60)
            yield f"http://127.0.0.1:{port}", deps
        finally:
            deps.closing.set()
            await runner.cleanup()


class ConsoleProcess:
    """``riskmon console`` as a process of its own, on ``env`` (a worker's, with the port)."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_path: Path,
        args: Sequence[str] = (),
        ca: Path | None = None,
    ) -> None:
        self.env = {**env, "RISKMON_CONSOLE_PORT": str(free_port())}
        self.log_path = log_path
        self.args = list(args)
        scheme = "https" if ca is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.env['RISKMON_CONSOLE_PORT']}"
        self.tls = None if ca is None else ssl.create_default_context(cafile=str(ca))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> ConsoleProcess:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cli", "console", *self.args],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the console exited:\n{self.log()}")
            try:
                with urllib.request.urlopen(
                    self.url + "/healthz", timeout=2, context=self.tls
                ) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                pass
            time.sleep(0.25)
        raise AssertionError(f"the console was not ready in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]
