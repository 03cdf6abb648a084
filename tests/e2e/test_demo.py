"""``riskmon demo`` on a machine with nothing configured: it starts its own broker and Redis,
the worker, and a live district; classes show through the API, alerts reach their topic, the
dashboard reports them, and Ctrl-C leaves no process behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from district.generator import DistrictSpec, enterprises
from local.embedded import free_port
from local.feed import default_now
from tests.support.harness import ROOT, read_topic, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.integration]

# A tiny district; --seconds bounds the run should the test fail to stop it.
DEMO_ARGS = (
    *("--enterprises", "120", "--seed", "3", "--rate", "300", "--seconds", "150"),
    *("--plan-seconds", "10"),
)


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def get(url: str, token: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}
    except OSError:
        # The run file is written before the worker's web server listens: not up yet.
        return 0, {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_demo_runs_a_live_district_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    port = free_port()
    run_file = tmp_path / f"run-{port}.json"  # the worker's, keyed by its port
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RISKMON_KAFKA_BOOTSTRAP", "RISKMON_REDIS_URL")
    }
    env.update(
        {
            "RISKMON_WEB_PORT": str(port),
            "RISKMON_RUN_FILE": str(tmp_path / "run.json"),
            "RISKMON_TICK_SECONDS": "0.5",
        }
    )
    out_path = tmp_path / "demo.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "demo", *DEMO_ARGS],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own foreground group, as in a terminal
        )
    seen: set[int] = set()
    try:

        def ready() -> bool:
            assert proc.poll() is None, out_path.read_text()
            seen.update(descendants(proc.pid))
            return run_file.exists()

        wait_for(ready, 120, what="the worker's run file")
        written = json.loads(run_file.read_text())
        bootstrap, token = written["kafka"], written["token"]  # the local admin token
        assert bootstrap.startswith("127.0.0.1:")
        assert run_file.stat().st_mode & 0o777 == 0o600
        web = f"http://127.0.0.1:{port}"

        # The same district the demo feeds (same seed, same default end of period).
        firms = [
            e.uscc for e in enterprises(DistrictSpec(now=default_now(), enterprises=120, seed=3))
        ]

        def classified() -> list[str]:
            seen.update(descendants(proc.pid))
            found = [get(f"{web}/enterprises/{u}", token) for u in firms[:30]]
            return [str(doc["class"]) for status, doc in found if status == 200]

        classes = wait_for(lambda: len(c := classified()) == 30 and c, 90, what="30 classes")
        assert set(classes) <= {"A", "B", "C", "D"}

        alerts = wait_for(
            lambda: read_topic(bootstrap, "riskmon.alerts"), 60, what="alerts on the topic"
        )
        doc = json.loads(alerts[0].value)
        assert doc["type"] == "riskmon.alert.class_changed"
        assert doc["subject"] in firms

        # the dashboard (not a terminal here: one status line a second) reports them
        def dashboard_shows_alerts() -> bool:
            lines = [x for x in out_path.read_text().splitlines() if "alerts=" in x]
            return bool(lines) and int(re.findall(r"alerts=(\d+)", lines[-1])[0]) > 0

        wait_for(dashboard_shows_alerts, 30, what="alerts counted on the dashboard")
        # the drop from --rate to --live-rate is announced, not silent
        wait_for(
            lambda: "now live at 20 events/s (--live-rate)" in out_path.read_text(),
            60,
            what="the line that says the history is fed",
        )
        assert re.search(r"^history fed: [\d,]+ events in [\d,]+ s;", out_path.read_text(), re.M)
        assert "ticker re-evaluations" in out_path.read_text()
        # class changes made by time alone, in event time, as the history is read (no ticker
        # record needed: the fed events' own times move each partition's watermark)
        wait_for(
            lambda: any(
                int(n.replace(",", "")) > 0
                for n in re.findall(r"([\d,]+) time-driven changes", out_path.read_text())
            ),
            60,
            what="time-driven changes counted on the dashboard",
        )

        # once the history is fed, spot checks go through plans: tasks of the worker's, then
        # their inspections, counted per class at draw by GET /stats/discovery
        def inspected() -> int:
            found = re.findall(
                r"discovery A=\d+/(\d+) B=\d+/(\d+) C=\d+/(\d+) D=\d+/(\d+)", out_path.read_text()
            )
            return sum(int(n) for n in found[-1]) if found else 0

        wait_for(lambda: inspected() > 0, 90, what="plan inspections on the discovery line")
        status, stats = get(f"{web}/stats/discovery", token)
        assert status == 200
        per_class = stats["classes"]
        assert isinstance(per_class, dict)
        assert sum(int(c["inspected"]) for c in per_class.values()) > 0
        tasks = [json.loads(r.value or b"{}") for r in read_topic(bootstrap, "riskmon.tasks")]
        assert any(t["data"]["trigger"] == "random_plan" for t in tasks)
        seen.update(descendants(proc.pid))
        assert len(seen) >= 3  # the broker, redis-server and the worker at least
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground group
        try:
            rc = proc.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert rc == 0, out_path.read_text()[-3000:]
    assert "stopped; nothing left running" in out_path.read_text()
    deadline = time.monotonic() + 15
    while any(alive(p) for p in seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [p for p in seen if alive(p)] == []
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
