"""The gate between a rebalance and the scoring loop: a newly assigned partition's records wait
until its watermark check (``streams/rewind.py``) is done, and records read before a rewind's
seek are dropped.

Without it the loop could apply a partition's first records, from the committed offset, before
the check compared that offset with Redis' watermark: the watermark would then be past the
committed offset, the check would see nothing lost, and the events Redis lost (a failover to a
lagging replica, an AOF missing its tail) would count as redelivered for good.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

__all__ = ["Gate"]

R = TypeVar("R", bound="_Record")


class _Record(Protocol):
    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...


@dataclass
class Gate:
    """Which events partitions are held, and which were rewound."""

    #: Assigned, watermark not checked yet: their records are held. A count, since a second
    #: assignment can come while the first one's check runs: each check releases its own.
    unchecked: Counter[int] = field(default_factory=Counter)
    #: Rewound partition -> the committed offset it was read from before the seek: its
    #: records at or past that offset were read before the seek and are dropped, until one
    #: before it arrives (the seek went back to the watermark + 1, below the committed offset).
    stale_from: dict[int, int] = field(default_factory=dict)

    def assigned(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self.unchecked[p] += 1
            self.stale_from.pop(p, None)

    def checked(self, partitions: Iterable[int]) -> None:
        for p in partitions:
            self.unchecked[p] -= 1
            if self.unchecked[p] <= 0:
                del self.unchecked[p]

    def rewound(self, partition: int, committed: int) -> None:
        """``partition`` was read from ``committed`` and has been sought back below it."""
        self.stale_from[partition] = committed

    def holds(self, records: Iterable[_Record]) -> bool:
        """Whether any of ``records`` belongs to a partition that waits for its check."""
        return any(self.unchecked[r.partition] > 0 for r in records)

    def admit(self, records: Sequence[R]) -> list[R]:
        """``records`` (in each partition's offset order) less those read before a seek."""
        if not self.stale_from:
            return list(records)
        kept = []
        for r in records:
            stale = self.stale_from.get(r.partition)
            if stale is not None:
                if r.offset >= stale:
                    continue
                del self.stale_from[r.partition]  # the first record read after the seek
            kept.append(r)
        return kept
