"""The ticker's re-evaluation events: accepted from the ticker only, routed like any event."""

from __future__ import annotations

import pytest

from schemas.events import EventType
from schemas.exceptions import InvalidEventError
from streams.planning import Record, validate_record
from streams.ticker import TICKER_SOURCE, reevaluate_event
from streams.topics import partition_for

USCC = "91610112MA6TGQ1K2M"
PARTITIONS = 4
DUE = 1_767_225_600  # 2026-01-01T00:00:00Z


def _record(value: bytes) -> Record:
    return Record(
        "riskmon.events", partition_for(USCC.encode(), PARTITIONS), 0, USCC.encode(), value
    )


def test_a_ticker_event_asks_for_the_enterprise_at_its_due_time() -> None:
    ev = validate_record(_record(reevaluate_event(USCC, DUE)), PARTITIONS, 65_536, TICKER_SOURCE)
    assert (ev.type, ev.subject, ev.source) == (EventType.REEVALUATE, USCC, TICKER_SOURCE)
    assert ev.epoch_seconds == DUE


def test_the_same_due_time_gives_the_same_event_id() -> None:
    # A re-sent re-evaluation is a duplicate the ledger absorbs, not a second change.
    assert reevaluate_event(USCC, DUE) == reevaluate_event(USCC, DUE)
    assert reevaluate_event(USCC, DUE) != reevaluate_event(USCC, DUE + 1)


def test_no_one_else_may_ask_for_a_re_evaluation() -> None:
    forged = reevaluate_event(USCC, DUE).replace(TICKER_SOURCE.encode(), b"/someone/else")
    with pytest.raises(InvalidEventError) as err:
        validate_record(_record(forged), PARTITIONS, 65_536, TICKER_SOURCE)
    assert err.value.reason == "unknown_type"
