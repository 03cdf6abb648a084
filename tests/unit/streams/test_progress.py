"""Where a worker stands on each partition: what /healthz's lag and the idle ticker rely on."""

from __future__ import annotations

from streams.handler import Progress


def test_a_partition_taken_over_at_its_committed_end_has_nothing_left_to_read() -> None:
    # Another worker read partition 3 to offset 41 and committed 42; this one processed none.
    progress = Progress(read_from={3: 42})
    assert progress.next_offset(3) == 42


def test_what_this_worker_processed_counts_once_past_where_it_started() -> None:
    progress = Progress(read_from={3: 42}, last_offset={3: 50})
    assert progress.next_offset(3) == 51


def test_a_partition_never_committed_is_read_from_its_start() -> None:
    assert Progress().next_offset(0) == 0
