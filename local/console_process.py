"""The console as a child process (``riskmon console``): what the demo starts beside the worker.

Like the worker (``local/worker_process.py``), it gets its own session and dies with its parent,
so a Ctrl-C reaches the demo only, which stops it in order.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from local.server import stop_group
from local.worker_process import spawn, wait_ok

__all__ = ["spawn_console", "stop_console", "wait_console"]

_GRACE_SECONDS = 10.0


def spawn_console(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``riskmon console`` with ``env`` over this process' environment, output to
    ``log_path``. No secret goes on its command line."""
    return spawn("console", env, log_path)


def stop_console(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the console closes its streams and stops), SIGKILL after a grace period."""
    stop_group(proc, signal.SIGTERM, _GRACE_SECONDS)


def wait_console(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Until the console's /healthz answers 200 (its alert index loaded); RuntimeError (with
    its log) if it exits first or takes longer than ``timeout`` seconds."""
    wait_ok(url + "/healthz", "console", proc, log, timeout)
