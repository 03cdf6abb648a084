"""The credit-risk classes A (lowest risk) to D (highest): their names and order, defined once.

A class travels under two names. Alerts, metrics, the CLI and the API use the letter; states
in Redis, the fold and apply.lua use its number, 1 for A to 4 for D, where 0 means "no class
yet" (an enterprise seen for the first time). This module converts between them.
(apply.lua, which cannot import this, names the letters once in its own header.)

It lives in ``schemas`` rather than ``scoring`` because ``schemas/alerts.py`` needs the names
and ``scoring`` imports ``schemas``: the other way round would make a cycle.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, Literal, get_args

__all__ = [
    "CLASSES",
    "CLASS_NAMES",
    "ClassName",
    "RiskClass",
    "class_name",
    "class_number",
    "name_or_none",
]

ClassName = Literal["A", "B", "C", "D"]
#: The class names, lowest risk first.
CLASSES: Final[tuple[ClassName, ...]] = get_args(ClassName)
#: The class names by class number: ``CLASS_NAMES[k]`` for k in 1..4, and ``""`` for 0 (no
#: class yet).
CLASS_NAMES: Final[tuple[ClassName | Literal[""], ...]] = ("", *CLASSES)


class RiskClass(IntEnum):
    """A (low) to D (high); the value orders them and is what states store (CLASSES' order)."""

    A = 1
    B = 2
    C = 3
    D = 4


def class_name(number: int) -> ClassName:
    """The name of class ``number`` (1..4). Raises ValueError for any other number."""
    if not 1 <= number <= len(CLASSES):
        raise ValueError(f"class {number} is not 1..{len(CLASSES)}")
    return CLASSES[number - 1]


def name_or_none(number: int) -> ClassName | None:
    """:func:`class_name`, or None for 0 (an enterprise that had no class yet)."""
    return None if number == 0 else class_name(number)


def class_number(name: str) -> int:
    """The number of the class called ``name`` (1 for A ... 4 for D). Raises ValueError for
    anything else (names are upper case)."""
    try:
        return CLASSES.index(name) + 1
    except ValueError:
        raise ValueError(f"{name!r} is not a class ({', '.join(CLASSES)})") from None
