"""GB 32100-2015 USCC: validation reasons, the generator, and the mod-31 detection property."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas.uscc import (
    ALPHABET,
    USCC,
    WEIGHTS,
    check_char,
    division_of,
    entity_type_of,
    is_valid,
    make_uscc,
    org_check_char,
    validate,
)

# Published real codes (docs/domain.md §5).
VALID = ["91110000600037341L", "91110108551385082Q", "91440101MA5CJQ4N59", "9135021359498494XQ"]


def test_weights_are_powers_of_three_mod_31_as_published() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", VALID)
def test_published_codes_validate(code: str) -> None:
    assert validate(code) == code
    assert is_valid(code)
    assert check_char(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91350203M0001QAY9B", "wrong check character: expected '9', got 'B'"),
        ("91110000600037341l", "character 'l' not allowed at position 18"),
        ("91440101ma5cjq4n59", "character 'm' not allowed at position 9"),
        ("91110000600037341", "wrong length: expected 18 characters, got 17"),
        ("91110000600037341LL", "wrong length: expected 18 characters, got 19"),
        ("", "wrong length: expected 18 characters, got 0"),
        (" 91110000600037341L", "wrong length"),
        ("9I110000600037341L", "character 'I' not allowed at position 2"),
        ("91110000600037341O", "character 'O' not allowed at position 18"),
        ("91A10000600037341L", "character 'A' not allowed at position 3"),
        ("9111000060003734-L", "character '-' not allowed at position 17"),
    ],
)
def test_invalid_codes_are_rejected_with_a_precise_reason(code: str, reason: str) -> None:
    with pytest.raises(ValueError, match="^" + reason.replace("(", r"\(")) as info:
        validate(code)
    assert not is_valid(code)
    # Dead-letter headers must not echo the whole (possibly huge or personal) input.
    if len(code) > 1:
        assert code not in str(info.value)


def test_lower_case_is_rejected_not_normalised() -> None:
    code = VALID[2].lower()
    with pytest.raises(ValueError, match="upper case"):
        validate(code)
    assert validate(code.upper()) == code.upper()


def test_pydantic_field_carries_the_reason() -> None:
    class M(BaseModel):
        uscc: USCC

    assert M(uscc=VALID[0]).uscc == VALID[0]
    with pytest.raises(ValidationError, match="wrong check character: expected '9', got 'B'"):
        M(uscc="91350203M0001QAY9B")


def test_parts() -> None:
    assert division_of("91440101MA5CJQ4N59") == "440101"
    assert entity_type_of("91440101MA5CJQ4N59") == "1"
    with pytest.raises(ValueError, match="wrong check character"):
        division_of("91350203M0001QAY9B")


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="wrong length: expected 17"):
        check_char(VALID[0])
    with pytest.raises(ValueError, match="position 5"):
        check_char("9111Z000600037341")


@pytest.mark.parametrize("code", VALID)
def test_org_check_char_matches_the_published_codes(code: str) -> None:
    # Position 17 of a real USCC is the GB 11714 check character of positions 9-16.
    assert org_check_char(code[8:16]) == code[16]


def test_org_check_chars_are_always_in_the_uscc_alphabet() -> None:
    # 11 - r for r in 0..10 gives 1..11, written 1-9, X, 0: all in ALPHABET.
    bodies = ["".join(random.Random(i).choices(ALPHABET, k=8)) for i in range(2000)]
    assert {org_check_char(b) for b in bodies} == set("0123456789X")


def test_make_uscc_rejects_bad_arguments() -> None:
    rng = random.Random(0)
    with pytest.raises(ValueError, match="division"):
        make_uscc(rng, division="61011")
    with pytest.raises(ValueError, match="entity_type"):
        make_uscc(rng, entity_type="S")


def test_make_uscc_is_deterministic_for_a_seed() -> None:
    a = [make_uscc(random.Random(7)) for _ in range(2)]
    assert a[0] == a[1]


@given(
    seed=st.integers(min_value=0, max_value=2**32),
    division=st.text(alphabet="0123456789", min_size=6, max_size=6),
    entity_type=st.sampled_from("123"),
)
def test_every_generated_code_validates(seed: int, division: str, entity_type: str) -> None:
    code = make_uscc(random.Random(seed), division, entity_type)
    assert validate(code) == code
    assert code[0] == "9"
    assert division_of(code) == division
    assert entity_type_of(code) == entity_type
    assert org_check_char(code[8:16]) == code[16]


def _weighted_sum(code: str) -> int:
    return sum(ALPHABET.index(c) * w for c, w in zip(code, (*WEIGHTS, 1), strict=True))


@given(
    code=st.one_of(
        st.sampled_from(VALID),
        st.integers(min_value=0, max_value=2**32).map(lambda s: make_uscc(random.Random(s))),
    )
)
def test_every_single_character_substitution_is_detected(code: str) -> None:
    assert _weighted_sum(code) % 31 == 0
    for pos in range(18):
        for ch in ALPHABET:
            if ch == code[pos]:
                continue
            wrong = code[:pos] + ch + code[pos + 1 :]
            # The arithmetic property itself (independent of positional rules): the weighted sum
            # over all 18 positions is no longer 0 mod 31 ...
            assert _weighted_sum(wrong) % 31 != 0, (code, pos, ch)
            # ... and so validate rejects it.
            assert not is_valid(wrong), (code, pos, ch)
