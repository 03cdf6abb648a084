"""`riskmon replay`'s summary, and a file it cannot read."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cli.main import main
from cli.replay import render
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
