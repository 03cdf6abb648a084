"""The run file: one per web port, so two runs on one host neither share nor delete each
other's; the other commands find the run of the configured port, or the only one running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli import runfile
from cli.errors import CommandError
from cli.main import main
from streams.settings import Settings, load_settings


@pytest.fixture
def other_run() -> Iterator[int]:
    """The pid of a live process standing for another `riskmon run`."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


@pytest.fixture
def gone_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_run(run_file: Path, port: int, pid: int) -> Path:
    path = runfile.path_for(run_file, port)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "kafka": f"127.0.0.1:{port + 1}",
        "redis": f"redis://127.0.0.1:{port + 2}/0",
        "web": f"http://127.0.0.1:{port}",
        "pid": pid,
    }
    path.write_text(json.dumps(doc))
    return path


def settings(**overrides: object) -> Settings:
    return load_settings(**overrides)


def test_the_file_is_keyed_by_port() -> None:
    assert runfile.path_for(Path("/home/u/.riskmon/run.json"), 6066) == Path(
        "/home/u/.riskmon/run-6066.json"
    )


def test_a_run_writes_its_file_and_deletes_only_its_own(clean_env: Path) -> None:
    s = settings(web_port=7001)
    path = runfile.claim(s)
    runfile.write(path, kafka="k:1", redis="redis://r:2/0", web="http://127.0.0.1:7001")
    found = runfile.find(s)
    assert found is not None and found.pid == os.getpid() and found.kafka == "k:1"
    runfile.release(path)
    assert not path.exists()


def test_a_second_run_on_the_same_port_is_refused(clean_env: Path, other_run: int) -> None:
    path = write_run(clean_env, 7002, other_run)
    with pytest.raises(runfile.RunFileError, match=f"another riskmon run \\(pid {other_run}\\)"):
        runfile.claim(settings(web_port=7002))
    # ... and stopping this one would not have deleted the other's file
    runfile.release(path)
    assert path.exists()


def test_a_file_left_by_a_killed_run_is_taken_over(clean_env: Path, gone_pid: int) -> None:
    path = write_run(clean_env, 7003, gone_pid)
    assert runfile.claim(settings(web_port=7003)) == path
    assert runfile.find(settings(web_port=7003)) is None


def test_two_runs_on_other_ports_are_found_by_port(clean_env: Path, other_run: int) -> None:
    write_run(clean_env, 7004, other_run)
    write_run(clean_env, 7005, other_run)
    found = runfile.find(settings(web_port=7005))
    assert found is not None and found.web == "http://127.0.0.1:7005"
    # with no port configured, two alive and none on the default port: which one is unclear
    with pytest.raises(runfile.RunFileError, match="2 riskmon runs are alive"):
        runfile.find(settings())


def test_the_only_run_is_found_when_no_port_is_set(clean_env: Path, other_run: int) -> None:
    write_run(clean_env, 7006, other_run)
    found = runfile.find(settings())
    assert found is not None and found.kafka == "127.0.0.1:7007"
    assert runfile.bootstrap(settings()) == "127.0.0.1:7007"
    assert runfile.redis_url(settings()) == "redis://127.0.0.1:7008/0"
    # a port that was set means that run: no other stands in for it
    assert runfile.find(settings(web_port=7010)) is None


def test_without_a_run_the_commands_say_what_to_set(clean_env: Path) -> None:
    with pytest.raises(CommandError, match="no Kafka: set RISKMON_KAFKA_BOOTSTRAP"):
        runfile.bootstrap(settings())
    with pytest.raises(CommandError, match="no Redis: set RISKMON_REDIS_URL"):
        runfile.redis_url(settings())
    assert runfile.web(settings(web_port=7011)) == "http://127.0.0.1:7011"


def test_a_command_reports_an_unclear_choice_in_one_line(
    clean_env: Path, other_run: int, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run(clean_env, 7012, other_run)
    write_run(clean_env, 7013, other_run)
    story = Path(__file__).parents[3] / "examples" / "story.jsonl"
    assert main(["send", str(story)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskmon send: 2 riskmon runs are alive (ports 7012, 7013)")
    assert "RISKMON_WEB_PORT" in err
