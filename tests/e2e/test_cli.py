"""`riskmon run` on the embedded default, as a new user runs it, and its start-up errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local.embedded import free_port
from tests.support.harness import ROOT, Worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def _children(pid: int) -> set[int]:
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                kids.add(int(entry.name))
    return kids


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMON_")}
    env["RISKMON_WEB_PORT"] = str(free_port())
    env["RISKMON_RUN_FILE"] = str(tmp_path / "run.json")
    env["RISKMON_DATA_DIR"] = str(tmp_path / "data")
    return env


def _run_until_it_fails(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`riskmon run` expected to stop at start-up (a bounded wait if it does not)."""
    return subprocess.run(
        [sys.executable, "-m", "cli", "run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_starts_its_own_broker_and_redis_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    # With a decode process: Ctrl-C reaches the whole process group, and riskmon alone must
    # decide when that process ends (it once exited 1 when the child took the SIGINT).
    env = {**_clean_env(tmp_path), "RISKMON_DECODE_PROCESSES": "1"}
    worker = Worker(env, tmp_path / "run.log")
    worker.start().wait_ready()
    assert worker.proc is not None
    servers = wait_for(lambda: len(k := _children(worker.proc.pid)) >= 2 and k, 10, what="servers")
    run_file = Path(env["RISKMON_RUN_FILE"])
    assert run_file.is_file()
    log = worker.log_path.read_text()
    assert "(embedded Tansu)" in log and "(embedded)" in log

    os.killpg(worker.proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    assert worker.proc.wait(timeout=60) == 0
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in servers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in servers if _alive(p)], "a server outlived riskmon run"
    assert not run_file.exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RISKMON_WEB_PORT", "not-a-port"),
        ("RISKMON_PARTITIONS", "0"),
        ("RISKMON_TICK_SECONDS", "-1"),
    ],
)
def test_a_bad_setting_fails_at_start_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = {**_clean_env(tmp_path), variable: value}
    done = _run_until_it_fails(env)
    assert done.returncode == 2
    assert variable in done.stderr
    assert "Traceback" not in done.stderr


def test_a_bad_model_file_fails_at_start_naming_the_field(tmp_path: Path) -> None:
    model = tmp_path / "model.toml"
    text = (ROOT / "scoring" / "models" / "default.toml").read_text()
    model.write_text(text.replace("d_from = 60.0", "d_from = 20.0"))
    env = {**_clean_env(tmp_path), "RISKMON_MODEL_PATH": str(model)}
    done = _run_until_it_fails(env)
    assert done.returncode == 2
    assert "thresholds" in done.stderr
    assert "Traceback" not in done.stderr
