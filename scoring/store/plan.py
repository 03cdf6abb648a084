"""The apply.lua calls a batch needs, planned without Redis (pure).

One call per partition and batch (up to :data:`MAX_CALL_EVENTS` events): the events of a call
travel as one MessagePack argument, so neither the client nor Redis pays per-command costs per
event, and all the keys of a call share the partition's hash tag. Pure, so that the worker
plans in its decode processes and the store only sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scoring.changes import Change
from scoring.store.keys import Keys
from scoring.store.wire import events_arg

__all__ = [
    "MAX_CALL_EVENTS",
    "ApplyRequest",
    "Call",
    "plan_calls",
    "reclassify_call",
    "top_offsets",
]

#: Events (or enterprises) per script call: long enough to amortise a call, short enough not to
#: block Redis.
MAX_CALL_EVENTS = 1_000

#: One apply.lua call: its KEYS and ARGV.
Call = tuple[list[str], list[str | bytes]]


@dataclass(slots=True)
class ApplyRequest:
    """Apply ``change`` to ``uscc``, read at ``offset`` of Kafka partition ``partition``
    (offset -1: not from Kafka)."""

    uscc: str
    partition: int
    offset: int
    change: Change


def plan_calls(
    keys: Keys, params: str, requests: Sequence[ApplyRequest]
) -> tuple[list[Call], list[int]]:
    """The apply.lua calls for ``requests`` (one per partition and up to MAX_CALL_EVENTS
    events, each partition's events in their order), and the index in ``requests`` of each
    event in call order. ``params``: ARGV[1] (``wire.params_arg``)."""
    by_partition: dict[int, list[int]] = {}
    for i, req in enumerate(requests):
        by_partition.setdefault(req.partition, []).append(i)
    calls: list[Call] = []
    order: list[int] = []
    for p, idx in by_partition.items():
        for lo in range(0, len(idx), MAX_CALL_EVENTS):
            part = idx[lo : lo + MAX_CALL_EVENTS]
            chunk = [requests[i] for i in part]
            # KEYS[4..]: the state hash of each event, in the events' order.
            call_keys = keys.shared(p) + [keys.states(p, r.uscc) for r in chunk]
            # ARGV[4]: where the state of an enterprise whose change an event fires lives;
            # ARGV[5]: the highest offset, which the store's fence remembers once acknowledged.
            top = str(max(r.offset for r in chunk))
            args: list[str | bytes] = [params, "apply", events_arg(chunk), keys.state_stem(p), top]
            calls.append((call_keys, args))
            order.extend(part)
    return calls, order


def top_offsets(calls: Sequence[Call]) -> dict[str, int]:
    """The highest offset among the apply calls of each partition, by its meta key (KEYS[2])."""
    tops: dict[str, int] = {}
    for keys, args in calls:
        if len(args) >= 5 and args[1] == "apply":
            tops[keys[1]] = max(tops.get(keys[1], -1), int(args[4]))
    return tops


def reclassify_call(
    keys: Keys, params: str, partition: int, bucket: int, cursor: str, *, force: bool, outbox: bool
) -> Call:
    """The call that re-evaluates the next page (from HSCAN ``cursor``, "0" to start) of one
    state hash; ``outbox``: keep each class change in the partition's outbox too."""
    call_keys = [*keys.shared(partition), keys.buckets(partition)[bucket]]
    if outbox:
        call_keys.append(keys.outbox(partition))
    mode = "force" if force else ""
    return call_keys, [params, "reclassify", mode, cursor, str(MAX_CALL_EVENTS)]
