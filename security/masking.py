"""Masking personal identifiers in what riskmon writes out: names and ID numbers.

``mask_name``: a person's name keeps its first and last character (张*三, 欧**锋; a name of
two characters keeps its first: 张*). ``mask_id_number``: a resident ID number (18 characters)
keeps its first four and last four (6101**********1234). ``scrub`` masks every ID number in a
free text: what a dead letter's ``dlq_detail`` or an error message may echo of a bad record.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["mask_id_number", "mask_name", "scrub"]

#: A mainland resident ID number standing alone: 17 digits and a digit or X.
_ID_NUMBER: Final = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def mask_name(name: str) -> str:
    """张三丰 -> 张*丰, 张三 -> 张*, 张 -> *."""
    n = name.strip()
    if len(n) <= 1:
        return "*" * len(n)
    if len(n) == 2:
        return n[0] + "*"
    return n[0] + "*" * (len(n) - 2) + n[-1]


def mask_id_number(number: str) -> str:
    """610113199001011234 -> 6101**********1234 (anything shorter than 9: all stars)."""
    if len(number) < 9:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def scrub(text: str) -> str:
    """``text`` with every resident ID number in it masked."""
    return _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)
