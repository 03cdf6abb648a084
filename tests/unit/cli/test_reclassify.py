"""`riskmon reclassify`'s summary, and its refusals before it touches Redis."""

from __future__ import annotations

from collections import Counter

import pytest

from cli.main import main
from cli.reclassify import render
from jobs.reclassify import ReclassifyStats


def test_the_summary_counts_the_skipped_and_the_moves() -> None:
    stats = ReclassifyStats(
        scanned=10,
        reevaluated=8,
        changed=3,
        transitions=Counter({("B", "C"): 2, ("A", "B"): 1}),
        classes={"A": 4, "B": 3, "C": 3, "D": 0},
        seconds=2.0,
    )
    lines = render(stats, "riskmon", "tighter-2026.1", "off (--no-alerts)").splitlines()
    assert lines[0] == "reclassified prefix 'riskmon' to model tighter-2026.1"
    assert "re-evaluated 8, already at tighter-2026.1 2; class changed 3" in lines[1]
    assert lines[2] == "  transitions: A->B 1, B->C 2"
    assert lines[4] == "  alerts: off (--no-alerts)"
    assert lines[5] == "  2.0s, 5 enterprises/s"


def test_a_prefix_with_a_glob_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RISKMON_REDIS_URL", "redis://127.0.0.1:1/0")
    assert main(["reclassify", "--prefix", "risk*"]) == 2
    assert capsys.readouterr().err == "riskmon reclassify: not a key prefix: 'risk*'\n"
