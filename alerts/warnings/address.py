"""The address cluster (pure): normalising a registered address, the hash that stands for it,
and the warning an enterprise raises by reaching a level of a cluster.

Many enterprises at one address span partitions, so the count lives in one structure per
address, outside the partitions (``supervision/store/addresses.py``): each enterprise
registered there gets a **rank**, 1 for the first, in the order they came, assigned once and
kept (assigning it again returns the same rank). Rank r reaches a level when r is
``min_enterprises`` times a power of two (N, 2N, 4N, ...): the enterprise of that rank raises
the warning, its id derived from the rule, the address hash and the level, so whoever sends it,
and every redelivery, sends the same id, and the set of ids is a function of how many
enterprises registered at each address (not of the order the partitions were read in).

Normalisation (:func:`normalise`): Unicode NFKC (full-width letters and digits to ASCII),
case folded, whitespace and punctuation removed, and the county-level prefixes a form may or
may not repeat are left as written: two spellings of one address that differ in more than that
are two addresses (a bounded miss, never a false cluster).
"""

from __future__ import annotations

import hashlib
import unicodedata

from alerts.rules import derived_id
from alerts.warnings.config import AddressCluster
from alerts.warnings.enterprise import Raised, make_warning
from schemas.alerts import Evidence

__all__ = ["address_hash", "address_warning", "is_level", "normalise"]


def normalise(address: str) -> str:
    """``address`` as compared: NFKC, case folded, without whitespace and punctuation."""
    text = unicodedata.normalize("NFKC", address).casefold()
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("Z", "P", "C")))


def address_hash(address: str) -> str:
    """The hash that stands for ``address`` (normalised first) in Redis keys and warning ids:
    the first 16 bytes of its SHA-256, hex. Never the address itself. "" for an address that
    normalises to nothing (it clusters with nothing)."""
    norm = normalise(address)
    if not norm:
        return ""
    return hashlib.sha256(norm.encode()).hexdigest()[:32]


def is_level(rank: int, minimum: int) -> bool:
    """Whether the enterprise of ``rank`` brings its address to a level: ``minimum`` times a
    power of two."""
    if rank < minimum or rank % minimum:
        return False
    q = rank // minimum
    return q & (q - 1) == 0


def address_warning(
    rule: AddressCluster,
    version: str,
    uscc: str,
    addr_hash: str,
    rank: int,
    evidence: Evidence,
    place: tuple[str, str] = ("", ""),
) -> Raised:
    """The warning of the enterprise ``uscc`` whose registration (``evidence``) gave it
    ``rank`` at the address of ``addr_hash``, a level of ``rule``. Its id: the rule, the
    address hash and the level."""
    t = int(evidence.time.timestamp())
    mid = derived_id("address", rule.id, addr_hash, str(rank))
    measures = {"enterprises": float(rank), "min_enterprises": float(rule.min_enterprises)}
    return make_warning(
        rule, version, uscc, [evidence], (t, t + 1), t, measures, place=place, mid=mid
    )
