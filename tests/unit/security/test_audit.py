"""The audit chain: sealed records verify, and every kind of tampering is named where it is."""

from __future__ import annotations

import dataclasses

import pytest

from security.audit import ANCHOR, GENESIS, AuditRecord, Head, anchor, seal, verify
from security.exceptions import AuditError

KEY = b"k" * 32


def _chain(n: int, key: bytes = KEY) -> list[AuditRecord]:
    out: list[AuditRecord] = []
    head = Head()
    for i in range(n):
        rec = seal(
            key,
            head,
            chain="ops",
            time=f"2026-12-07T10:00:{i:02d}.000+00:00",
            actor="token:li.na",
            action="enterprise.explain",
            target=f"9161011200000000{i:02d}",
            details={"i": i},
        )
        out.append(rec)
        head = Head(rec.seq, rec.hash)
    return out


def test_a_sealed_chain_verifies_and_reports_its_head() -> None:
    chain = _chain(5)
    v = verify(chain, KEY, {"ops": Head(4, chain[-1].hash)})
    assert v.ok and v.records == 5 and v.duplicates == 0
    assert v.heads == {"ops": Head(4, chain[-1].hash)}
    assert chain[0].prev == GENESIS and chain[1].prev == chain[0].hash


def test_an_altered_record_is_named() -> None:
    chain = _chain(5)
    chain[2] = dataclasses.replace(chain[2], target="91610112MA6TGQ1K2M")
    v = verify(chain, KEY)
    assert (
        v.problem == "record 3 (chain ops, seq 2): its hash does not match its contents (altered)"
    )


def test_an_altered_record_resealed_without_the_chain_still_breaks_it() -> None:
    chain = _chain(5)
    forged = seal(
        KEY,
        Head(1, chain[1].hash),
        chain="ops",
        time=chain[2].time,
        actor="x",
        action=chain[2].action,
        target=chain[2].target,
        details={},
    )
    chain[2] = forged
    assert verify(chain, KEY).problem == (
        "record 4 (chain ops, seq 3): prev is not the hash of seq 2 (altered)"
    )


def test_a_deleted_record_is_named() -> None:
    chain = _chain(5)
    del chain[1]
    assert verify(chain, KEY).problem == (
        "record 2 (chain ops, seq 2): seq 1 was due (records missing or out of order)"
    )


def test_two_records_swapped_are_named() -> None:
    chain = _chain(5)
    chain[2], chain[3] = chain[3], chain[2]
    assert verify(chain, KEY).problem == (
        "record 3 (chain ops, seq 3): seq 2 was due (records missing or out of order)"
    )


def test_a_copy_cut_short_is_caught_against_the_head() -> None:
    chain = _chain(5)
    assert verify(chain[:3], KEY).ok  # nothing in the copy itself shows it
    assert verify(chain[:3], KEY, {"ops": Head(4, chain[-1].hash)}).problem == (
        "chain ops ends at seq 2, but its head is at seq 4 (records missing at the end)"
    )


def test_a_redelivered_record_is_a_duplicate_not_a_break() -> None:
    chain = _chain(4)
    v = verify([chain[0], chain[1], chain[0], chain[1], chain[2], chain[3], chain[3]], KEY)
    assert v.ok and v.records == 7 and v.duplicates == 3


def test_without_the_key_a_chain_cannot_be_rebuilt() -> None:
    chain = _chain(3, key=b"the real key, which only the bureau holds")
    assert verify(chain, b"the real key, which only the bureau holds").ok
    rebuilt = _chain(3, key=b"a key the forger made up for himself!")
    assert not verify(rebuilt, b"the real key, which only the bureau holds").ok


def test_a_record_survives_its_json_and_nothing_else_passes_for_one() -> None:
    (rec,) = _chain(1)
    assert AuditRecord.from_json(rec.to_json()) == rec
    for bad in (b"{}", b"[]", b"not json", rec.to_json().replace(b'"seq":0', b'"seq":"0"')):
        with pytest.raises(AuditError, match="not an audit record"):
            AuditRecord.from_json(bad)


def _resealed(records: list[AuditRecord], name: str) -> list[AuditRecord]:
    # A partition chain sealed properly under its own name.
    out, head = [], Head()
    for r in records:
        rec = seal(
            KEY,
            head,
            chain=name,
            time=r.time,
            actor="riskmon",
            action="class.change",
            target=r.target,
            details={"to": r.seq},
        )
        out.append(rec)
        head = Head(rec.seq, rec.hash)
    return out


def test_an_anchor_binds_other_chains_into_ops() -> None:
    p0 = _resealed(_chain(3), "p000")
    p1 = _resealed(_chain(2), "p001")
    target, details = anchor(
        {"p000": Head(2, p0[2].hash), "p001": Head(1, p1[1].hash), "ops": Head(0, "x")}
    )
    assert target == "p000@2,p001@1"
    ops = [
        seal(
            KEY,
            Head(),
            chain="ops",
            time="t",
            actor="riskmon",
            action=ANCHOR,
            target=target,
            details=details,
        )
    ]
    # any interleaving of the chains verifies
    assert verify([*ops, *p1, *p0], KEY).ok
    assert verify([*p0, *ops, *p1], KEY).ok
    # a partition chain rebuilt after an edit (consistent in itself) no longer matches the anchor
    forged = _resealed(
        [*_chain(2), dataclasses.replace(_chain(3)[2], target="someone-else")], "p000"
    )
    assert verify(forged, KEY).ok
    assert verify([*ops, *forged, *p1], KEY).problem == (
        "record 1 (chain ops, seq 0, an anchor): the records it binds are not those it was made"
        " on (altered)"
    )
    assert verify([*ops, *p0[:2], *p1], KEY).problem == (
        "record 1 (chain ops, seq 0, an anchor): names p000@2, which the copy lacks (records"
        " missing)"
    )
