"""The console as a child process (``riskmon console``): what the demo starts beside the worker.

Like the worker (``local/worker_process.py``), it gets its own session and dies with its parent,
so a Ctrl-C reaches the demo only, which stops it in order.
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
from local.worker_process import tail

__all__ = ["spawn_console", "stop_console", "wait_console"]

_GRACE_SECONDS = 10.0


def spawn_console(env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """``riskmon console`` with ``env`` over this process' environment, output to
    ``log_path``. No secret goes on its command line."""
    from streams.lifetime import die_with_parent_hook

    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "cli", "console"],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent_hook(),
        )


def stop_console(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the console closes its streams and stops), SIGKILL after a grace period."""
    stop_group(proc, signal.SIGTERM, _GRACE_SECONDS)


def wait_console(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Until the console's /healthz answers 200 (its alert index loaded); RuntimeError (with
    its log) if it exits first or takes longer than ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the console exited with status {proc.returncode}:\n{tail(log)}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the console was not ready within {timeout:.0f}s:\n{tail(log)}")
