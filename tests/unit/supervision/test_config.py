"""The supervision configuration: the shipped file loads, and a bad file fails at start with
an error that names the field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from supervision.config import load
from supervision.exceptions import ConfigError

DEFAULT = Path(__file__).parents[3] / "supervision" / "default.toml"


def doc() -> dict[str, Any]:
    return tomllib.loads(DEFAULT.read_text("utf-8"))


def dump(d: dict[str, Any], path: Path) -> Path:
    """A minimal TOML writer for the shapes of the supervision file."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return f'"{v}"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return str(v)

    lines: list[str] = []

    def table(name: str, t: dict[str, Any]) -> None:
        lines.append(f"[{name}]")
        for k, v in t.items():
            if isinstance(v, dict) and name != "tasks.due_days":
                continue
            lines.append(f'"{k}" = {value(v)}')
        for k, v in t.items():
            if isinstance(v, dict) and name != "tasks.due_days":
                table(f"{name}.{k}", v)

    for k, v in d.items():
        if not isinstance(v, dict):
            lines.append(f"{k} = {value(v)}")
    for k, v in d.items():
        if isinstance(v, dict):
            table(k, v)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_the_shipped_file_is_the_default_and_says_the_issues_numbers() -> None:
    cfg = load(None)
    assert cfg == load(DEFAULT)
    assert cfg.observation.days == 730
    assert cfg.observation.bottom_line_domains == {"food", "drug", "special_equipment", "quality"}
    assert cfg.reminders.repair_days("price") == 180
    assert cfg.reminders.repair_days("special_equipment") == 365
    assert cfg.tasks.days("random_plan", "A") > cfg.tasks.days("random_plan", "D")


def test_a_copy_written_back_loads_the_same(tmp_path: Path) -> None:
    assert load(dump(doc(), tmp_path / "s.toml")) == load(None)


def test_every_value_in_the_shipped_file_has_its_reason_beside_it() -> None:
    lines = DEFAULT.read_text("utf-8").splitlines()

    def is_value(line: str) -> bool:
        return "=" in line and not line.startswith("#")

    for n, line in enumerate(lines):
        if is_value(line):
            above = n - 1
            while is_value(lines[above]):  # a group of values shares its comment
                above -= 1
            assert lines[above].startswith("#"), f"line {n + 1} has no reason above: {line}"


def _set(d: dict[str, Any], path: str, v: Any) -> None:
    *head, last = path.split(".")
    for k in head:
        d = d[k]
    if v is _DELETE:
        del d[last]
    else:
        d[last] = v


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("observation.days", -1, "observation.days:"),
        ("observation.days", "two years", "observation.days:"),
        ("observation.complaint_threshold", 0, "observation.complaint_threshold:"),
        ("observation.safety_categories", ["poison"], "observation.safety_categories."),
        ("observation.bottom_line_domains", ["tax"], "observation.bottom_line_domains."),
        ("observation.minor_triggers", ["gossip"], "observation.minor_triggers."),
        ("observation.on_site_triggers", ["complaint"], "observation.on_site_triggers."),
        ("observation.trigger_window_days", _DELETE, "observation.trigger_window_days:"),
        ("observation.colour", "red", "observation.colour:"),
        ("tasks.due_days.random_plan", {"A": 1, "B": 2, "C": 3}, "due_days.random_plan:"),
        ("tasks.due_days.class_d", _DELETE, "class_d"),
        ("tasks.due_days.class_d.D", 0, "tasks.due_days.class_d.D:"),
        ("reminders.penalty_repair_days", 0, "reminders.penalty_repair_days:"),
        ("version", "", "version:"),
    ],
)
def test_an_error_names_the_field(tmp_path: Path, path: str, value: Any, named: str) -> None:
    d = doc()
    _set(d, path, value)
    with pytest.raises(ConfigError) as err:
        load(dump(d, tmp_path / "bad.toml"))
    assert named in str(err.value)
    assert str(tmp_path / "bad.toml") in str(err.value)


def test_an_unreadable_or_broken_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("[observation\n", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(tmp_path / "broken.toml")
