"""What the commands record in the audit log, and as whom.

A command acts for the person at the terminal: ``local:<user>@<host>``. It records before it
acts (a plan is recorded as published before its tasks are sent), so nothing it does is
missing from the log; if the record cannot be written, it does not act.
"""

from __future__ import annotations

import asyncio
import getpass
import re
import socket
from collections.abc import Mapping
from typing import Any

from cli.errors import CommandError
from security.exceptions import SecurityError
from streams.access import audit_log
from streams.connections import redis_options
from streams.redis_client import connect_async
from streams.settings import Settings

__all__ = ["local_actor", "record"]


def local_actor() -> str:
    """How records name the person at this terminal: ``local:<user>@<host>``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container's)
        user = "user"
    # Each part cleaned on its own: the "@" between them is the form the records promise.
    return f"local:{_clean(user)}@{_clean(socket.gethostname())}"


def _clean(part: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "-", part) or "-"


def record(
    settings: Settings, redis_url: str, action: str, target: str, details: Mapping[str, Any]
) -> None:
    """Append one record for the local user. Raises :class:`CommandError` if it cannot."""

    async def go() -> None:
        client = connect_async(
            redis_url, socket_timeout=10, socket_connect_timeout=5, **redis_options(settings)
        )
        try:
            await audit_log(settings, client).append(local_actor(), action, target, details)
        finally:
            await client.aclose()

    try:
        asyncio.run(go())
    except SecurityError as exc:
        raise CommandError(
            f"cannot record {action} in the audit log, so nothing was done: {exc}", 1
        ) from None
