"""Redis' errors translated into the scoring package's, in one place.

Every Redis command the store sends runs inside :func:`redis_errors`: redis-py's connection,
timeout and loading errors become :class:`~scoring.exceptions.StoreUnavailableError` (retry:
every write is idempotent), any other Redis error :class:`~scoring.exceptions.StoreError`, each
raised ``from`` the original. Errors of ours pass through unchanged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from redis import exceptions as rexc

from scoring.exceptions import StoreError, StoreUnavailableError

__all__ = ["UNAVAILABLE", "redis_errors"]

#: What "Redis cannot answer now" looks like in redis-py: a later try can succeed. On a Redis
#: Cluster, so do a failover and a slot on the move: CLUSTERDOWN, TRYAGAIN, MASTERDOWN, and a
#: slot the client's map names no node for (MOVED and ASK the cluster client follows itself).
UNAVAILABLE = (
    rexc.ConnectionError,
    rexc.TimeoutError,
    rexc.BusyLoadingError,
    rexc.ClusterDownError,
    rexc.TryAgainError,
    rexc.MasterDownError,
    rexc.SlotNotCoveredError,
)


@contextlib.contextmanager
def redis_errors(doing: str) -> Iterator[None]:
    """Translate Redis errors raised in the block; ``doing`` names what was refused (in the
    message of a StoreError: ``redis refused <doing>: ...``)."""
    try:
        yield
    except UNAVAILABLE as exc:
        raise StoreUnavailableError(f"redis unavailable: {exc}") from exc
    except rexc.RedisError as exc:
        raise StoreError(f"redis refused {doing}: {exc}") from exc
