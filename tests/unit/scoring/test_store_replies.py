"""apply.lua's replies read back: statuses, outcomes with their reasons, reclassify pages and
the outbox."""

from __future__ import annotations

import orjson
import pytest

from scoring.fold import Outcome
from scoring.partition import Fired
from scoring.store import ReclassifyPage, StoreResult
from scoring.store.replies import outbox_entry, outcome, store_result

#: apply.lua's outcome of an event that changed nothing a reader is told about (NO_NEWS).
NO_NEWS = b"0|0|0|0|0|"


def test_an_applied_event_with_reasons_containing_the_separator() -> None:
    reasons = [["pen:2026|17", 37_500_000, 0], ["abn:X", 20_000_000, 3]]
    raw = b"applied|1|4|57500000|1700000000|1800000000|" + orjson.dumps(reasons)
    assert store_result(raw) == StoreResult(
        "applied",
        Outcome(
            1,
            4,
            57_500_000,
            1_700_000_000,
            1_800_000_000,
            (("pen:2026|17", 37_500_000, 0), ("abn:X", 20_000_000, 3)),
        ),
    )
    assert not store_result(raw).duplicate


@pytest.mark.parametrize("status", ["redelivered", "republished"])
def test_a_duplicate_of_an_event_that_warranted_nothing(status: str) -> None:
    result = store_result(status.encode() + b"|" + NO_NEWS)
    assert result.duplicate
    assert result.outcome == Outcome(0, 0, 0, 0, 0)


def test_an_event_that_fired_time_driven_changes_returns_them_in_order() -> None:
    raw = [
        b"applied|2|3|31000000|1700000500|0|[]",
        b"U2|2|1|4000000|1700000100|0|[]",
        b'U1|1|2|12000000|1700000200|1700900000|[["ins:1",15000000,0]]',
    ]
    result = store_result(raw)
    assert result.outcome == Outcome(2, 3, 31_000_000, 1_700_000_500, 0)
    assert result.fired == (
        Fired("U2", Outcome(2, 1, 4_000_000, 1_700_000_100, 0)),
        Fired(
            "U1",
            Outcome(1, 2, 12_000_000, 1_700_000_200, 1_700_900_000, (("ins:1", 15_000_000, 0),)),
        ),
    )
    # A duplicate's reply (its first copy's ledger entry: own outcome warranted nothing).
    dup = store_result([b"republished|" + NO_NEWS, raw[1]])
    assert dup.duplicate and dup.outcome == Outcome(0, 0, 0, 0, 0)
    assert dup.fired == result.fired[:1]
    assert store_result(raw[0]).fired == ()


def test_a_reclassify_page_counts_and_collects_class_changes() -> None:
    page = ReclassifyPage()
    more = page.add(2, [b"17", 3, 2, b"U1|2|3|40000000|1700000000|0|[]"], "m-2")
    assert more == "17"
    done = page.add(5, [b"0", 4, 0], "m-2")
    assert done is None
    assert (page.scanned, page.reevaluated) == (7, 2)
    (changed,) = page.changed
    assert (changed.uscc, changed.partition, changed.version) == ("U1", 2, "m-2")
    assert (changed.outcome.old_class, changed.outcome.new_class) == (2, 3)


def test_an_outbox_entry_is_named_by_its_model_version() -> None:
    value = b"3141|1|2|15000000|1700000000|0|"
    known = outbox_entry(1, b"U9", value, {3141: "m-1"})
    assert (known.uscc, known.partition, known.version) == ("U9", 1, "m-1")
    assert known.outcome == outcome(b"1|2|15000000|1700000000|0|")
    assert outbox_entry(1, b"U9", value, {}).version == "#3141"
