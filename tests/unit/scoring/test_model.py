"""Loading a scoring model: the default loads; a broken file fails at start, naming the field.

Each broken file is the shipped default with one edit to its TOML text, so the failure is caused
by that edit and nothing else.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from scoring.exceptions import ModelError, ScoringError
from scoring.model import DEFAULT_MODEL, ScoringModel, load_model

DEFAULT_TEXT = resources.files("scoring.models").joinpath(DEFAULT_MODEL).read_text("utf-8")


def edited(old: str, new: str) -> str:
    assert DEFAULT_TEXT.count(old) == 1, f"{old!r} must occur once in the default model"
    return DEFAULT_TEXT.replace(old, new)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_default_model_loads() -> None:
    model = load_model()
    assert isinstance(model, ScoringModel)
    assert model.version == "default-2026.1"
    t = model.thresholds
    assert (t.b_from, t.c_from, t.d_from) == (10.0, 30.0, 60.0)
    assert model.abnormal_list.min_class == "C"
    assert model.serious_violation.min_class == "D"


def test_the_default_loads_the_same_from_a_path(tmp_path: Path) -> None:
    assert load_model(write(tmp_path, DEFAULT_TEXT)) == load_model()


def test_a_model_is_frozen() -> None:
    model = load_model()
    with pytest.raises(ValueError, match="frozen"):
        model.version = "other"  # type: ignore[misc]


BROKEN: list[tuple[str, str, str, tuple[str, ...]]] = [
    # (case, old text, new text, fragments the message must contain)
    ("thresholds not increasing", "c_from = 30.0", "c_from = 5.0", ("thresholds",)),
    ("thresholds equal", "d_from = 60.0", "d_from = 30.0", ("thresholds",)),
    ("threshold zero", "b_from = 10.0", "b_from = 0", ("thresholds.b_from",)),
    ("missing threshold", "d_from = 60.0\n", "", ("thresholds.d_from",)),
    (
        "missing points_by_severity.grave",
        "serious = 25.0, grave = 45.0 }",
        "serious = 25.0 }",
        ("penalty", "points_by_severity", "grave"),
    ),
    (
        "unknown severity",
        "grave = 45.0 }",
        "grave = 45.0, fatal = 99.0 }",
        ("penalty.points_by_severity.fatal",),
    ),
    (
        "negative penalty points with half_life_days",
        "minor = 4.0,",
        "minor = -4.0,",
        ("penalty", "half_life_days"),
    ),
    (
        "negative fine-step points with half_life_days",
        "{ from_cny = 10_000, points = 2.0 }",
        "{ from_cny = 10_000, points = -20.0 }",
        ("penalty", "half_life_days"),
    ),
    (
        "complaint credit with half_life_days",
        "points = 3.0\nhalf_life_days = 90",
        "points = -3.0\nhalf_life_days = 90",
        ("complaint", "half_life_days"),
    ),
    (
        "inspection credit that fades by half-life",
        "[inspection]\n",
        "[inspection]\nhalf_life_days = 90\n",
        ("inspection", "half_life_days"),
    ),
    ("unknown top-level key", 'description = "', 'colour = "red"\ndescription = "', ("colour",)),
    (
        "unknown key in a rule",
        "key_domain_multiplier = 1.5",
        "key_domain_multiplier = 1.5\nkey_domian_days = 400",
        ("penalty.key_domian_days",),
    ),
    ("unknown dimension", "social = 30.0", "social = 30.0\nweather = 1.0", ("weather",)),
    ("missing dimension cap", "relations = 20.0\n", "", ("dimension_caps", "relations")),
    (
        "fine steps out of order",
        "{ from_cny = 10_000, points = 2.0 },\n    { from_cny = 100_000, points = 5.0 },",
        "{ from_cny = 100_000, points = 5.0 },\n    { from_cny = 10_000, points = 2.0 },",
        ("penalty", "fine_steps"),
    ),
    ("unknown min_class", 'min_class = "C"', 'min_class = "E"', ("abnormal_list.min_class",)),
    (
        "missing abnormal-list reason",
        "annual_report_missing = 10.0, ",
        "",
        ("abnormal_list",),
    ),
    (
        "missing inspection result",
        ", refused = 25.0 }",
        " }",
        ("inspection",),
    ),
    ("version with a space", 'version = "default-2026.1"', 'version = "my model"', ("version",)),
    ("missing version", 'version = "default-2026.1"\n', "", ("version",)),
    ("points beyond 1000", "grave = 45.0", "grave = 4500.0", ("penalty.points_by_severity.grave",)),
    (
        "impact of zero days",
        "impact_days = 730\nkey",
        "impact_days = 0\nkey",
        ("penalty.impact_days",),
    ),
    (
        "multiplier below 1",
        "key_domain_multiplier = 1.5",
        "key_domain_multiplier = 0.5",
        ("penalty.key_domain_multiplier",),
    ),
    ("missing section", "[complaint]\n", "[complaint_rule]\n", ("complaint",)),
]


MODEL_BUGS: dict[str, pytest.MarkDecorator] = {}


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        pytest.param(old, new, frags, id=case, marks=MODEL_BUGS.get(case, ()))
        for case, old, new, frags in BROKEN
    ],
)
def test_a_broken_model_fails_naming_the_field(
    tmp_path: Path, old: str, new: str, fragments: tuple[str, ...]
) -> None:
    path = write(tmp_path, edited(old, new))
    with pytest.raises(ModelError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    assert isinstance(info.value, ScoringError)
    assert info.value.retryable is False


def test_each_problem_of_a_file_is_reported(tmp_path: Path) -> None:
    text = edited("c_from = 30.0", "c_from = 5.0").replace(
        'description = "', 'colour = "red"\ndescription = "'
    )
    with pytest.raises(ModelError) as info:
        load_model(write(tmp_path, text))
    assert "thresholds" in str(info.value)
    assert "colour" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("version = ", id="truncated"),
        pytest.param("version: default\nthresholds: {}\n", id="yaml"),
        pytest.param(DEFAULT_TEXT.replace("[thresholds]", "[thresholds", 1), id="unclosed table"),
        pytest.param(
            DEFAULT_TEXT.replace("[thresholds]", "version = 'x'\n[thresholds]"), id="dup key"
        ),
    ],
)
def test_a_file_that_is_not_toml_says_so(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ModelError, match="not valid TOML") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_a_binary_file_fails_as_a_model_error(tmp_path: Path) -> None:
    path = tmp_path / "model.toml"
    path.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ModelError) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "no-such-model.toml"
    with pytest.raises(ModelError, match="cannot read") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_a_directory_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot read"):
        load_model(tmp_path)


def test_an_empty_file_names_the_missing_sections(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        load_model(write(tmp_path, ""))
    for section in ("version", "thresholds", "penalty", "complaint", "inspection"):
        assert section in str(info.value)
