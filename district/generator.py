"""Seeded enterprises of a Xi'an district and their credit events (pure: no I/O, no clock).

Every enterprise draws a hidden ``propensity`` to violate (Beta(0.8, 6): most firms near 0, a
long tail of habitual offenders). Event rates follow it: penalties (and how severe), complaints,
annual-report lapses and other abnormal-operations listings, serious-violation listings, and
the chance that a random spot check finds problems. Spot checks themselves are drawn at a rate
that does not depend on it (双随机: the draw is random), so the share of inspections that find
problems is an unbiased measure to judge a model's classes against the hidden truth.

Determinism: enterprise ``i`` of seed ``s`` draws from its own ``random.Random(f"{s}:{i}:…")``
(seeded through SHA-512, independent of ``PYTHONHASHSEED``), so the same spec gives the same
stream byte for byte, and any enterprise can be rebuilt without generating the others.

Streaming: :func:`events` works on ``chunk`` enterprises at a time (their histories merged in
event-time order), so memory stays bounded at a million enterprises. Within an enterprise,
every removal or revocation comes after what it removes, in event time and in stream order.
"""

from __future__ import annotations

from district.enterprises import CST, DistrictSpec, Enterprise, enterprise, enterprises
from district.history import events, history, lines
from district.live import live_events

__all__ = [
    "CST",
    "DistrictSpec",
    "Enterprise",
    "enterprise",
    "enterprises",
    "events",
    "history",
    "lines",
    "live_events",
]
