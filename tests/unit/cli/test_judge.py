"""`riskmon judge`'s table, and the README's tighter model, shipped in examples/."""

from __future__ import annotations

from cli.judge import render
from jobs.judge import Verdict
from scoring.judge import judge
from scoring.model import load_model
from tests.support.harness import ROOT


def test_the_tighter_example_differs_from_the_default_only_in_its_boundaries() -> None:
    default = load_model()
    tighter = load_model(ROOT / "examples" / "tighter.toml")
    assert tighter.version != default.version
    t = tighter.thresholds
    assert (t.b_from, t.c_from, t.d_from) == (5.0, 20.0, 45.0)
    same = {"thresholds", "version", "description"}
    assert tighter.model_dump(exclude=same) == default.model_dump(exclude=same)


def test_the_table_names_the_prefix_the_model_and_the_figures() -> None:
    pairs = [(1, 0.01)] * 6 + [(2, 0.1)] * 2 + [(3, 0.5), (4, 0.9)]
    v = Verdict(judge(pairs, 0.2), "riskmon", 1_780_000_000, "default-2026.1", unmatched=3)
    text = render(v)
    assert text.startswith("prefix 'riskmon', model default-2026.1, classes as of 2026-")
    assert "recall of C+D (the riskiest that C and D hold): 100.0%" in text
    assert text.endswith("3 enterprise(s) under the prefix are not in the truth file")
