"""``riskmon generate``: the pacing, and the command's output as a user sees it."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

from local.feed import Pacer
from schemas.codec import decode_event

ROOT = Path(__file__).resolve().parents[3]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_holds_the_rate_without_sleeping_per_event() -> None:
    clock = FakeClock()
    pacer = Pacer(500.0, tick_seconds=0.02, clock=clock, sleep=clock.sleep)
    for _ in range(5_000):
        pacer()
    assert abs(clock.now - 5_000 / 500.0) < 0.03  # 5,000 events at 500/s take 10 s
    assert len(clock.slept) <= 5_000 // 10  # batched: one sleep per >= 10 events at 500/s


def test_pacer_without_a_rate_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(None, clock=clock, sleep=clock.sleep)
    for _ in range(1_000):
        pacer()
    assert clock.slept == [] and pacer.count == 1_000


def generate(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "generate", *args],
        capture_output=True,
        timeout=120,
        cwd=ROOT,
    )


def test_generate_writes_the_same_bytes_for_the_same_seed_and_now(tmp_path: Path) -> None:
    common = ("--enterprises", "200", "--now", "2026-11-01T00:00:00+08:00")
    a = generate(*common, "--seed", "4", "--out", "-")
    b = generate(
        *common,
        "--seed",
        "4",
        "--out",
        str(tmp_path / "b.jsonl"),
        "--truth",
        str(tmp_path / "truth.csv"),
    )
    c = generate(*common, "--seed", "5")
    assert a.returncode == b.returncode == c.returncode == 0, a.stderr
    assert a.stdout == (tmp_path / "b.jsonl").read_bytes()
    assert a.stdout != c.stdout
    lines = a.stdout.splitlines()
    assert b"generated %d event(s)" % len(lines) in a.stderr
    subjects = {decode_event(line).subject for line in lines}
    assert len(subjects) == 200
    # the truth is beside the events, never in them
    with (tmp_path / "truth.csv").open() as f:
        truth = list(csv.DictReader(f))
    assert {row["uscc"] for row in truth} == subjects
    assert all(0 <= float(row["propensity"]) <= 1 for row in truth)
    assert b"propensity" not in a.stdout
