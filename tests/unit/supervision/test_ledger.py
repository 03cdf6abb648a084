"""The exactly-once ledger's codec: what was sent for an event comes back byte for byte."""

from __future__ import annotations

import msgpack
import pytest

from alerts.rules import Message
from supervision.ledger import COMPRESS_FROM, decode_messages, encode_messages

MESSAGES = [
    Message("task", "t-1", "riskmon.task.created", b"91610112MA6TGQ1K2M", b'{"a":"\xe6\x9c\xaa"}',
            "random_plan"),
    Message("reminder", "r-1", "riskmon.reminder.sent", b"91610112MA6TGQ1K2M", b"{}"),
    Message("alert", "a-1", "riskmon.task.overdue", b"", b""),
]  # fmt: skip


@pytest.mark.parametrize("messages", [[], MESSAGES[:1], MESSAGES], ids=["none", "one", "three"])
def test_round_trip(messages: list[Message]) -> None:
    raw = encode_messages(messages)
    assert isinstance(raw, bytes)
    assert decode_messages(raw) == messages


def test_an_event_that_sent_nothing_is_still_recorded() -> None:
    assert encode_messages([]) != b"" and decode_messages(encode_messages([])) == []


def test_what_carries_texts_is_stored_compressed_and_comes_back_whole() -> None:
    # a reminder's texts, two languages: the size most messages that are stored have
    texts = ("您好，贵单位已被列入经营异常名录。请补报年度报告后申请移出。" * 8).encode()
    messages = [Message("reminder", f"r-{n}", "riskmon.reminder.sent", b"u", texts) for n in "ab"]
    raw = encode_messages(messages)
    plain = msgpack.packb(
        [[m.kind, m.id, m.type, m.key, m.value, m.trigger] for m in messages], use_bin_type=True
    )
    assert len(plain) >= COMPRESS_FROM and len(raw) < len(plain) / 2
    assert decode_messages(raw) == messages
