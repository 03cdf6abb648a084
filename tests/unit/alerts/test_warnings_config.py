"""The warnings file: the shipped default loads, and a bad file fails naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.warnings import WarningsError, load

GOOD = """
version = "t-1"
[[enterprise]]
id = "surge"
kind = "complaint_surge"
severity = "warning"
min_count = 5
window_days = 30
min_ratio = 3.0
trailing_days = 365
[[area]]
id = "share"
kind = "cd_share"
scope = "division"
severity = "critical"
excess_points = 10.0
min_enterprises = 30
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "warnings.toml"
    path.write_text(text, "utf-8")
    return path


def test_the_shipped_default_has_every_kind_of_rule() -> None:
    config = load()
    kinds = {r.kind for r in config.enterprise} | {r.kind for r in config.area}
    assert kinds == {
        "complaint_surge",
        "penalty_cluster",
        "address_cluster",
        "near_boundary",
        "first_d",
        "cd_share",
        "d_surge",
    }
    assert config.version


def test_a_file_of_ones_own_replaces_the_default(tmp_path: Path) -> None:
    config = load(write(tmp_path, GOOD))
    assert [r.id for r in config.enterprise] == ["surge"]
    assert config.area[0].severity == "critical"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (("min_count = 5", "min_count = 0"), "enterprise.0.complaint_surge.min_count"),
        (('severity = "warning"', 'severity = "loud"'), "enterprise.0.complaint_surge.severity"),
        (("trailing_days = 365", "trailing_days = 10"), "trailing_days must be longer"),
        (('scope = "division"', 'scope = "street"'), "area.0.cd_share.scope"),
        (('id = "share"', 'id = "surge"'), "rule id 'surge' is used twice"),
        (('kind = "cd_share"', 'kind = "nonsense"'), "area.0"),
    ],
)
def test_a_bad_file_fails_naming_the_field(
    tmp_path: Path, change: tuple[str, str], named: str
) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(WarningsError) as caught:
        load(path)
    assert named in str(caught.value)
    assert str(path) in str(caught.value)


def test_an_unreadable_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(WarningsError, match="cannot read"):
        load(tmp_path / "missing.toml")
