from __future__ import annotations

import pytest

from console.cursor import MAX_CURSOR_CHARS, CursorError, decode, encode


@pytest.mark.parametrize(
    "position",
    [
        {},
        {("riskmon.alerts", 0): 15},
        {("riskmon.alerts", 1): 9, ("riskmon.alerts", 0): 15, ("riskmon.tasks", 0): 22},
        {("tp-1_a.alerts", 12): 0, ("x", 0): 2**62},
    ],
)
def test_a_cursor_decodes_to_the_position_it_encodes(position: dict[tuple[str, int], int]) -> None:
    assert decode(encode(position)) == position


def test_a_cursor_is_readable_and_sorted() -> None:
    text = encode({("riskmon.tasks", 0): 22, ("riskmon.alerts", 1): 9, ("riskmon.alerts", 0): 15})
    assert text == "riskmon.alerts/0/15,riskmon.alerts/1/9,riskmon.tasks/0/22"


def test_entries_of_other_topics_are_dropped() -> None:
    text = "riskmon.alerts/0/15,riskmon.old/0/3"
    assert decode(text, topics=["riskmon.alerts"]) == {("riskmon.alerts", 0): 15}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("riskmon.alerts/0", "entry 1"),
        ("riskmon.alerts/0/15,garbage", "entry 2"),
        ("riskmon.alerts/-1/15", "entry 1"),
        ("a b/0/1", "entry 1"),
        ("riskmon.alerts/0/15,riskmon.alerts/0/16", "twice"),
        ("a/0/1," * (MAX_CURSOR_CHARS // 6 + 1), "longer"),
    ],
)
def test_a_malformed_cursor_is_refused_saying_why(text: str, why: str) -> None:
    with pytest.raises(CursorError, match=why):
        decode(text)


def test_an_empty_cursor_is_no_position() -> None:
    assert decode("") == {}
