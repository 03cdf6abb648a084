"""Planning: one apply.lua call per partition and batch, each event's state hash beside it,
and every result traceable to its request."""

from __future__ import annotations

from scoring.changes import Change
from scoring.store import MAX_CALL_EVENTS, ApplyRequest, Keys, bucket_of, plan_calls
from scoring.store.wire import text

KEYS = Keys("rm")


def request(uscc: str, partition: int, offset: int) -> ApplyRequest:
    return ApplyRequest(uscc, partition, offset, Change(f"{offset:016x}", 1_000 + offset))


def test_one_call_per_partition_with_each_events_state_hash() -> None:
    reqs = [request(f"U{i}", i % 3, i) for i in range(9)]
    calls, order = plan_calls(KEYS, "params", reqs)
    assert len(calls) == 3
    assert sorted(order) == list(range(len(reqs)))
    in_call_order = iter([reqs[i] for i in order])
    for call_keys, args in calls:
        chunk = [next(in_call_order) for _ in call_keys[3:]]
        (partition,) = {r.partition for r in chunk}
        assert call_keys[:3] == KEYS.shared(partition)
        # KEYS[3 + i]: the state hash of event i
        assert call_keys[3:] == [KEYS.states(partition, r.uscc) for r in chunk]
        assert args[:2] == ["params", "apply"]
        # ARGV[4]: the stem that names the state hash of an enterprise whose change it fires
        assert [args[3] + str(bucket_of(r.uscc)) for r in chunk] == call_keys[3:]


def test_a_partitions_events_keep_their_log_order() -> None:
    reqs = [request(f"U{i}", i % 2, i) for i in range(10)]
    _, order = plan_calls(KEYS, "params", reqs)
    for p in (0, 1):
        offsets = [reqs[i].offset for i in order if reqs[i].partition == p]
        assert offsets == sorted(offsets)


def test_a_long_batch_is_cut_into_calls_of_at_most_max_call_events() -> None:
    n = 2 * MAX_CALL_EVENTS + 1
    reqs = [request(f"U{i}", 0, i) for i in range(n)]
    calls, order = plan_calls(KEYS, "params", reqs)
    assert [len(k) - 3 for k, _ in calls] == [MAX_CALL_EVENTS, MAX_CALL_EVENTS, 1]
    assert order == list(range(n))


def test_no_requests_no_calls() -> None:
    assert plan_calls(KEYS, "params", []) == ([], [])


def test_the_call_carries_the_params_it_was_given() -> None:
    calls, _ = plan_calls(KEYS, "v 1 2 3", [request("U", 4, 0)])
    (_, args) = calls[0]
    assert text(args[0]) == "v 1 2 3"
