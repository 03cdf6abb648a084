from __future__ import annotations

from typing import Any

import pytest

from console.filters import FilterError, Place, parse_filter, place_of

CLASS_CHANGE = {
    "type": "riskmon.alert.class_changed",
    "subject": "91610112MA6TGQ1K2M",
    "data": {"uscc": "91610112MA6TGQ1K2M"},
}
WARNING = {
    "type": "riskmon.alert.warning",
    "subject": "91610112MA6TGQ1K2M",
    "data": {"uscc": "91610112MA6TGQ1K2M", "division": "610112", "industry": "H62"},
}
REGION = {"type": "riskmon.alert.region", "subject": "division:610112", "data": {}}
INDUSTRY = {"type": "riskmon.alert.industry", "subject": "industry:C13", "data": {}}


@pytest.mark.parametrize(
    ("doc", "place"),
    [
        (CLASS_CHANGE, Place(None, None, "91610112MA6TGQ1K2M")),
        (WARNING, Place("610112", "H62", "91610112MA6TGQ1K2M")),
        (REGION, Place("610112", None, None)),
        (INDUSTRY, Place(None, "C13", None)),
    ],
)
def test_where_a_message_stands(doc: dict[str, Any], place: Place) -> None:
    assert place_of(doc) == place


def test_a_class_change_needs_its_registration_looked_up_and_a_warning_does_not() -> None:
    assert place_of(CLASS_CHANGE).needs_lookup
    assert not place_of(WARNING).needs_lookup
    assert not place_of(REGION).needs_lookup


@pytest.mark.parametrize(
    ("query", "etype", "place", "shown"),
    [
        ({}, "riskmon.task.created", None, True),
        ({"types": "riskmon.alert."}, "riskmon.alert.warning", None, True),
        ({"types": "riskmon.alert."}, "riskmon.task.created", None, False),
        (
            {"types": "riskmon.task.created,riskmon.alert.region"},
            "riskmon.alert.region",
            None,
            True,
        ),
        ({"types": "riskmon.task.created"}, "riskmon.task.overdue", None, False),
        ({"division": "6101"}, "riskmon.alert.class_changed", Place("610112", "H62", "u"), True),
        ({"division": "6101"}, "riskmon.alert.class_changed", Place("110108", "H62", "u"), False),
        ({"division": "6101"}, "riskmon.alert.class_changed", Place(None, None, "u"), False),
        ({"division": "6101"}, "riskmon.alert.class_changed", None, False),
        ({"industry": "h"}, "riskmon.alert.warning", Place("610112", "H6210", "u"), True),
        ({"industry": "C"}, "riskmon.alert.industry", Place(None, "C13", None), True),
        (
            {"industry": "C", "division": "61"},
            "riskmon.alert.industry",
            Place(None, "C13", None),
            False,
        ),
    ],
)
def test_what_a_filter_shows(
    query: dict[str, str], etype: str, place: Place | None, shown: bool
) -> None:
    assert parse_filter(query).admits(etype, place) is shown


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"types": "Riskmon Alert"}, "types"),
        ({"types": ",".join(f"t{i}" for i in range(40))}, "types"),
        ({"division": "61a"}, "division"),
        ({"division": "6101123"}, "division"),
        ({"industry": "Z1"}, "industry"),
    ],
)
def test_a_bad_filter_is_refused_naming_its_parameter(query: dict[str, str], named: str) -> None:
    with pytest.raises(FilterError, match=named):
        parse_filter(query)
