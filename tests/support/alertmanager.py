"""A real Alertmanager (Debian's ``prometheus-alertmanager``) started by a test: loopback
ports of its own, storage in a temporary directory, no cluster gossip."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from local.embedded import free_port

__all__ = ["MINIMAL_CONFIG", "alertmanager_binary", "get_json", "running_alertmanager"]

#: One route to a receiver that sends nothing: enough for Alertmanager to take alerts.
MINIMAL_CONFIG = """\
route:
  receiver: nobody
  group_by: [alertname]
receivers:
  - name: nobody
"""


#: Debian's build reads its default notification templates from here, not from the binary.
DEBIAN_TEMPLATES = Path("/usr/share/prometheus/alertmanager/default.tmpl")


def alertmanager_binary() -> str:
    """Path of Alertmanager; fails under CI (it must be installed there), else skips. Debian's
    binary also needs the package's templates in /usr/share/prometheus/alertmanager/."""
    path = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    missing = None
    if path is None:
        missing = "prometheus-alertmanager not installed (Debian package)"
    elif "prometheus-alertmanager" in path and not DEBIAN_TEMPLATES.is_file():
        missing = f"{DEBIAN_TEMPLATES} missing: unpack it from Debian's prometheus-alertmanager"
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; required under CI")
        pytest.skip(missing)
    assert path is not None
    return path


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/-/ready", timeout=1) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def running_alertmanager(config: Path, workdir: Path, timeout: float = 30) -> Iterator[str]:
    """Alertmanager with ``config`` until the block ends; yields its base URL once it serves
    ``/-/ready``. Raises RuntimeError with its log if it exits or never becomes ready."""
    port = free_port()
    storage = workdir / "am-data"
    storage.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "alertmanager.log"
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [
                alertmanager_binary(),
                f"--config.file={config}",
                f"--storage.path={storage}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _ready(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                text = log_path.read_text("utf-8", errors="replace")
                raise RuntimeError(f"alertmanager did not become ready:\n{text}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
