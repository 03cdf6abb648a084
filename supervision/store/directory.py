"""The directory a plan draws from, read from Redis (synchronous: for ``riskmon plan``).

Every enterprise with a state (``scoring.store.iter_states``): its class, its registration
(division, industry, entity type, new economy: the profile), the times of its completed
inspections (its ``ins:`` contributions that are not cancelled), whether its observation
period is active at the plan's time (``sup:obs``), and its latest plan task's inspectors
(``sup:last``). An enterprise known only by events other than its registration has an empty
registration: a scope on division, industry or entity type leaves it out.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgpack
import redis

from schemas.classes import CLASS_NAMES
from scoring.fold import EnterpriseState
from scoring.store import Keys, iter_states
from supervision.eligibility import Listing
from supervision.records import decode_observation
from supervision.store.keys import SupervisionKeys

__all__ = ["read_directory"]


def _observed(client: redis.Redis, key: str, asof: int) -> set[str]:
    active = set()
    for uscc, raw in client.hscan_iter(key, count=1_000):
        obs = decode_observation(raw)
        if obs.active and (not obs.until or obs.until > asof):
            active.add(uscc.decode())
    return active


def _last(client: redis.Redis, key: str) -> dict[str, tuple[str, ...]]:
    return {
        uscc.decode(): tuple(str(i) for i in msgpack.unpackb(raw, raw=False))
        for uscc, raw in client.hscan_iter(key, count=1_000)
    }


def listing(uscc: str, state: EnterpriseState, *, observed: bool, last: tuple[str, ...]) -> Listing:
    """One enterprise of the directory from its stored state."""
    p = state.profile
    inspections = tuple(
        c.time for k, c in state.contributions.items() if k.startswith("ins:") and not c.cancelled
    )
    return Listing(
        uscc=uscc,
        klass=CLASS_NAMES[state.klass] or "A",
        division=p.division if p else "",
        industry=p.industry if p else "",
        entity_type=p.entity_type if p else "",
        new_economy=bool(p and p.new_economy),
        inspections=inspections,
        observation_active=observed,
        last_inspectors=last,
    )


def read_directory(
    client: redis.Redis, prefix: str, partitions: int, asof: int
) -> Iterator[tuple[Listing, str]]:
    """Every enterprise under ``prefix`` as a :class:`Listing` at ``asof``, with the model
    version of its state. Raises redis-py's errors unchanged."""
    keys, sup = Keys(prefix), SupervisionKeys(prefix)
    observed: dict[int, set[str]] = {}
    last: dict[int, dict[str, tuple[str, ...]]] = {}
    for p, uscc, state in iter_states(client, keys, partitions):
        if p not in observed:
            observed[p] = _observed(client, sup.observations(p), asof)
            last[p] = _last(client, sup.last_inspectors(p))
        if not state.klass:
            continue
        yield (
            listing(uscc, state, observed=uscc in observed[p], last=last[p].get(uscc, ())),
            state.version,
        )
