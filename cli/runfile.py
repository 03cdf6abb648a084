"""The run file: where a running ``riskmon run`` serves, for the commands that talk to it.

``riskmon run`` writes one file per web port beside ``RISKMON_RUN_FILE`` (default
``~/.riskmon/run.json``), its port put before the extension: ``~/.riskmon/run-6066.json``. It
holds the Kafka bootstrap, the Redis URL and the API's address, the process id of the run
that wrote it, and (unless ``RISKMON_LOCAL_TOKEN=false``) the run's local admin token and its
id: the file is the local user's alone (mode 0600), as an SSH key is. The run deletes its own
file when it stops, never another's; a file whose process is gone (a ``kill -9``) counts as
absent and is overwritten.

Two runs on one host therefore never share a file. A second run on a port whose file belongs to
a live run is refused before it starts anything (:class:`RunFileError`).

The other commands (send, lookup, alerts, generate, replay, reclassify, judge) read the file of
the configured web port (``RISKMON_WEB_PORT``, default 6066); when that port was not set and no
run serves it, the one live run in the directory, if there is exactly one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cli.errors import CommandError
from streams.settings import Settings

__all__ = [
    "Run",
    "RunFileError",
    "api_token",
    "bootstrap",
    "claim",
    "find",
    "path_for",
    "pid_alive",
    "read",
    "redis_url",
    "release",
    "served",
    "web",
    "write",
]

Address = Literal["kafka", "redis", "web"]


class RunFileError(CommandError):
    """A run file stands in the way (a live run on the same port), or several runs are alive
    and none is the configured one; the message says what to do."""


@dataclass(frozen=True, slots=True)
class Run:
    """What one ``riskmon run`` wrote: its addresses and process id (None: an old file)."""

    path: Path
    kafka: str | None
    redis: str | None
    web: str | None
    pid: int | None
    #: The run's local admin token and its public id (None: none, or an old file).
    token: str | None = None
    token_id: str | None = None

    @property
    def alive(self) -> bool:
        return self.pid is None or pid_alive(self.pid)


def path_for(run_file: Path, port: int) -> Path:
    """The run file of the run on ``port``: ``run_file`` with ``-<port>`` before its suffix."""
    return run_file.with_name(f"{run_file.stem}-{port}{run_file.suffix}")


def pid_alive(pid: int) -> bool:
    """True if process ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True


def read(path: Path) -> Run | None:
    """The run file at ``path``, or None if it is missing or unreadable."""
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict):
        return None

    def text(key: str) -> str | None:
        v = doc.get(key)
        return v if isinstance(v, str) and v else None

    pid = doc.get("pid")
    return Run(
        path,
        text("kafka"),
        text("redis"),
        text("web"),
        pid if isinstance(pid, int) else None,
        text("token"),
        text("token_id"),
    )


def claim(settings: Settings) -> Path:
    """The run file this run will write, checked free. Raises :class:`RunFileError` if a live
    run owns the file of this port."""
    path = path_for(settings.run_file, settings.web_port)
    other = read(path)
    if other is not None and other.alive and other.pid != os.getpid():
        raise RunFileError(
            f"another riskmon run (pid {other.pid}) serves port {settings.web_port}"
            f" (run file {path}): stop it, or start this one with another --web-port"
        )
    return path


def write(
    path: Path,
    *,
    kafka: str,
    redis: str,
    web: str,
    token: str | None = None,
    token_id: str | None = None,
) -> None:
    """Write the run file of this process (atomically: a reader never sees half of it),
    readable by its owner only: it may hold a token."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    doc = {"kafka": kafka, "redis": redis, "web": web, "pid": os.getpid()}
    if token is not None:
        doc |= {"token": token, "token_id": token_id or ""}
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps(doc))
    tmp.replace(path)


def release(path: Path) -> None:
    """Delete the run file at ``path`` if this process wrote it (never another run's)."""
    run = read(path)
    if run is not None and run.pid == os.getpid():
        with contextlib.suppress(OSError):
            path.unlink()


def find(settings: Settings) -> Run | None:
    """The live run to talk to: the one on the configured web port, else (when the port was
    not set) the only live one beside it. None if there is none. Raises :class:`RunFileError`
    if several are alive and none is on the configured port."""
    run = read(path_for(settings.run_file, settings.web_port))
    if run is not None and run.alive:
        return run
    if "web_port" in settings.model_fields_set:
        return None
    base = settings.run_file
    mine = re.compile(re.escape(base.stem) + r"-\d+" + re.escape(base.suffix))
    alive = [
        r
        for p in sorted(base.parent.glob(f"{base.stem}-*{base.suffix}"))
        if mine.fullmatch(p.name) and (r := read(p)) is not None and r.alive
    ]
    if len(alive) > 1:
        ports = ", ".join(r.web.rsplit(":", 1)[-1] if r.web else str(r.path) for r in alive)
        raise RunFileError(
            f"{len(alive)} riskmon runs are alive (ports {ports}) and none on port"
            f" {settings.web_port}: set RISKMON_WEB_PORT to the one to use"
        )
    return alive[0] if alive else None


def served(settings: Settings, what: Address) -> str | None:
    """The address ``what`` of the run :func:`find` picks, or None."""
    run = find(settings)
    return None if run is None else getattr(run, what)


def bootstrap(settings: Settings) -> str:
    """``RISKMON_KAFKA_BOOTSTRAP``, else the broker of a running ``riskmon run``. Raises
    :class:`CommandError` if there is neither."""
    found = settings.kafka_bootstrap or served(settings, "kafka")
    if not found:
        raise CommandError("no Kafka: set RISKMON_KAFKA_BOOTSTRAP or start `riskmon run`")
    return found


def redis_url(settings: Settings) -> str:
    """``RISKMON_REDIS_URL``, else the Redis of a running ``riskmon run``. Raises
    :class:`CommandError` if there is neither."""
    found = settings.redis_url or served(settings, "redis")
    if not found:
        raise CommandError("no Redis: set RISKMON_REDIS_URL or start `riskmon run`")
    return found


def api_token(settings: Settings) -> str | None:
    """``RISKMON_API_TOKEN``, else the local admin token of the run :func:`find` picks."""
    if settings.api_token is not None:
        return settings.api_token.get_secret_value()
    run = find(settings)
    return None if run is None else run.token


def web(settings: Settings) -> str:
    """The API of a running ``riskmon run``, else the configured web host and port."""
    return served(settings, "web") or f"http://{settings.web_host}:{settings.web_port}"
