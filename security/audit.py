"""The audit log's records and their chain: how each is sealed, and how a copy is verified.

A record says who (``actor``) did what (``action``) to what (``target``) and when (``time``,
RFC 3339 UTC), with a SHA-256 ``details`` digest of what else there was to say (the details
themselves may be personal: only their digest is kept). Records form chains (``chain``; one
today, ``ops``): each carries its position ``seq`` (0, 1, ...), the ``prev`` hash of the
record before it (64 zeros for the first), and its own ``hash``: HMAC-SHA256 under the audit
key (``RISKMON_AUDIT_KEY``; unset, a fixed one, so anyone can recompute it) of the record's
canonical JSON without ``hash``. With a key set, a chain cannot be rebuilt after an edit
without it.

:func:`verify` reads records in the order of a copy (the topic, or an export) and names the
first that breaks its chain: altered (its hash does not match it), missing before it (its seq
skips ahead), out of order (a seq already passed, but different), or the end of the copy
short of the chain's head where the head is known. A record identical to one already read is
a duplicate of at-least-once delivery, not a break, and is passed over.

Several chains are bound into one by anchors: an ``audit.anchor`` record of ``ops`` names,
in its ``target``, a seq of each other chain (``p000@12,p001@7``), and its details are those
records' hashes (:func:`anchor`). The verifier checks each anchor against the records it names,
so an edit of a partition chain before an anchor is caught even if the edited chain is rebuilt
consistently, as long as ``ops`` (whose head is checked) is intact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

import orjson

from security.exceptions import AuditError

__all__ = [
    "ANCHOR",
    "DEFAULT_AUDIT_KEY",
    "GENESIS",
    "AuditRecord",
    "Head",
    "Verdict",
    "anchor",
    "details_digest",
    "seal",
    "verify",
]

DEFAULT_AUDIT_KEY: Final = b"riskmon-audit-v1"
#: The action of a record that binds other chains' heads into ``ops``.
ANCHOR: Final = "audit.anchor"
#: ``prev`` of a chain's first record.
GENESIS: Final = "0" * 64
_FIELDS: Final = ("chain", "seq", "time", "actor", "action", "target", "details", "prev", "hash")


def details_digest(details: Mapping[str, Any]) -> str:
    """SHA-256 of the details' canonical JSON (sorted keys)."""
    return hashlib.sha256(orjson.dumps(dict(details), option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    chain: str
    seq: int
    time: str
    actor: str
    action: str
    target: str
    details: str
    prev: str
    hash: str

    def body(self) -> bytes:
        """The canonical JSON the hash is computed over (every field but ``hash``)."""
        doc = {
            "action": self.action,
            "actor": self.actor,
            "chain": self.chain,
            "details": self.details,
            "prev": self.prev,
            "seq": self.seq,
            "target": self.target,
            "time": self.time,
        }
        return orjson.dumps(doc)  # keys already in sorted order

    def expected_hash(self, key: bytes) -> str:
        return hmac.new(key, self.body(), hashlib.sha256).hexdigest()

    def to_json(self) -> bytes:
        """One line of an export, one message of the topic."""
        return orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, raw: bytes | str) -> AuditRecord:
        """Raises :class:`AuditError` for anything but a record's JSON."""
        try:
            doc = orjson.loads(raw)
            if not isinstance(doc, dict) or set(doc) != set(_FIELDS):
                raise ValueError(f"fields {sorted(doc) if isinstance(doc, dict) else doc!r}")
            rec = cls(**doc)
            if not isinstance(rec.seq, int) or not all(
                isinstance(getattr(rec, f), str) for f in _FIELDS if f != "seq"
            ):
                raise ValueError("a field of the wrong type")
        except (ValueError, TypeError) as exc:
            raise AuditError(f"not an audit record: {exc}") from None
        return rec


@dataclass(frozen=True, slots=True)
class Head:
    """Where a chain ends: its last record's seq and hash (seq -1: an empty chain)."""

    seq: int = -1
    hash: str = GENESIS


def anchor(heads: Mapping[str, Head]) -> tuple[str, dict[str, str]]:
    """(target, details) of an anchor record binding ``heads`` (``ops`` itself left out)."""
    bound = {c: h for c, h in sorted(heads.items()) if c != "ops" and h.seq >= 0}
    return ",".join(f"{c}@{h.seq}" for c, h in bound.items()), {c: h.hash for c, h in bound.items()}


def _anchor_problem(rec: AuditRecord, seen: Mapping[tuple[str, int], str]) -> str | None:
    hashes: dict[str, str] = {}
    for part in filter(None, rec.target.split(",")):
        chain, _, seq = part.rpartition("@")
        found = seen.get((chain, int(seq))) if seq.isdigit() else None
        if found is None:
            return f"names {part}, which the copy lacks (records missing)"
        hashes[chain] = found
    if details_digest(hashes) != rec.details:
        return "the records it binds are not those it was made on (altered)"
    return None


def seal(
    key: bytes,
    head: Head,
    *,
    chain: str,
    time: str,
    actor: str,
    action: str,
    target: str,
    details: Mapping[str, Any],
) -> AuditRecord:
    """The record that follows ``head`` in ``chain``, its hash computed under ``key``."""
    open_ = AuditRecord(
        chain, head.seq + 1, time, actor, action, target, details_digest(details), head.hash, ""
    )
    return dataclasses.replace(open_, hash=open_.expected_hash(key))


@dataclass(frozen=True, slots=True)
class Verdict:
    """``problem`` is None for a sound copy, else names the first broken record (its
    1-based position in the copy, chain and seq) and why. ``heads``: where each chain ends."""

    records: int
    duplicates: int
    heads: Mapping[str, Head]
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify(
    records: Iterable[AuditRecord], key: bytes, known_heads: Mapping[str, Head] | None = None
) -> Verdict:
    """Check a copy per the module's rules; ``known_heads``: the chains' heads from Redis, to
    catch a copy cut short at its end (none: only what the copy shows)."""
    heads: dict[str, Head] = {}
    seen: dict[tuple[str, int], str] = {}
    anchors: list[tuple[int, AuditRecord]] = []
    count = duplicates = 0

    def verdict(problem: str | None) -> Verdict:
        return Verdict(count, duplicates, dict(heads), problem)

    for count, rec in enumerate(records, start=1):
        where = f"record {count} (chain {rec.chain}, seq {rec.seq})"
        if rec.hash != rec.expected_hash(key):
            return verdict(f"{where}: its hash does not match its contents (altered)")
        head = heads.get(rec.chain, Head())
        if rec.seq <= head.seq:
            if seen.get((rec.chain, rec.seq)) == rec.hash:
                duplicates += 1
                continue
            return verdict(f"{where}: seq {rec.seq} again, after {head.seq} (out of order)")
        if rec.seq > head.seq + 1:
            return verdict(f"{where}: seq {head.seq + 1} was due (records missing or out of order)")
        if rec.prev != head.hash:
            return verdict(f"{where}: prev is not the hash of seq {head.seq} (altered)")
        heads[rec.chain] = Head(rec.seq, rec.hash)
        seen[(rec.chain, rec.seq)] = rec.hash
        if rec.action == ANCHOR and rec.chain == "ops":
            anchors.append((count, rec))
    for at, rec in anchors:  # once every chain is read: they may come in any interleaving
        problem = _anchor_problem(rec, seen)
        if problem is not None:
            return verdict(f"record {at} (chain ops, seq {rec.seq}, an anchor): {problem}")
    for chain, known in sorted((known_heads or {}).items()):
        got = heads.get(chain, Head())
        if got.seq < known.seq:
            return verdict(
                f"chain {chain} ends at seq {got.seq}, but its head is at seq {known.seq}"
                " (records missing at the end)"
            )
        if got.seq == known.seq and got.hash != known.hash:
            return verdict(f"chain {chain}: its last record is not the head's (altered)")
    return verdict(None)
