"""Every Redis key riskmon writes for scores: the one place their layout is defined.

All keys of one Kafka partition carry the hash tag ``{pNNN}`` (the partition, three digits),
so that one apply.lua call touches one Redis Cluster slot, and a crash loses a consistent
suffix of one partition's events, never a scattering:

=============================== ====== =========================================================
key                             type   holds
=============================== ====== =========================================================
``<prefix>:s:{pNNN}:<bucket>``  hash   uscc -> the enterprise's state, one MessagePack array
                                       (layout: ``scoring/store/wire.py``); ``<bucket>`` is
                                       :func:`bucket_of` the USCC, 0 .. STATE_BUCKETS - 1
``<prefix>:l:{pNNN}``           hash   the ledger: event hash (8 bytes) -> the outcome when
                                       first applied, or "" when it warranted no alert or task;
                                       when the event fired time-driven changes, a MessagePack
                                       array {outcome or "", "uscc|outcome", ...};
                                       with a ledger window W, buckets ``<prefix>:l:{pNNN}:<n>``
                                       (n = offset // W), the newest two kept
``<prefix>:m:{pNNN}``           hash   ``wm`` (highest applied offset), ``ew`` (the event-time
                                       watermark: latest event time applied, Unix s; absent:
                                       0; ``scoring/partition.py``), ``lk`` (newest ledger
                                       bucket), and enterprises per class: one field per name
                                       of ``schemas.classes.CLASSES``
``<prefix>:due:{pNNN}``         zset   uscc -> the time (s) of its next time-driven class change
``<prefix>:o:{pNNN}``           hash   reclassify's outbox: uscc -> a class change whose alert
                                       is not yet acked, as ``version id|outcome``
``<prefix>:a:{pNNN}``           hash   ``<division>|<industry>|<K>`` -> enterprises in class
                                       K (``<industry>``: GB/T 4754 section + two-digit
                                       division, e.g. ``F51``, or a bare section; either is
                                       ``unknown`` without a profile); a field at 0 is deleted;
                                       readers sum pairs into areas (``scoring/store/areas.py``)
``<prefix>:ae:{pNNN}:<day>``    hash   entries into C and D on ``<day>`` (days since
                                       1970-01-01 in UTC+8): ``<division>|<industry>|<K>``
``<prefix>:ax:{pNNN}``          zset   each division's enterprises in C and D, for paging:
                                       members ``<division>|<uscc>|<K>``, all scored 0 (read
                                       by lexical range)
``<prefix>:models``             hash   version id -> model version name, of every model that
                                       wrote a state under the prefix (no hash tag: it is read
                                       and written apart from apply.lua)
=============================== ====== =========================================================

apply.lua receives these names in KEYS (see :meth:`Keys.shared` and ``scoring/store/plan.py``);
it derives the ledger's window buckets itself, by appending ``:<n>``, the state hash of an
enterprise whose time-driven change it makes from :meth:`Keys.state_stem` (ARGV[4]) and
:func:`bucket_of`, which it computes in Lua, and the area keys from the meta hash's name
(``:m:`` replaced by ``:a:``, ``:ae:`` or ``:ax:``, the same hash tag).
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

__all__ = ["STATE_BUCKETS", "Keys", "bucket_of", "tag"]

#: The enterprises of a partition are spread over this many hashes, by CRC-32 of the USCC. A
#: field of a hash costs less than a key of its own; 64 hashes per partition keep each small
#: enough to move between Redis Cluster nodes at 50 million enterprises over 12 partitions
#: (65,000 fields each). Stored data: never change it for a prefix.
STATE_BUCKETS = 64


def tag(partition: int) -> str:
    """The hash tag every key of ``partition`` carries: ``{p007}``."""
    return f"{{p{partition:03d}}}"


def bucket_of(uscc: str) -> int:
    """The state hash of ``uscc`` within its partition."""
    return zlib.crc32(uscc.encode()) % STATE_BUCKETS


@functools.lru_cache(maxsize=4096)
def _buckets(prefix: str, partition: int) -> tuple[str, ...]:
    return tuple(f"{prefix}:s:{tag(partition)}:{b}" for b in range(STATE_BUCKETS))


@dataclass(frozen=True, slots=True)
class Keys:
    """The key names under one ``prefix`` (the layout is in this module's docstring)."""

    prefix: str

    def tag(self, partition: int) -> str:
        return tag(partition)

    def states(self, partition: int, uscc: str) -> str:
        """The hash that holds ``uscc``'s state (field: the USCC)."""
        return self.buckets(partition)[bucket_of(uscc)]

    def buckets(self, partition: int) -> tuple[str, ...]:
        """Every state hash of ``partition``, by bucket."""
        return _buckets(self.prefix, partition)

    def state_stem(self, partition: int) -> str:
        """The state hashes' names of ``partition`` less their bucket (apply.lua's ARGV[4])."""
        return f"{self.prefix}:s:{tag(partition)}:"

    def ledger(self, partition: int) -> str:
        """The ledger hash (or, with a ledger window, the stem of its buckets' names)."""
        return f"{self.prefix}:l:{tag(partition)}"

    def meta(self, partition: int) -> str:
        """Hash: ``wm``, ``ew``, ``lk`` and the enterprises per class of ``partition``."""
        return f"{self.prefix}:m:{tag(partition)}"

    def due(self, partition: int) -> str:
        """Sorted set: uscc -> time of its next time-driven class change."""
        return f"{self.prefix}:due:{tag(partition)}"

    def outbox(self, partition: int) -> str:
        """Hash: uscc -> a class change of ``riskmon reclassify`` whose alert is not yet sent."""
        return f"{self.prefix}:o:{tag(partition)}"

    def areas(self, partition: int) -> str:
        """Hash: ``<division>|<industry>|<K>`` -> enterprises of ``partition``."""
        return f"{self.prefix}:a:{tag(partition)}"

    def area_day(self, partition: int, day: int) -> str:
        """Hash: ``<division>|<industry>|<K>`` (K: C, D) -> entries on ``day`` (days since
        1970-01-01 in UTC+8)."""
        return f"{self.prefix}:ae:{tag(partition)}:{day}"

    def area_index(self, partition: int) -> str:
        """Sorted set (lexical): ``<division>|<uscc>|<K>`` of each enterprise in C or D."""
        return f"{self.prefix}:ax:{tag(partition)}"

    def models(self) -> str:
        """Hash: version id -> model version, of every model that wrote a state here."""
        return f"{self.prefix}:models"

    def shared(self, partition: int) -> list[str]:
        """apply.lua's KEYS[1..3]: ledger, meta and due index of ``partition``."""
        return [self.ledger(partition), self.meta(partition), self.due(partition)]
