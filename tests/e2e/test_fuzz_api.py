"""The API fuzzed from its own OpenAPI description (schemathesis), against a real worker with
the story in it: no answer is a server error, every answer is one the description documents,
with its content type, and no guarded route answers without valid credentials."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.harness import ROOT, Worker

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,ignored_auth"


def test_every_route_survives_the_fuzz(worker: Worker, env: dict[str, str], tmp_path: Path) -> None:
    worker.start().wait_ready()
    sent = subprocess.run(
        [sys.executable, "-m", "cli", "send", str(ROOT / "examples" / "story.jsonl")],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert sent.returncode == 0, sent.stderr
    token = worker.token()
    assert token is not None
    fuzz = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"),
            "run",
            f"{worker.web}/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            "25",
            "--seed",
            "20261207",
            "--phases",
            "examples,coverage,fuzzing",
            "--workers",
            "1",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path / "schemathesis"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert fuzz.returncode == 0, fuzz.stdout[-6000:] + fuzz.stderr[-2000:]
    # the run really exercised the API: every operation was tested, none skipped
    selected = re.search(r"Selected: (\d+)/(\d+)\s+Tested: (\d+)", fuzz.stdout)
    assert selected is not None, fuzz.stdout[-3000:]
    assert selected.group(1) == selected.group(2) == selected.group(3), selected.group(0)
    assert int(selected.group(3)) >= 10
