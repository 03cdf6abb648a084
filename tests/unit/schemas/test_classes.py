"""The class names and their numbers: one order, used everywhere a class is named."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from schemas.alerts import ClassChanged
from schemas.classes import (
    CLASS_NAMES,
    CLASSES,
    RiskClass,
    class_name,
    class_number,
    name_or_none,
)


def test_classes_run_from_lowest_to_highest_risk() -> None:
    assert CLASSES == ("A", "B", "C", "D")
    assert [RiskClass[n] for n in CLASSES] == sorted(RiskClass)


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_a_number_and_its_name_convert_both_ways(number: int) -> None:
    name = class_name(number)
    assert class_number(name) == number == RiskClass[name]
    assert CLASS_NAMES[number] == name_or_none(number) == name


def test_zero_is_no_class_yet() -> None:
    assert CLASS_NAMES[0] == ""
    assert name_or_none(0) is None
    with pytest.raises(ValueError, match=r"not 1\.\.4"):
        class_name(0)


@pytest.mark.parametrize("bad", ["a", "E", "", "AA"])
def test_anything_but_a_class_name_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a class"):
        class_number(bad)


def test_an_alert_accepts_exactly_the_class_names() -> None:
    new_class = TypeAdapter(ClassChanged.model_fields["new_class"].annotation)
    assert [new_class.validate_python(n) for n in CLASSES] == list(CLASSES)
    for bad in ("E", "a", ""):
        with pytest.raises(ValidationError):
            new_class.validate_python(bad)
