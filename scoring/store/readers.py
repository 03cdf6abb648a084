"""Every stored state, read with a synchronous client: for tools (``riskmon judge``, the demo's
dashboard) and tests, never the worker.

The readers walk the state hashes with HSCAN, a page at a time, so they never block Redis.
They raise redis-py's errors unchanged: their callers are tools that report them as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import cast

import redis

from scoring.fold import EnterpriseState
from scoring.store.keys import Keys
from scoring.store.wire import decode_state, stored_asof, version_names

__all__ = ["iter_states", "newest_asof"]


def _raw_states(
    client: redis.Redis, keys: Keys, partitions: int
) -> Iterator[tuple[int, bytes, bytes]]:
    for p in range(partitions):
        for bucket in keys.buckets(p):
            for uscc, raw in client.hscan_iter(bucket, count=1_000):
                yield p, uscc, raw


def iter_states(
    client: redis.Redis, keys: Keys, partitions: int
) -> Iterator[tuple[int, str, EnterpriseState]]:
    """Every enterprise stored under ``keys``, as (partition, uscc, state)."""
    names = version_names(client.hgetall(keys.models()))
    for p, uscc, raw in _raw_states(client, keys, partitions):
        yield p, uscc.decode(), cast(EnterpriseState, decode_state(raw, names))


def newest_asof(client: redis.Redis, keys: Keys, partitions: int) -> int:
    """The latest as-of time among the enterprises under ``keys`` (0 if none), read as
    :func:`iter_states` reads them but without decoding their contributions."""
    newest = 0
    for _, _, raw in _raw_states(client, keys, partitions):
        newest = max(newest, stored_asof(raw))
    return newest
