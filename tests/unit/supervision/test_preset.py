"""Presets: the shipped ones load with their published ratios; a bad file names the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.classes import CLASSES
from supervision.exceptions import PresetError
from supervision.preset import PRESET_NAMES, load_preset

# The ratios `docs/domain.md` §3 publishes, and the values picked where it gives a range.
EXPECTED = {
    "henan-2021": (0.01, 0.02, 0.10, 0.30),
    "yancheng-2022": (0.02, 0.115, 0.40, 1.0),
    "lindian-2024": (0.04, 0.125, 0.405, 0.805),
    "bayannur-2022": (0.02, 0.05, 1.0, 1.0),
}
# The published bounds each picked value must stay within.
BOUNDS = {
    "yancheng-2022": ((0, 0.03), (0.03, 0.20), (0.30, 0.50), (0.80, 1.0)),
    "lindian-2024": ((0, 0.05), (0.05, 0.20), (0.21, 0.60), (0.61, 1.0)),
}


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_preset_loads_with_its_ratios(name: str) -> None:
    p = load_preset(name)
    assert p.name == name and p.source
    assert tuple(p.classes[c].ratio for c in CLASSES) == EXPECTED[name]
    for c, (lo, hi) in zip(CLASSES, BOUNDS.get(name, ()), strict=False):
        assert lo <= p.classes[c].ratio <= hi
    assert p.classes["A"].max_per_year == 1  # A at most once a year, everywhere


def test_lindian_writes_less_than_once_a_year_as_a_two_year_window() -> None:
    p = load_preset("lindian-2024")
    assert p.window_days("A") == 730 and p.window_days("B") == p.exclude_days
    assert p.classes["D"].max_per_year is None  # as needed
    assert load_preset("bayannur-2022").new_economy_only


def test_a_preset_file_works_too(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text(
        'name = "mine"\nsource = "test"\nexclude_days = 30\n'
        + "".join(f"[classes.{c}]\nratio = 0.5\n" for c in "ABCD")
    )
    assert load_preset(f).classes["C"].ratio == 0.5


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[classes.B]\nratio = 1.5\n", "classes.B.ratio"),
        ("[classes.B]\nratio = 0.1\nmax_per_year = 0\n", "classes.B.max_per_year"),
        ("[classes.B]\nratio = 0.1\noften = 2\n", "classes.B.often"),
        ("", "missing B"),
    ],
)
def test_an_invalid_preset_names_the_field(tmp_path: Path, body: str, message: str) -> None:
    f = tmp_path / "bad.toml"
    others = "".join(f"[classes.{c}]\nratio = 0.1\n" for c in "ACD")
    f.write_text('name = "bad"\nsource = "x"\nexclude_days = 1\n' + others + body)
    with pytest.raises(PresetError, match=message):
        load_preset(f)


def test_an_unknown_name_lists_the_presets() -> None:
    with pytest.raises(PresetError, match="henan-2021, yancheng-2022"):
        load_preset("shanghai-2099")
