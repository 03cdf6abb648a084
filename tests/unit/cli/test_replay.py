"""`riskmon replay`'s summary, a file it cannot read, and an --outputs file it could not write."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cli.main import main
from cli.replay import render
from jobs.outputs import Outputs
from jobs.replay import ReplayStats


def test_the_summary_counts_dead_letters_by_reason() -> None:
    stats = ReplayStats(
        records=12,
        applied=9,
        duplicates=1,
        dead_letters=Counter({"schema": 1, "invalid_json": 1}),
        seconds=0.5,
        classes={"A": 3, "B": 1, "C": 0, "D": 1},
    )
    lines = render(stats, "log.jsonl", "replayed").splitlines()
    assert lines[0] == "replayed 12 record(s) from log.jsonl into prefix 'replayed'"
    assert lines[2] == "  dead letters (counted, not re-sent): invalid_json 1, schema 1"
    assert lines[4] == "  0.5s, 24 events/s"


def test_without_redis_nothing_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--prefix", "p", "--file", str(tmp_path / "log.jsonl")]) == 2
    assert capsys.readouterr().err.startswith("riskmon replay: no Redis: set RISKMON_REDIS_URL")


def test_the_summary_says_how_many_output_ids_were_written_and_where() -> None:
    out = Outputs("v1")
    out.messages |= {("alert", "a1", "x"), ("alert", "a2", "x"), ("task", "t1", "y")}
    out.dead_letters.add((0, 4, "not_json"))
    last = render(ReplayStats(), "log.jsonl", "p", (out, "ids.jsonl")).splitlines()[-1]
    assert last == "  output ids written to ids.jsonl: 2 alert(s), 1 task(s), 1 dead letter(s)"
    last = render(ReplayStats(), "log.jsonl", "p", (out, "-")).splitlines()[-1]
    assert last.startswith("  output ids written to standard output:")


def test_an_outputs_file_that_cannot_be_written_stops_before_the_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # a Redis that is not there: the command must not get as far as reaching for it
    monkeypatch.setenv("RISKMON_REDIS_URL", "redis://127.0.0.1:9/0")
    log = tmp_path / "log.jsonl"
    log.write_text("")
    target = tmp_path / "no-such-dir" / "ids.jsonl"
    args = ["replay", "--prefix", "p", "--file", str(log), "--outputs", str(target)]
    assert main(args) == 2
    assert capsys.readouterr().err.startswith(f"riskmon replay: cannot write {target}")
