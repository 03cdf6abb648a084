"""Area counts as stored (summed over partitions) and as recounted from the stored states."""

from __future__ import annotations

import redis

from scoring.store import Keys, iter_states
from scoring.store.areas import recount
from scoring.store.wire import text


def stored_areas(
    client: redis.Redis, keys: Keys, partitions: int
) -> tuple[dict[str, int], set[str]]:
    """Every partition's area counts (field -> enterprises, summed) and index members."""
    counts: dict[str, int] = {}
    members: set[str] = set()
    for p in range(partitions):
        for field, v in client.hgetall(keys.areas(p)).items():
            counts[text(field)] = counts.get(text(field), 0) + int(v)
        members |= {text(m) for m in client.zrange(keys.area_index(p), 0, -1)}
    return {f: n for f, n in counts.items() if n}, members


def recounted(client: redis.Redis, keys: Keys, partitions: int) -> tuple[dict[str, int], set[str]]:
    """:func:`scoring.store.areas.recount` of every stored state."""
    return recount((uscc, s) for _, uscc, s in iter_states(client, keys, partitions))
