"""The lifecycle every embedded server shares: a child process on 127.0.0.1 with a temporary
directory, a log file and a readiness probe (:class:`Server`).

``start()`` returns once the server answers a real request, else raises :class:`EmbeddedError`
with the tail of its log. ``stop()`` sends SIGTERM and SIGKILL after a grace period; ``kill()``
sends SIGKILL at once, as in a crash. After either, ``start()`` runs the server again on the same
port and directory. ``close()`` (and leaving the ``with`` block) stops it and deletes the
directory. The child runs in its own process group and dies with the thread that started it
(Linux ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

from streams.lifetime import die_with_parent_hook

__all__ = ["HOST", "EmbeddedError", "Server", "free_port", "recv_exactly", "stop_group"]

HOST = "127.0.0.1"
_POLL_SECONDS = 0.05
_LOG_TAIL_LINES = 30
# Attempts with a fresh port when the server exits at once: a port from free_port() can be taken
# by another process between the probe and the server's own bind.
_PORT_ATTEMPTS = 3


class EmbeddedError(RuntimeError):
    """An embedded server could not be found, did not come up, or exited."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it; another process
    may still take it before the caller binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """A server child process on 127.0.0.1 with a temporary directory, log and readiness probe."""

    name: ClassVar[str] = "server"

    def __init__(
        self,
        port: int | None = None,
        *,
        start_timeout_seconds: float = 30.0,
        stop_grace_seconds: float = 5.0,
    ) -> None:
        self._port_given = port is not None
        self._port = port if port is not None else free_port()
        self.start_timeout_seconds = start_timeout_seconds
        self.stop_grace_seconds = stop_grace_seconds
        self.dir = Path(tempfile.mkdtemp(prefix=f"riskmon-{self.name}-"))
        self.log_path = self.dir / f"{self.name}.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._started_once = False

    # -- what subclasses provide ---------------------------------------------------------------

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self, timeout_seconds: float) -> bool:
        """True once the server answers a real request; False to try again."""
        raise NotImplementedError

    def _env(self) -> dict[str, str] | None:
        """The child's environment; None inherits ours."""
        return None

    # -- state ---------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port on 127.0.0.1; it stays the same across ``kill()``/``start()``."""
        return self._port

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (also its process group id), else None."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Start the server and return once it answers; a no-op while it runs.

        Raises :class:`EmbeddedError` naming the log and its last lines if the server exits or
        does not answer within ``start_timeout_seconds`` (it is killed then).
        """
        if self.running:
            return self
        attempts = 1 if self._port_given or self._started_once else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                self._start_once()
            except _ExitedEarly as exc:
                if attempt == attempts:
                    raise EmbeddedError(str(exc)) from None
                self._port = free_port()
            else:
                self._started_once = True
                return self
        raise AssertionError("unreachable")

    def _start_once(self) -> None:
        command = self._command()
        with self.log_path.open("ab") as log:
            log.write(f"--- riskmon: starting {' '.join(command)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.dir,
                env=self._env(),
                process_group=0,
                preexec_fn=die_with_parent_hook(),
            )
        proc = self._proc
        deadline = time.monotonic() + self.start_timeout_seconds
        while True:
            if proc.poll() is not None:
                self._proc = None
                raise _ExitedEarly(
                    f"{self.name} exited with status {proc.returncode} on port {self.port}"
                    f" (log {self.log_path}):\n{self._tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._ready(min(2.0, remaining)):
                # Someone answered; make sure it is ours. Tansu does not exit when its port is
                # taken (a worker thread panics, the process lingers), so another server on the
                # same port would pass for it.
                if proc.poll() is None and _listens_on(proc.pid, self.port):
                    return
                if proc.poll() is None:
                    self._signal_and_wait(signal.SIGKILL, 0.0)
                    raise _ExitedEarly(
                        f"{self.name}: port {self.port} is taken by another process"
                        f" (log {self.log_path}):\n{self._tail()}"
                    )
                continue
            time.sleep(_POLL_SECONDS)
        self.kill()
        raise EmbeddedError(
            f"{self.name} on port {self.port} did not answer within"
            f" {self.start_timeout_seconds}s (log {self.log_path}):\n{self._tail()}"
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after ``stop_grace_seconds``; returns when it has exited."""
        self._signal_and_wait(signal.SIGTERM, self.stop_grace_seconds)

    def kill(self) -> None:
        """SIGKILL at once, as in a crash; returns when it has exited."""
        self._signal_and_wait(signal.SIGKILL, 0.0)

    def close(self) -> None:
        """Stop the server and delete its directory (data and log)."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _signal_and_wait(self, sig: signal.Signals, grace_seconds: float) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            stop_group(proc, sig, grace_seconds if sig != signal.SIGKILL else 10.0)

    def _tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError as exc:
            return f"(log unreadable: {exc})"
        return "\n".join(lines[-_LOG_TAIL_LINES:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} port={self.port} pid={self.pid} dir={self.dir}>"


class _ExitedEarly(Exception):
    """The server process ended while starting (most often: its port was taken)."""


def _listens_on(pid: int, port: int) -> bool:
    """True if process ``pid`` holds a socket listening on TCP ``port`` (Linux: /proc);
    elsewhere assumed true."""
    if not sys.platform.startswith("linux"):
        return True
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the inode
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    if not inodes:
        return False
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:[") and link[8:-1] in inodes:
                return True
    return False


def recv_exactly(s: socket.socket, n: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = s.recv(n - len(chunks))
        if not chunk:
            raise ConnectionError("closed mid-response")
        chunks += chunk
    return bytes(chunks)


def stop_group(proc: subprocess.Popen[bytes], sig: signal.Signals, grace_seconds: float) -> None:
    """Stop ``proc``, which leads a process group of its own: ``sig`` to the group, SIGKILL if
    it has not exited after ``grace_seconds``, then SIGKILL to whatever the group still holds
    (a child it forked, such as redis' AOF rewrite)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(grace_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10.0)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
