"""The unified social credit code (USCC, 统一社会信用代码) of GB 32100-2015 (pure, no I/O).

Layout, 18 characters, positions counted from 1:

====== =====================================================================
1      registration authority (``9`` = market regulation)
2      entity type (for authority 9: 1 enterprise, 2 individual business,
       3 farmers' cooperative)
3-8    GB/T 2260 division code of the registering authority (6 digits)
9-17   organisation code (GB 11714): an 8-character body and its own check
       character at position 17
18     GB 32100 check character over positions 1-17
====== =====================================================================

Every character comes from :data:`ALPHABET` (value = index); the check character makes
``Σ value(i) × weight(i)`` over all 18 positions (weight 1 at position 18) divisible by 31.
Because 31 is prime and no weight is 0 mod 31, any single-character substitution changes the
sum by ``weight × difference ≢ 0 (mod 31)``: every such error is detected.

Case: codes are upper case by standard. :func:`validate` does **not** normalise; a lower-case
code is rejected with a reason, so a feed that lower-cases codes is seen and fixed upstream
instead of being silently split from the upper-case records of the same enterprise.

Not enforced by :func:`validate`: the GB 11714 check character at position 17 and the meaning
of positions 1-2 (the code tables grow). Positions 3-8 must be digits (a GB/T 2260 code is).
"""

from __future__ import annotations

import functools
import random
from typing import Annotated, Final

from pydantic import AfterValidator, WithJsonSchema

__all__ = [
    "ALPHABET",
    "LENGTH",
    "USCC",
    "WEIGHTS",
    "check_char",
    "division_of",
    "entity_type_of",
    "is_valid",
    "make_uscc",
    "org_check_char",
    "problem",
    "validate",
]

#: GB 32100 character set; a character's value is its index. No I, O, S, V, Z.
ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: Length of a USCC.
LENGTH: Final = 18
#: Weights of positions 1..17: 3^(i-1) mod 31.
WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))

_VALUE: Final = {c: i for i, c in enumerate(ALPHABET)}
_DIGITS: Final = frozenset("0123456789")
_DIVISION: Final = range(2, 8)  # 0-based slice of positions 3-8

# GB 11714 organisation code: body characters are digits and A-Z (A=10 .. Z=35).
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_VALUE: Final = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")}


def _char_error(ch: str, pos: int, allowed: str) -> ValueError:
    hint = " (codes are upper case; lower case is not accepted)" if ch.upper() != ch else ""
    return ValueError(f"character {ch!r} not allowed at position {pos}: expected {allowed}{hint}")


def _check_chars(chars: str) -> None:
    """Raise ValueError for the first character not allowed at its position."""
    for i, ch in enumerate(chars):
        if i in _DIVISION:
            if ch not in _DIGITS:
                raise _char_error(ch, i + 1, "a digit (division code)")
        elif ch not in _VALUE:
            raise _char_error(ch, i + 1, "one of " + ALPHABET)


def _check_value(first17: str) -> str:
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[-total % 31]


def check_char(first17: str) -> str:
    """The GB 32100 check character (position 18) for the first 17 characters of a code.

    Raises ValueError if ``first17`` is not 17 characters allowed at their positions.
    """
    if len(first17) != LENGTH - 1:
        raise ValueError(f"wrong length: expected {LENGTH - 1} characters, got {len(first17)}")
    _check_chars(first17)
    return _check_value(first17)


# Valid codes recur in a stream (every event of an enterprise): remember them. Invalid ones
# raise, and functools does not cache a raise, so each is checked (and reported) every time.
@functools.lru_cache(maxsize=1 << 16)
def validate(code: str) -> str:
    """Return ``code`` unchanged if it is a valid USCC, else raise ValueError saying why.

    The reason is one of: wrong length, a character not allowed at position N, or a wrong
    check character (expected X, got Y). It is safe for a dead-letter header: it quotes at most
    one character of the input. Used as a pydantic ``AfterValidator`` (see :data:`USCC`).
    """
    if len(code) != LENGTH:
        raise ValueError(f"wrong length: expected {LENGTH} characters, got {len(code)}")
    _check_chars(code)
    expected = _check_value(code[:17])
    if code[17] != expected:
        raise ValueError(f"wrong check character: expected {expected!r}, got {code[17]!r}")
    return code


