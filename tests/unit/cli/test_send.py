"""`riskmon send`: what a user gets wrong is told in one line, without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from tests.support.harness import ROOT

STORY = ROOT / "examples" / "story.jsonl"


def test_a_missing_file_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", "nosuch.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err == "riskmon send: cannot read nosuch.jsonl: No such file or directory\n"


def test_a_directory_is_not_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"riskmon send: cannot read {tmp_path}: ")


def test_invalid_lines_are_named_and_nothing_is_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(STORY.read_bytes().splitlines()[0] + b"\nnot json\n")
    assert main(["send", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("line 2: ")
    assert "1 invalid line(s); nothing sent" in err


def test_without_kafka_or_a_run_it_says_how_to_get_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["send", str(STORY)]) == 2
    assert capsys.readouterr().err == (
        "riskmon send: no Kafka: set RISKMON_KAFKA_BOOTSTRAP or start `riskmon run`\n"
    )
