"""`riskmon run` on the embedded default, as a new user runs it, and its start-up errors; the
commands a user runs beside it (send, alerts) finding it through its run file."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kafka import KafkaProducer

from cli.main import main
from local.embedded import free_port
from schemas.alerts import ALERT_CLASS_CHANGED, TASK_CREATED, OutgoingEnvelope
from streams.topics import TopicSpec, ensure_topics
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


def _riskmon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


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


def test_run_starts_its_own_broker_and_redis_and_ctrl_c_leaves_nothing(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # With a decode process: Ctrl-C reaches the whole process group, and riskmon alone must
    # decide when that process ends (it once exited 1 when the child took the SIGINT).
    env = {**_clean_env(tmp_path), "RISKMON_DECODE_PROCESSES": "1"}
    worker = Worker(env, tmp_path / "run.log")
    worker.start()
    # Should an assertion fail on the way, no server outlives the test.
    request.addfinalizer(
        lambda: worker.proc is None or worker.proc.poll() is not None or worker.kill()
    )
    worker.wait_ready()
    assert worker.proc is not None
    servers = wait_for(lambda: len(k := _children(worker.proc.pid)) >= 2 and k, 10, what="servers")
    port = env["RISKMON_WEB_PORT"]
    run_file = tmp_path / f"run-{port}.json"  # keyed by port, beside RISKMON_RUN_FILE
    assert run_file.is_file()
    log = worker.log_path.read_text()
    assert "(embedded Tansu)" in log and "(embedded)" in log
    # Its summary, not Faust's services starting one by one (RISKMON_LOG_LEVEL=info brings them)
    assert "Starting..." not in log and "[INFO]" not in log
    assert f"run file {run_file}" in log

    # A second run on the same port is refused before it starts anything.
    again = _run_until_it_fails(env)
    assert again.returncode == 2
    assert f"another riskmon run (pid {worker.proc.pid}) serves port {port}" in again.stderr
    assert "Traceback" not in again.stderr and run_file.is_file()

    # The commands beside it find it: the story's alerts and its task come out as lines.
    others = {k: v for k, v in env.items() if k != "RISKMON_WEB_PORT"}  # the only run: found
    sent = _riskmon(others, "send", str(ROOT / "examples" / "story.jsonl"))
    assert sent.returncode == 0, sent.stderr
    lines = wait_for(
        # 6 class changes, 4 tasks, 2 overdue, 2 observation and 2 reminder lines
        lambda: len(out := _riskmon(others, "alerts").stdout.splitlines()) >= 16 and out,
        60,
        what="the story's alerts",
    )
    changes = [x for x in lines if "→" in x]
    assert changes[0].endswith(
        "A→B  cause penalty.imposed  top reason penalty.imposed 西未市监罚〔2026〕0117号 (18.0 pts)"
    )
    assert "observation period until 2027-02-28T16:00:00Z" in lines[0]
    assert sum("task on_site, trigger serious_violation (class D)" in x for x in lines) == 1
    assert sum("task on_site, trigger random_plan (class B)" in x for x in lines) == 1
    assert "B→A  cause inspection.completed" in lines[-1]

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


# riskmon alerts against the session's broker ------------------------------------------------


def _envelope(kind: str, n: int, when: dt.datetime) -> bytes:
    uscc = "91610112MA6TGQ1K2M"
    cause = {"source": "/gsxt/610112", "id": f"e-{n}", "type": "abnormal_list.added"}
    data: dict[str, object]
    if kind == ALERT_CLASS_CHANGED:
        data = {
            "uscc": uscc,
            "old_class": "B",
            "new_class": "C",
            "score": 31.0,
            "asof": when,
            "model_version": "default-2026.1",
            "cause": cause,
            "reasons": [
                {
                    "key": "abn:异-1",
                    "event_type": "abnormal_list.added",
                    "points": 15.0,
                    "floor": True,
                }
            ],
        }
    else:
        data = {
            "task_id": f"t-{n}",
            "uscc": uscc,
            "trigger": "class_d",
            "risk_class": "D",
            "asof": when,
            "model_version": "default-2026.1",
            "cause": cause,
        }
    env = OutgoingEnvelope.model_validate(
        {
            "id": f"o-{n}",
            "source": "/riskmon",
            "type": kind,
            "subject": uscc,
            "time": when,
            "data": data,
        }
    )
    return env.model_dump_json().encode()


@pytest.fixture
def outputs(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> dict[str, str]:
    """An environment whose alerts and tasks topics are the test's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMON_")}
    env.update(
        {
            "RISKMON_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "RISKMON_ALERTS_TOPIC": f"{topic_prefix}.alerts",
            "RISKMON_TASKS_TOPIC": f"{topic_prefix}.tasks",
            "RISKMON_RUN_FILE": str(tmp_path / "run.json"),
        }
    )
    ensure_topics(
        kafka_bootstrap,
        [TopicSpec(env["RISKMON_ALERTS_TOPIC"], 2), TopicSpec(env["RISKMON_TASKS_TOPIC"], 2)],
    )
    return env


def _publish(bootstrap: str, topic: str, value: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        producer.send(topic, key=b"91610112MA6TGQ1K2M", value=value)
        producer.flush(30)
    finally:
        producer.close()


T0 = dt.datetime(2026, 4, 1, 2, 0, tzinfo=dt.UTC)


def test_alerts_prints_what_is_on_the_topics_in_time_order_and_exits(
    outputs: dict[str, str],
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _publish(kafka_bootstrap, outputs["RISKMON_TASKS_TOPIC"], _envelope(TASK_CREATED, 2, T0))
    _publish(
        kafka_bootstrap,
        outputs["RISKMON_ALERTS_TOPIC"],
        _envelope(ALERT_CLASS_CHANGED, 1, T0 - dt.timedelta(hours=1)),
    )
    for k in list(os.environ):
        if k.startswith("RISKMON_"):
            monkeypatch.delenv(k)
    for k, v in outputs.items():
        if k.startswith("RISKMON_"):
            monkeypatch.setenv(k, v)
    assert main(["alerts"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "2026-04-01 01:00:00Z  91610112MA6TGQ1K2M  B→C  cause abnormal_list.added  top reason"
        " abnormal_list.added 异-1 (15.0 pts, sets a minimum class)",
        "2026-04-01 02:00:00Z  91610112MA6TGQ1K2M  task on_site, trigger class_d (class D)"
        "  cause abnormal_list.added",
    ]
    assert main(["alerts", "--types", TASK_CREATED]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_alerts_follow_prints_new_ones_until_ctrl_c(
    outputs: dict[str, str], kafka_bootstrap: str, tmp_path: Path
) -> None:
    _publish(
        kafka_bootstrap, outputs["RISKMON_ALERTS_TOPIC"], _envelope(ALERT_CLASS_CHANGED, 1, T0)
    )
    out_path = tmp_path / "alerts.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "alerts", "--follow", "--from-beginning"],
            env=outputs,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "B→C" in out_path.read_text(), 60, what="the alert already there")
        _publish(kafka_bootstrap, outputs["RISKMON_TASKS_TOPIC"], _envelope(TASK_CREATED, 2, T0))
        wait_for(lambda: "task on_site" in out_path.read_text(), 60, what="the new task")
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        rc = proc.wait(30)
    assert rc == 0, out_path.read_text()
    assert "Traceback" not in out_path.read_text()
