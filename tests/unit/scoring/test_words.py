"""Words stored as numbers: every word the model writes has a number, and numbers never move;
model versions are stored as ids and read back by name."""

from __future__ import annotations

import hashlib
from typing import get_args

from schemas.events import (
    AbnormalReason,
    ComplaintCategory,
    EntityType,
    InspectionResult,
    PenaltyDomain,
    Severity,
)
from scoring.changes import Contribution, Profile
from scoring.fold import EnterpriseState
from scoring.store import decode_state, encode_state, version_id
from scoring.words import WORDS, decode_word, encode_word

#: sha256 of the first 60 words, one per line: stored states hold these indexes.
FIRST_60 = "f57bed25e4ef7687"


def test_the_numbers_of_stored_words_never_change() -> None:
    digest = hashlib.sha256("\n".join(WORDS[:60]).encode()).hexdigest()[:16]
    assert digest == FIRST_60, "WORDS may only grow at its end: states in Redis hold indexes"
    assert len(set(WORDS)) == len(WORDS)


def test_every_word_the_model_stores_has_a_number() -> None:
    words = {f"{d}/{s}" for d in get_args(PenaltyDomain) for s in get_args(Severity)}
    for literal in (EntityType, AbnormalReason, ComplaintCategory, InspectionResult):
        words.update(get_args(literal))
    for word in words:
        assert isinstance(encode_word(word), int), word
        assert decode_word(encode_word(word)) == word


def test_a_word_without_a_number_is_stored_as_itself() -> None:
    assert encode_word("hydrogen_refuelling/minor") == "hydrogen_refuelling/minor"
    assert decode_word("hydrogen_refuelling/minor") == "hydrogen_refuelling/minor"


def test_a_state_reads_back_as_written_with_known_and_unknown_words() -> None:
    state = EnterpriseState(
        contributions={
            "pen:X1": Contribution(
                "pen:X1", 3, 100, 37.5, 15_552_000, 9_000, 0, 7, False, "food/serious"
            ),
            "cmp:ab": Contribution("cmp:ab", 5, 200, 3.0, 0, 0, 0, 8, True, "new_category"),
        },
        asof=200,
        klass=3,
        score=40_500_000,
        due=5_000,
        profile=Profile("610112", "F5211", True, "farmers_cooperative", 50, 9),
        version="m-1",
    )
    raw = encode_state(state)
    assert decode_state(raw, {version_id("m-1"): "m-1"}) == state
    assert b"food/serious" not in raw and b"farmers_cooperative" not in raw
    assert b"new_category" in raw
    assert b"m-1" not in raw, "the model version is stored as its id"


def test_a_version_id_without_a_name_reads_as_the_id() -> None:
    raw = encode_state(EnterpriseState(asof=1, klass=1, version="m-2"))
    state = decode_state(raw, {})
    assert state is not None
    assert state.version == f"#{version_id('m-2'):08x}"
