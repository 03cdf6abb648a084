"""The output ids a replayed log warrants (``riskmon replay --outputs``): the worker's alerts and
tasks for each event and the changes it brought about, its dead letters, sorted, one a line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from alerts.rules import event_messages
from jobs.outputs import Outputs
from schemas.exceptions import DeadLetterReason
from scoring.fold import Outcome
from scoring.partition import Fired
from scoring.store import StoreResult
from streams.planning import Planned, Record

FIRM = "91610112MA6TGQ1K2M"
OTHER = "91610113MA6U8X2Y31"
DUE = 1_767_225_600
VERSION = "default-2026.1"
A, B, C, D = 1, 2, 3, 4


def _outcome(old: int, new: int, asof: int = DUE) -> Outcome:
    return Outcome(old_class=old, new_class=new, score=0, asof=asof, due=0)


def _records(n: int, partition: int = 1) -> list[Record]:
    return [Record("e", partition, 10 + i, FIRM.encode(), b"{}") for i in range(n)]


def _planned(ids: Sequence[str], dead: Sequence[tuple[int, DeadLetterReason]] = ()) -> Planned:
    events = [(i, "penalty.imposed", FIRM, "/bureau", eid, DUE) for i, eid in enumerate(ids)]
    return Planned([], events, [(i, reason, "why") for i, reason in dead])


def _lines(out: Outputs) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.lines()]


def test_every_alert_task_and_dead_letter_is_listed_once_sorted() -> None:
    out = Outputs(VERSION)
    fired = (Fired(OTHER, _outcome(C, D, DUE - 100)),)
    recs = _records(4)
    out.add(
        recs,
        _planned(["pen-1", "pen-2"], dead=[(2, "invalid_uscc"), (3, "not_json")]),
        [StoreResult("applied", _outcome(A, B), fired), StoreResult("applied", _outcome(B, B))],
    )
    # the same event redelivered in a later batch: the same ids, listed once
    out.add(recs[:1], _planned(["pen-1"]), [StoreResult("redelivered", _outcome(A, B), fired)])
    out.add(_records(1, partition=0), _planned([], dead=[(0, "misrouted")]), [])

    expected_messages = event_messages(
        FIRM, "/bureau", "pen-1", "penalty.imposed", _outcome(A, B), fired, VERSION
    )
    alerts = sorted(m.id for m in expected_messages if m.kind == "alert")
    (task,) = [m.id for m in expected_messages if m.kind == "task"]
    assert _lines(out) == [
        *({"kind": "alert", "id": i, "type": "riskmon.alert.class_changed"} for i in alerts),
        {"kind": "dead_letter", "partition": 0, "offset": 10, "reason": "misrouted"},
        {"kind": "dead_letter", "partition": 1, "offset": 12, "reason": "invalid_uscc"},
        {"kind": "dead_letter", "partition": 1, "offset": 13, "reason": "not_json"},
        {"kind": "task", "id": task, "type": "riskmon.task.created"},
    ]
    assert len(alerts) == 2  # the penalty's A→B and OTHER's C→D by time alone


def test_the_same_log_in_any_batching_lists_the_same_ids() -> None:
    results = [StoreResult("applied", _outcome(0, C)), StoreResult("applied", _outcome(C, B))]
    whole = Outputs(VERSION)
    whole.add(_records(2), _planned(["pen-1", "pen-2"]), results)
    split = Outputs(VERSION)
    split.add(_records(1), _planned(["pen-1"]), results[:1])
    split.add(_records(1), _planned(["pen-2"]), results[1:])
    assert list(whole.lines()) == list(split.lines())
    assert len(list(whole.lines())) == 2


def test_written_to_a_file_or_standard_output(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    out = Outputs(VERSION)
    out.add(_records(1), _planned(["pen-1"]), [StoreResult("applied", _outcome(0, D))])
    path = tmp_path / "outputs.jsonl"
    assert out.write(str(path)) == 2  # the alert into D and its on-site task
    assert path.read_bytes() == b"".join(out.lines())
    assert out.write("-") == 2
    assert capsysbinary.readouterr().out == path.read_bytes()
