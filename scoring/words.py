"""Words stored as numbers.

A contribution's reference (a penalty's ``domain/severity``, a listing's reason, a complaint's
category, an inspection's result) and a profile's entity type are one of a few dozen words, yet
were most of an enterprise's stored bytes. They are stored as their index in :data:`WORDS`, one
byte of MessagePack; a word not in the table is stored as itself, so nothing is ever lost.

The table only grows at its end: an index is stored data, and the test suite pins the order.
apply.lua never reads these fields, it only keeps them.
"""

from __future__ import annotations

__all__ = ["WORDS", "decode_word", "encode_word"]

WORDS: tuple[str, ...] = (
    "", "enterprise", "individual_business", "farmers_cooperative", "annual_report_missing",
    "information_not_disclosed", "false_information", "unreachable_at_address", "quality",
    "price", "contract", "advertising", "food_safety", "service", "other", "no_problem",
    "corrected", "problems_found", "not_at_address", "refused", "food/minor", "food/ordinary",
    "food/serious", "food/grave", "drug/minor", "drug/ordinary", "drug/serious", "drug/grave",
    "special_equipment/minor", "special_equipment/ordinary", "special_equipment/serious",
    "special_equipment/grave", "quality/minor", "quality/ordinary", "quality/serious",
    "quality/grave", "price/minor", "price/ordinary", "price/serious", "price/grave",
    "consumer_protection/minor", "consumer_protection/ordinary", "consumer_protection/serious",
    "consumer_protection/grave", "advertising/minor", "advertising/ordinary",
    "advertising/serious", "advertising/grave", "competition/minor", "competition/ordinary",
    "competition/serious", "competition/grave", "licensing/minor", "licensing/ordinary",
    "licensing/serious", "licensing/grave", "other/minor", "other/ordinary", "other/serious",
    "other/grave",
)  # fmt: skip

_CODE = {word: i for i, word in enumerate(WORDS)}


def encode_word(word: str) -> int | str:
    """What is stored for ``word``: its index in :data:`WORDS`, or the word itself."""
    return _CODE.get(word, word)


def decode_word(stored: int | str) -> str:
    """The word of a stored value (either form)."""
    return WORDS[stored] if isinstance(stored, int) else stored
