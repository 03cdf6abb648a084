"""A synthetic district: seeded enterprises of Xi'an and their credit events (pure, no I/O).

Used to feed a live demo, to measure throughput at scale, and to judge a scoring model against
each enterprise's hidden propensity to violate (:attr:`district.generator.Enterprise.propensity`),
which never appears in the events.
"""

__all__ = ["conduct", "enterprises", "generator", "history", "live", "shares"]
