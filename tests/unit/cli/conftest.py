"""Every test here runs the command in-process with no RISKMON_* from the caller's shell, and a
run-file directory of its own (so no `riskmon run` on this machine is found)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The run file setting of the test (a ``run.json`` in the test's temporary directory);
    returned for tests that use it."""
    for name in list(os.environ):
        if name.startswith("RISKMON_"):
            monkeypatch.delenv(name)
    run_file = tmp_path / "run.json"
    monkeypatch.setenv("RISKMON_RUN_FILE", str(run_file))
    return run_file
