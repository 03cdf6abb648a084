"""Names and ID numbers masked as the plan writes them (张*三, 6101**********1234)."""

from __future__ import annotations

import pytest

from alerts.delivery import dead_letter
from security.masking import mask_id_number, mask_name, scrub
from streams.planning import Record


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张小三", "张*三"), ("欧阳小锋", "欧**锋"), ("张三", "张*"), ("张", "*"), ("", "")],
)
def test_a_name_keeps_its_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


def test_an_id_number_keeps_four_at_each_end() -> None:
    assert mask_id_number("61011319900101123X") == "6101**********123X"
    assert mask_id_number("12345") == "*****"


def test_scrub_masks_id_numbers_in_text_and_leaves_codes_alone() -> None:
    text = "subject: '610113199001011234' is not a valid USCC; seen 91610112MA6TGQ1K2M"
    assert scrub(text) == (
        "subject: '6101**********1234' is not a valid USCC; seen 91610112MA6TGQ1K2M"
    )
    assert scrub("order 12345678901234567890 stays") == "order 12345678901234567890 stays"


def test_a_dead_letter_does_not_echo_an_id_number_but_keeps_the_record() -> None:
    value = b'{"subject": "610113199001011234"}'
    rec = Record("riskmon.events", 3, 42, b"610113199001011234", value)
    detail = "subject: '610113199001011234' is not a valid USCC: bad check character"
    _, key, sent, headers = dead_letter(rec, "invalid", detail, "riskmon.events.dlq")
    got = dict(headers)
    assert b"610113199001011234" not in got["dlq_detail"]
    assert got["dlq_detail"].startswith(b"subject: '6101**********1234'")
    assert (key, sent) == (rec.key, rec.value)  # the original bytes, for whoever may see them