def is_valid(code: str) -> bool:
    """True iff :func:`validate` accepts ``code``."""
    try:
        validate(code)
    except ValueError:
        return False
    return True


#: A validated USCC as a pydantic 2 field type.
#: The shape (length and alphabet) is also in the JSON Schema, so producers can check it; the
#: check character needs :func:`validate`.
USCC = Annotated[
    str,
    AfterValidator(validate),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
            "description": "unified social credit code (GB 32100-2015), check character valid",
        }
    ),
]


def division_of(code: str) -> str:
    """The 6-digit GB/T 2260 division of the registering authority (positions 3-8).

    This is where the code was *issued*, not necessarily where the firm is registered.
    Raises ValueError if ``code`` is not a valid USCC.
    """
    return validate(code)[2:8]


def entity_type_of(code: str) -> str:
    """The entity type character (position 2). Raises ValueError if ``code`` is invalid."""
    return validate(code)[1]


def org_check_char(body: str) -> str:
    """The GB 11714 check character of an 8-character organisation-code body.

    ``11 - (Σ value × weight) mod 11`` with weights 3,7,9,10,5,8,4,2 and values 0-9, A=10..Z=35;
    10 is written ``X`` and 11 is written ``0``. Raises ValueError on a malformed body.
    """
    if len(body) != 8 or any(c not in _ORG_VALUE for c in body):
        raise ValueError(f"organisation code body must be 8 characters of 0-9, A-Z: {body!r}")
    c = 11 - sum(_ORG_VALUE[ch] * w for ch, w in zip(body, _ORG_WEIGHTS, strict=True)) % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def make_uscc(rng: random.Random, division: str = "610112", entity_type: str = "1") -> str:
    """A synthetic, valid USCC issued by market regulation (authority ``9``), for test data.

    Positions: ``9``, ``entity_type``, ``division``, an 8-character organisation body drawn from
    :data:`ALPHABET` with its GB 11714 check character, then the GB 32100 check character.
    Deterministic for a given ``rng`` state. Raises ValueError if ``division`` is not 6 digits
    or ``entity_type`` is not one character of :data:`ALPHABET`.
    """
    if len(division) != 6 or not set(division) <= _DIGITS:
        raise ValueError(f"division must be 6 digits (GB/T 2260), got {division!r}")
    if len(entity_type) != 1 or entity_type not in _VALUE:
        raise ValueError(f"entity_type must be one character of {ALPHABET}, got {entity_type!r}")
    while True:
        body = "".join(rng.choice(ALPHABET) for _ in range(8))
        org_check = org_check_char(body)
        # GB 11714 checks are digits or X, all in ALPHABET today; the redraw keeps the result
        # valid even if that coincidence is ever broken by a change here.
        if org_check in _VALUE:
            break
    first17 = "9" + entity_type + division + body + org_check
    return first17 + _check_value(first17)


def problem(code: str) -> str | None:
    """Why ``code`` is no USCC, in the words a user needs, or None if it is one. A code with
    lower-case letters is told so first (with the upper-case code, if that one is valid)."""
    if is_valid(code):
        return None
    if code != code.upper():
        upper = code.upper()
        try:
            validate(upper)
        except ValueError as exc:
            hint = f"and {upper} is not valid either: {exc}"
        else:
            hint = f"did you mean {upper}?"
        return f"{code!r} is not a valid USCC: codes are upper case ({hint})"
    try:
        validate(code)
    except ValueError as exc:
        return f"{code!r} is not a valid USCC (GB 32100): {exc}"
    return None
