"""The gate between a rebalance and the scoring loop (streams/gate.py): a partition's records
wait for its watermark check, and what was read before a rewind's seek is dropped."""

from __future__ import annotations

from dataclasses import dataclass

from streams.gate import Gate


@dataclass(frozen=True)
class Rec:
    partition: int
    offset: int


def test_a_newly_assigned_partition_is_held_until_its_check_is_done() -> None:
    gate = Gate()
    gate.assigned([0, 2])
    assert gate.holds([Rec(1, 5), Rec(2, 7)])
    assert not gate.holds([Rec(1, 5)])
    gate.checked([0, 2])
    assert not gate.holds([Rec(0, 1), Rec(2, 7)])


def test_records_read_before_a_rewind_are_dropped_until_the_reread_begins() -> None:
    gate = Gate()
    gate.assigned([0])
    # read from the committed offset 346; the check found the watermark at 163 and sought
    # back to 164
    gate.rewound(0, 346)
    gate.checked([0])
    stale = [Rec(0, 346), Rec(0, 347), Rec(1, 20)]
    assert gate.admit(stale) == [Rec(1, 20)]
    # still in the buffer from before the seek
    assert gate.admit([Rec(0, 348)]) == []
    reread = [Rec(0, 164), Rec(0, 165), Rec(0, 346)]
    assert gate.admit(reread) == reread
    # from then on, everything of the partition passes
    assert gate.admit([Rec(0, 347), Rec(0, 348)]) == [Rec(0, 347), Rec(0, 348)]


def test_a_new_assignment_forgets_an_unfinished_rewind() -> None:
    gate = Gate()
    gate.rewound(3, 100)
    gate.assigned([3])
    gate.checked([3])
    assert gate.admit([Rec(3, 120)]) == [Rec(3, 120)]


def test_a_second_assignment_during_a_check_holds_until_its_own_check_is_done() -> None:
    gate = Gate()
    gate.assigned([1])
    gate.assigned([1])  # a rebalance while the first check runs
    gate.checked([1])  # the first check ends
    assert gate.holds([Rec(1, 0)])
    gate.checked([1])
    assert not gate.holds([Rec(1, 0)])
