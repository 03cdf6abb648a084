"""Request rate limits per principal: a token bucket each.

A principal may make ``burst`` requests at once and ``rate`` a second after that; a request
beyond is refused with the seconds until one more would be allowed (the API answers 429 with
``Retry-After``). The buckets live in the process that serves the API, so with N workers a
principal may make N times the rate in all: this is a guard for the worker's event loop
(which also scores) against a runaway client, not a quota. Pure: the caller gives the time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["RateLimiter"]

#: Past this many principals, buckets that have refilled are forgotten (they would allow a
#: full burst anyway): memory stays bounded by the principals active within a refill.
_MAX_BUCKETS: Final = 10_000


@dataclass(slots=True)
class RateLimiter:
    """``rate`` requests a second with bursts of ``burst``; a rate of 0 limits nothing."""

    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, who: str, now: float) -> float | None:
        """None if ``who`` may make a request at ``now`` (and counts it), else the seconds
        until it may."""
        if self.rate <= 0:
            return None
        tokens, at = self._buckets.get(who, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[who] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self._buckets) >= _MAX_BUCKETS and who not in self._buckets:
            self._forget_full(now)
        self._buckets[who] = (tokens - 1, now)
        return None

    def _forget_full(self, now: float) -> None:
        full = [
            k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.burst
        ]
        for k in full:
            del self._buckets[k]
