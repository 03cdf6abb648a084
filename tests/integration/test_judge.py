"""``riskmon judge`` on a real redis-server: a replayed synthetic district's classes against the
propensities its generator kept out of the events."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest

from cli.main import main
from district.generator import DistrictSpec, lines
from jobs.judge import read_truth
from jobs.replay import file_records, from_thread, replay
from local.feed import write_truth
from scoring.model import load_model
from scoring.store import Keys, iter_states
from streams.redis_client import connect

pytestmark = [pytest.mark.integration, pytest.mark.cluster]

PARTITIONS = 4
SPEC = DistrictSpec(now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), enterprises=1_500, seed=4)


@pytest.fixture
def district(tmp_path: Path, redis_url: str, key_prefix: str) -> Path:
    """The district replayed into ``key_prefix``; its truth CSV."""
    events = tmp_path / "district.jsonl"
    events.write_bytes(b"".join(line + b"\n" for line in lines(SPEC)))
    truth = tmp_path / "truth.csv"
    write_truth(SPEC, truth)
    asyncio.run(
        replay(
            from_thread(file_records(events, "events", PARTITIONS)),
            redis_url=redis_url,
            prefix=key_prefix,
            model=load_model(),
            partitions=PARTITIONS,
            max_event_bytes=65_536,
            processes=0,
        )
    )
    return truth


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, redis_url: str, key_prefix: str, tmp_path: Path) -> None:
    monkeypatch.setenv("RISKMON_REDIS_URL", redis_url)
    monkeypatch.setenv("RISKMON_REDIS_PREFIX", key_prefix)
    monkeypatch.setenv("RISKMON_PARTITIONS", str(PARTITIONS))
    monkeypatch.setenv("RISKMON_RUN_FILE", str(tmp_path / "run.json"))


def _judged(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert main(["judge", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_default_model_ranks_the_district_better_than_chance(
    district: Path, env: None, redis_url: str, key_prefix: str, capsys
) -> None:
    j = _judged(capsys, "--truth", str(district))
    assert j["enterprises"] == SPEC.enterprises and j["unmatched"] == 0
    assert j["riskiest"] >= SPEC.enterprises // 10
    assert j["auc"] > 0.6  # the model is built to rank them, not to guess
    a, b, c, d = (row["mean_propensity"] for row in j["rows"])
    assert a < min(b, c, d)  # A holds the least prone
    # Every class is counted once, as stored (no enterprise is lost between Redis and the CSV).
    stored = {u for _, u, _ in iter_states(connect(redis_url), Keys(key_prefix), 4)}
    assert stored == set(read_truth(district))
    assert sum(row["enterprises"] for row in j["rows"]) == len(stored)


def test_a_tighter_model_is_judged_without_replaying(
    district: Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # The README's example: examples/tighter.toml, boundaries 5 / 20 / 45, not 10 / 30 / 60.
    tighter = Path(__file__).parents[2] / "examples" / "tighter.toml"
    default, tight = (
        _judged(capsys, "--truth", str(district)),
        _judged(capsys, "--truth", str(district), "--model", str(tighter)),
    )
    assert tight["model"] == "tighter-2026.1"
    assert tight["rows"][0]["enterprises"] < default["rows"][0]["enterprises"]  # fewer in A
    assert tight["rows"][3]["enterprises"] > default["rows"][3]["enterprises"]  # more in D
    assert tight["recall_cd"] >= default["recall_cd"]  # C and D hold more of the riskiest


def test_classes_are_judged_at_one_moment_and_time_moves_them(
    district: Path, env: None, capsys
) -> None:
    now = _judged(capsys, "--truth", str(district))
    later = _judged(capsys, "--truth", str(district), "--asof", "2031-01-01T00:00:00+00:00")
    assert later["asof"] > now["asof"]
    # Five years on, penalties have faded and listings of the past have expired: fewer in D.
    assert later["rows"][3]["enterprises"] < now["rows"][3]["enterprises"]


def test_a_truth_file_without_propensities_is_refused_naming_it(
    env: None, tmp_path: Path, capsys
) -> None:
    bad = tmp_path / "truth.csv"
    bad.write_text("uscc,division\n91610112MA6TGQ1K2M,610112\n")
    assert main(["judge", "--truth", str(bad)]) == 2
    assert f"{bad}: needs the columns uscc and propensity" in capsys.readouterr().err


def test_an_empty_prefix_is_an_error_not_a_perfect_score(district: Path, env: None, capsys) -> None:
    assert main(["judge", "--truth", str(district), "--prefix", "nothing-here"]) == 1
    assert "no enterprise to judge" in capsys.readouterr().err
