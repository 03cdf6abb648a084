"""The inspector pool and conflicts files: exact headers, errors naming the line and field,
a digest that depends on the content only."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervision.exceptions import PoolError
from supervision.inspectors import load_pool, parse_conflicts, parse_pool, pool_digest, qualified

ROOT = Path(__file__).parents[3]
HEADER = "id,name,department,qualifications\n"


def test_the_example_pool_loads_with_its_departments() -> None:
    pool = load_pool(ROOT / "examples" / "inspectors.csv")
    assert 15 <= len(pool) <= 30
    assert {i.department for i in pool} == {"food", "drug", "quality", "general"}
    assert len(qualified(pool, "food")) >= 4 and len(qualified(pool, "")) == len(pool)


def test_qualifications_are_split_on_semicolons() -> None:
    (ins,) = parse_pool(HEADER + "X1,张某,food,food; drug\n")
    assert ins.qualifications == ("drug", "food")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,name,dept,qualifications\nX,a,b,c\n", "header must be exactly"),
        (HEADER + "X1,a,food,food\nX1,b,food,food\n", "line 3: id: 'X1' appears twice"),
        (HEADER + "X1,,food,food\n", "line 2: name"),
        (HEADER + "X1,a,food\n", "line 2: 3 fields"),
        (HEADER + "X1,a,food,food;;drug\n", "line 2: qualifications"),
        (HEADER, "no inspectors"),
    ],
)
def test_a_bad_pool_names_the_line_and_field(text: str, message: str) -> None:
    with pytest.raises(PoolError, match=message):
        parse_pool(text)


def test_conflicts_name_known_inspectors_and_valid_usccs() -> None:
    pool = parse_pool(HEADER + "X1,a,food,food\nX2,b,food,food\n")
    got = parse_conflicts("inspector_id,uscc\nX1,91610112MA6TGQ1K2M\n", pool)
    assert got == {"91610112MA6TGQ1K2M": frozenset({"X1"})}
    with pytest.raises(PoolError, match="line 2: inspector_id: 'X9'"):
        parse_conflicts("inspector_id,uscc\nX9,91610112MA6TGQ1K2M\n", pool)
    with pytest.raises(PoolError, match="line 2: uscc"):
        parse_conflicts("inspector_id,uscc\nX1,91610112MA6TGQ1K2X\n", pool)


def test_the_digest_depends_on_content_not_order() -> None:
    a = parse_pool(HEADER + "X1,a,food,food;drug\nX2,b,food,food\n")
    b = parse_pool(HEADER + "X2,b,food,food\nX1, a ,food,drug;food\n")
    c = parse_pool(HEADER + "X2,b,food,food\nX1,a,food,drug\n")
    assert pool_digest(a) == pool_digest(b) != pool_digest(c)
