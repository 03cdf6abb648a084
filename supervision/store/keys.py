"""Every Redis key supervision writes: the one place their layout is defined.

Like the scores' keys (``scoring/store/keys.py``), every key of a Kafka partition carries that
partition's hash tag ``{pNNN}``, so one supervision write touches one Redis Cluster slot. An
enterprise's tasks and observation live in its own partition (tasks are keyed by their USCC).

===================================== ====== ===================================================
key                                   type   holds
===================================== ====== ===================================================
``<prefix>:sup:t:{pNNN}``             hash   task id -> the task (``supervision/records.py``)
``<prefix>:sup:obs:{pNNN}``           hash   uscc -> its observation period
``<prefix>:sup:due:{pNNN}``           zset   ``t:<task id>`` / ``obs:<uscc>`` / ``rem:<uscc>|<ref>``
                                             -> the event time (s) it falls due
``<prefix>:sup:m:{pNNN}``             hash   ``ew`` (supervision's event-time watermark),
                                             ``wm`` (the highest offset whose supervision is
                                             written: the rewind's lower bound), ``v`` (a
                                             counter every write raises: the WATCHed version)
``<prefix>:sup:seen:{pNNN}``          hash   event hash (8 bytes) -> what supervision sent
                                             for it (a MessagePack array of messages, possibly
                                             empty; zlib from 256 bytes: supervision/ledger.py):
                                             its exactly-once ledger
``<prefix>:sup:disc:{pNNN}``          hash   ``<class at draw>|<result>`` -> random-plan
                                             inspections completed
``<prefix>:sup:last:{pNNN}``          hash   uscc -> the inspectors (MessagePack list) of its
                                             latest plan task (avoidance: not twice in a row)
``<prefix>:sup:warn:{pNNN}``          hash   uscc -> its early-warning state
                                             (``alerts/warnings/state.py``)
``<prefix>:addr:{<address hash>}``    hash   uscc -> ``<rank>|<event hash>``: the enterprises
                                             registered at one normalised address, ranked in
                                             the order they came (``alerts/warnings/address.py``;
                                             its own hash tag: it spans partitions)
===================================== ====== ===================================================
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.store.keys import tag

__all__ = ["SupervisionKeys"]


@dataclass(frozen=True, slots=True)
class SupervisionKeys:
    prefix: str

    def _key(self, kind: str, partition: int) -> str:
        return f"{self.prefix}:sup:{kind}:{tag(partition)}"

    def tasks(self, partition: int) -> str:
        return self._key("t", partition)

    def observations(self, partition: int) -> str:
        return self._key("obs", partition)

    def due(self, partition: int) -> str:
        return self._key("due", partition)

    def meta(self, partition: int) -> str:
        return self._key("m", partition)

    def seen(self, partition: int) -> str:
        return self._key("seen", partition)

    def discovery(self, partition: int) -> str:
        return self._key("disc", partition)

    def last_inspectors(self, partition: int) -> str:
        return self._key("last", partition)

    def warnings(self, partition: int) -> str:
        return self._key("warn", partition)

    def address(self, address_hash: str) -> str:
        """The cluster of one normalised address, by its hash (never the address itself)."""
        return f"{self.prefix}:addr:{{{address_hash}}}"
