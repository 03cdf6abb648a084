"""The inspector pool of a plan, and declared avoidance (pure but for reading the files).

The pool is a CSV file with the header exactly ``id,name,department,qualifications``; the
qualifications are separated by ``;`` (``food;drug``), and may be empty (such an inspector
takes only plans without a key domain). Ids are unique. An optional conflicts file, header
exactly ``inspector_id,uscc``, declares an inspector's conflict of interest with an enterprise
(回避): that inspector is never drawn for it.

The pool's digest (:func:`pool_digest`) is the SHA-256 of its canonical lines, sorted by id::

    <id>,<name>,<department>,<qualifications sorted, joined by ;>\\n

so a pool re-ordered or re-spaced has the same digest, and any changed field another.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.uscc import problem as uscc_problem
from supervision.exceptions import PoolError

__all__ = [
    "CONFLICTS_HEADER",
    "POOL_HEADER",
    "Inspector",
    "load_conflicts",
    "load_pool",
    "parse_conflicts",
    "parse_pool",
    "pool_digest",
    "pool_from_content",
    "qualified",
]

POOL_HEADER = ("id", "name", "department", "qualifications")
CONFLICTS_HEADER = ("inspector_id", "uscc")
_MAX_ID = 64


@dataclass(frozen=True, slots=True)
class Inspector:
    id: str
    name: str
    department: str
    #: Sorted, unique.
    qualifications: tuple[str, ...]

    def line(self) -> str:
        """The canonical line of the pool's digest (without its newline)."""
        return f"{self.id},{self.name},{self.department},{';'.join(self.qualifications)}"

    def content(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "department": self.department,
            "qualifications": list(self.qualifications),
        }


def _rows(text: str, where: str, header: Sequence[str]) -> list[tuple[int, list[str]]]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or [c.strip() for c in rows[0]] != list(header):
        got = ",".join(rows[0]) if rows else "(empty file)"
        raise PoolError(f"{where}: the header must be exactly {','.join(header)}, not {got}")
    out = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise PoolError(f"{where} line {n}: {len(row)} fields, expected {len(header)}")
        out.append((n, [c.strip() for c in row]))
    return out


def _inspector(where: str, ident: str, name: str, department: str, quals: str) -> Inspector:
    if not ident or len(ident) > _MAX_ID or "," in ident:
        raise PoolError(f"{where}: id: must be 1-{_MAX_ID} characters without a comma")
    if not name:
        raise PoolError(f"{where}: name: must not be empty")
    tokens = [q.strip() for q in quals.split(";")] if quals else []
    if any(not q for q in tokens):
        raise PoolError(f"{where}: qualifications: an empty qualification in {quals!r}")
    return Inspector(ident, name, department, tuple(sorted(set(tokens))))


def parse_pool(text: str, where: str = "pool") -> list[Inspector]:
    """The inspectors of a pool CSV, sorted by id. Raises :class:`PoolError` naming the line
    and the field."""
    pool: dict[str, Inspector] = {}
    for n, (ident, name, department, quals) in _rows(text, where, POOL_HEADER):
        ins = _inspector(f"{where} line {n}", ident, name, department, quals)
        if ins.id in pool:
            raise PoolError(f"{where} line {n}: id: {ins.id!r} appears twice")
        pool[ins.id] = ins
    if not pool:
        raise PoolError(f"{where}: no inspectors")
    return [pool[k] for k in sorted(pool)]


def pool_from_content(docs: Sequence[Mapping[str, Any]], where: str = "pool") -> list[Inspector]:
    """The pool as a plan records it (:meth:`Inspector.content` each), sorted by id."""
    out = []
    for i, d in enumerate(docs):
        try:
            quals = ";".join(str(q) for q in d["qualifications"])
            ins = _inspector(
                f"{where}[{i}]", str(d["id"]), str(d["name"]), str(d["department"]), quals
            )
        except (KeyError, TypeError) as exc:
            raise PoolError(f"{where}[{i}]: missing or malformed {exc}") from None
        out.append(ins)
    return sorted(out, key=lambda x: x.id)


def parse_conflicts(
    text: str, pool: Sequence[Inspector], where: str = "conflicts"
) -> dict[str, frozenset[str]]:
    """Declared conflicts as uscc -> inspector ids. Raises :class:`PoolError` naming the line
    for an invalid USCC or an inspector not in ``pool``."""
    known = {i.id for i in pool}
    out: dict[str, set[str]] = {}
    for n, (ident, uscc) in _rows(text, where, CONFLICTS_HEADER):
        if ident not in known:
            raise PoolError(f"{where} line {n}: inspector_id: {ident!r} is not in the pool")
        problem = uscc_problem(uscc)
        if problem is not None:
            raise PoolError(f"{where} line {n}: uscc: {problem}")
        out.setdefault(uscc, set()).add(ident)
    return {k: frozenset(v) for k, v in out.items()}


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PoolError(f"{what} {path}: cannot read: {exc}") from None


def load_pool(path: Path) -> list[Inspector]:
    """:func:`parse_pool` of the file at ``path``."""
    return parse_pool(_read(path, "inspector pool"), str(path))


def load_conflicts(path: Path, pool: Sequence[Inspector]) -> dict[str, frozenset[str]]:
    """:func:`parse_conflicts` of the file at ``path``."""
    return parse_conflicts(_read(path, "conflicts file"), pool, str(path))


def pool_digest(pool: Sequence[Inspector]) -> str:
    """SHA-256 (hex) of the pool's canonical lines, sorted by id (see the module's docstring)."""
    text = "".join(f"{i.line()}\n" for i in sorted(pool, key=lambda x: x.id))
    return hashlib.sha256(text.encode()).hexdigest()


def qualified(pool: Sequence[Inspector], domain: str) -> list[Inspector]:
    """The inspectors qualified for a plan of key domain ``domain`` ("": all of them)."""
    return [i for i in pool if not domain or domain in i.qualifications]
