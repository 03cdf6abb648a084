"""``--scope KEY=VALUE``: what each key matches, and errors naming the argument."""

from __future__ import annotations

import pytest

from supervision.exceptions import ScopeError
from supervision.scope import parse_scope

RESTAURANT = ("610112", "H6210", "enterprise")
MILL = ("610116", "C1311", "enterprise")
PHARMACY = ("610112", "F5251", "individual_business")
BOILERS = ("610104", "C3411", "enterprise")


@pytest.mark.parametrize(
    ("items", "inside", "outside"),
    [
        ([], [RESTAURANT, MILL, PHARMACY], []),
        (["division=6101"], [RESTAURANT, MILL], []),
        (["division=610112"], [RESTAURANT, PHARMACY], [MILL, BOILERS]),
        (["division=610112", "division=610116"], [RESTAURANT, MILL], [BOILERS]),
        (["industry=C"], [MILL, BOILERS], [RESTAURANT]),
        (["industry=13"], [MILL], [BOILERS, RESTAURANT]),
        (["industry=C34"], [BOILERS], [MILL]),
        (["entity_type=individual_business"], [PHARMACY], [RESTAURANT]),
        (["domain=food"], [RESTAURANT, MILL], [PHARMACY, BOILERS]),
        (["domain=drug"], [PHARMACY], [RESTAURANT]),
        (["domain=special_equipment"], [BOILERS], [MILL]),
        (["domain=quality"], [MILL, BOILERS], [RESTAURANT, PHARMACY]),
        (["domain=food", "division=610112"], [RESTAURANT], [MILL, PHARMACY]),
    ],
)
def test_a_scope_covers_what_it_says(
    items: list[str], inside: list[tuple[str, str, str]], outside: list[tuple[str, str, str]]
) -> None:
    scope = parse_scope(items)
    for ent in inside:
        assert scope.covers(*ent), ent
    for ent in outside:
        assert not scope.covers(*ent), ent


def test_the_domain_is_the_plans_and_recorded() -> None:
    scope = parse_scope(["domain=food", "division=610112"])
    assert scope.domain == "food"
    assert scope.content() == {"division": ["610112"], "domain": ["food"]}


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("division", "expected KEY=VALUE"),
        ("region=610112", "unknown key 'region'"),
        ("division=61a", "division=61a"),
        ("industry=C1", "industry=C1"),
        ("entity_type=company", "entity_type=company"),
        ("domain=tobacco", "domain=tobacco"),
    ],
)
def test_a_bad_scope_names_the_argument(item: str, message: str) -> None:
    with pytest.raises(ScopeError, match=message):
        parse_scope([item])


def test_one_domain_only() -> None:
    with pytest.raises(ScopeError, match="at most one key domain"):
        parse_scope(["domain=food", "domain=drug"])
