"""A worker as a child process (``riskmon run``): what the demo and the benchmark start.

The child gets its own session, so the parent decides when it stops (a Ctrl-C reaches the
parent only), and it dies with the parent even on kill -9.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from local.server import stop_group

__all__ = ["spawn", "spawn_worker", "stop_worker", "tail", "wait_ok", "wait_ready"]

_GRACE_SECONDS = 30.0


def spawn(command: str, env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``riskmon <command>`` with ``env`` over this process' environment, output to
    ``log_path``, in a session of its own and dying with this process. No secret goes on its
    command line."""
    from streams.lifetime import die_with_parent_hook

    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", command],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent_hook(),
        )


def spawn_worker(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``riskmon run`` with ``env`` over this process' environment, output to ``log_path``."""
    return spawn("run", env, log_path)


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (a clean Faust shutdown), SIGKILL after a grace period, then anything it forked."""
    stop_group(proc, signal.SIGINT, _GRACE_SECONDS)


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def wait_ok(url: str, what: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Until ``url`` answers 200; RuntimeError (with ``what``'s log) if it exits first or
    takes longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the {what} exited with status {proc.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the {what} was not ready within {timeout:.0f}s:\n{tail(log)}")


def wait_ready(web: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Until the worker's /readyz answers 200; RuntimeError (with its log) if it exits first."""
    wait_ok(web + "/readyz", "worker", proc, log, timeout)
