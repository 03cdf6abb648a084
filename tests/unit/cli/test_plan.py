"""``riskmon plan`` without servers: a bad preset, scope or pool stops it with one line before
it looks for Redis or Kafka; ``verify`` exits 0 or 1 naming the first difference."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from cli.main import main
from schemas.uscc import make_uscc
from supervision.eligibility import Entry
from supervision.inspectors import load_pool
from supervision.plan import make_plan
from supervision.preset import load_preset
from supervision.scope import Scope

ROOT = Path(__file__).parents[3]
POOL = ROOT / "examples" / "inspectors.csv"


@pytest.fixture(autouse=True)
def _no_servers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("RISKMON_REDIS_URL", "RISKMON_KAFKA_BOOTSTRAP", "RISKMON_WEB_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RISKMON_RUN_FILE", str(tmp_path / "run.json"))


def _draw(*extra: str) -> list[str]:
    return ["plan", "draw", "--name", "n", "--seed", "1", "--inspectors", str(POOL), *extra]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (_draw("--preset", "nowhere-2030"), "no preset 'nowhere-2030'"),
        (_draw("--preset", "henan-2021", "--scope", "region=61"), "unknown key 'region'"),
        (_draw("--preset", "henan-2021", "--scope", "domain=tobacco"), "domain=tobacco"),
        (
            [
                "plan",
                "draw",
                "--preset",
                "henan-2021",
                "--name",
                "n",
                "--seed",
                "1",
                "--inspectors",
                str(ROOT / "README.md"),
            ],
            "header must be exactly id,name,department,qualifications",
        ),
        (_draw("--preset", "henan-2021"), "no Kafka: set RISKMON_KAFKA_BOOTSTRAP"),
    ],
)
def test_draw_stops_with_one_line_naming_the_problem(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("riskmon plan: ") and message in err
    assert len(err.strip().splitlines()) == 1


def _plan_file(tmp_path: Path) -> Path:
    rng = random.Random(2)
    snap = [Entry(make_uscc(rng), "C") for _ in range(30)]
    plan = make_plan(
        name="n",
        preset=load_preset("henan-2021"),
        scope=Scope(),
        seed=1,
        per_task=2,
        model_version="m",
        asof=1_780_000_000,
        snapshot=snap,
        pool=load_pool(POOL),
    )
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def test_verify_exits_0_then_1_naming_the_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _plan_file(tmp_path)
    assert main(["plan", "verify", str(path)]) == 0
    assert "verified" in capsys.readouterr().out
    plan = json.loads(path.read_text())
    plan["tasks"][0]["inspectors"] = ["INS-020", "INS-019"]
    path.write_text(json.dumps(plan))
    assert main(["plan", "verify", str(path)]) == 1
    err = capsys.readouterr().err
    assert "does not verify: tasks[0].inspectors[0]: recorded 'INS-020'" in err


def test_verify_names_an_unreadable_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    assert main(["plan", "verify", str(bad)]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["plan", "verify", str(tmp_path / "missing.json")]) == 2
