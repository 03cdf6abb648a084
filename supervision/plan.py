"""A spot-check plan as a JSON document, and its verification (pure): the "one public".

A plan (:func:`make_plan`) records what was drawn and everything needed to draw it again:

=====================  =========================================================================
``plan_id``            derived from the inputs (:func:`plan_id_of`): the same draw, the same id
``name``               the operator's name for it
``preset``             the preset's name; ``preset_content`` the preset itself
``seed``, ``per_task`` the draw's seed and inspectors per task
``scope``, ``domain``  the scope (``supervision/scope.py``) and the domain inspectors qualify for
``model_version``      the scoring model whose classes were drawn from
``asof``               the plan's time (ISO 8601, UTC): the newest event time of the store
``directory_digest``   SHA-256 of the snapshot's ``<uscc>,<class>`` lines, sorted, each ending in
                       a newline (``LC_ALL=C sort | sha256sum``)
``inspector_digest``   SHA-256 of the pool (``supervision/inspectors.py``)
``strata``             per class A-D: ``population``, ``ratio``, ``drawn``
``tasks``              each ``task_id``, ``uscc``, ``class``, ``inspectors`` (in draw order)
``excluded``           how many enterprises each exclusion left out (informative: the live
                       directory is not in the plan, so this is not verified)
``snapshot``           the enterprises drawn from: ``uscc``, ``class``, ``avoid`` (inspector ids)
``pool``               the inspectors: ``id``, ``name``, ``department``, ``qualifications``
=====================  =========================================================================

:func:`verify` recomputes the digests from the recorded snapshot and pool, re-draws, and
returns the first difference, or None when the re-draw is identical.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from alerts.rules import derived_id
from schemas.classes import CLASSES
from supervision.draw import draw
from supervision.eligibility import EXCLUSIONS, Entry
from supervision.exceptions import PlanError, PlanFileError
from supervision.ids import plan_task_id
from supervision.inspectors import Inspector, pool_digest, pool_from_content
from supervision.preset import Preset, preset_from_content
from supervision.scope import Scope, scope_from_content

__all__ = [
    "PLAN_KEYS",
    "directory_digest",
    "entries_from_content",
    "make_plan",
    "plan_id_of",
    "verify",
]

#: The keys of a plan document, in the order it is written.
PLAN_KEYS = (
    "plan_id",
    "name",
    "preset",
    "seed",
    "per_task",
    "scope",
    "domain",
    "model_version",
    "asof",
    "directory_digest",
    "inspector_digest",
    "strata",
    "tasks",
    "excluded",
    "preset_content",
    "snapshot",
    "pool",
)


def directory_digest(snapshot: Sequence[Entry]) -> str:
    """SHA-256 (hex) of the sorted ``<uscc>,<class>\\n`` lines of ``snapshot``."""
    lines = sorted(f"{e.uscc},{e.klass}\n" for e in snapshot)
    return hashlib.sha256("".join(lines).encode()).hexdigest()


def _canonical(doc: Any) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _entry_content(e: Entry) -> dict[str, Any]:
    return {"uscc": e.uscc, "class": e.klass, "avoid": list(e.avoid)}


def plan_id_of(
    *,
    name: str,
    preset: Preset,
    scope: Scope,
    seed: int,
    per_task: int,
    snapshot: Sequence[Entry],
    pool: Sequence[Inspector],
) -> str:
    """The plan's id: a UUID v5 (``alerts.rules.derived_id``) of ``riskmon.plan`` and the
    SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every input of the draw."""
    inputs = {
        "name": name,
        "preset": preset.content(),
        "scope": scope.content(),
        "seed": seed,
        "per_task": per_task,
        "snapshot": [_entry_content(e) for e in sorted(snapshot, key=lambda e: e.uscc)],
        "pool": pool_digest(pool),
    }
    return derived_id("riskmon.plan", hashlib.sha256(_canonical(inputs)).hexdigest())


def _iso(asof: int) -> str:
    return dt.datetime.fromtimestamp(asof, dt.UTC).isoformat().replace("+00:00", "Z")


def make_plan(
    *,
    name: str,
    preset: Preset,
    scope: Scope,
    seed: int,
    per_task: int,
    model_version: str,
    asof: int | str,
    snapshot: Sequence[Entry],
    pool: Sequence[Inspector],
    excluded: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """Draw the plan (``supervision/draw.py``) and return its document (:data:`PLAN_KEYS`).
    ``asof``: Unix seconds, or the ISO text a plan recorded. Raises ``DrawError`` when the pool
    is too small for a task."""
    snapshot = sorted(snapshot, key=lambda e: e.uscc)
    pool = sorted(pool, key=lambda i: i.id)
    domain = scope.domain or preset.domain
    plan_id = plan_id_of(
        name=name,
        preset=preset,
        scope=scope,
        seed=seed,
        per_task=per_task,
        snapshot=snapshot,
        pool=pool,
    )
    done = draw(
        snapshot,
        {c: preset.classes[c].ratio for c in CLASSES},
        pool,
        seed=seed,
        per_task=per_task,
        domain=domain,
        task_id=lambda uscc: plan_task_id(plan_id, uscc),
    )
    return {
        "plan_id": plan_id,
        "name": name,
        "preset": preset.name,
        "seed": seed,
        "per_task": per_task,
        "scope": scope.content(),
        "domain": domain,
        "model_version": model_version,
        "asof": asof if isinstance(asof, str) else _iso(asof),
        "directory_digest": directory_digest(snapshot),
        "inspector_digest": pool_digest(pool),
        "strata": {
            c: {"population": s.population, "ratio": s.ratio, "drawn": s.drawn}
            for c, s in done.strata.items()
        },
        "tasks": [
            {
                "task_id": plan_task_id(plan_id, t.uscc),
                "uscc": t.uscc,
                "class": t.klass,
                "inspectors": list(t.inspectors),
            }
            for t in done.tasks
        ],
        "excluded": {k: int((excluded or {}).get(k, 0)) for k in EXCLUSIONS},
        "preset_content": preset.content(),
        "snapshot": [_entry_content(e) for e in snapshot],
        "pool": [i.content() for i in pool],
    }


def entries_from_content(docs: Any) -> list[Entry]:
    """The snapshot as a plan records it. Raises :class:`PlanFileError` naming the entry."""
    if not isinstance(docs, list):
        raise PlanFileError("snapshot: expected a list")
    out = []
    for i, d in enumerate(docs):
        try:
            klass = d["class"]
            if klass not in CLASSES:
                raise PlanFileError(f"snapshot[{i}].class: {klass!r} is not one of A-D")
            out.append(Entry(str(d["uscc"]), klass, tuple(str(a) for a in d.get("avoid", []))))
        except (KeyError, TypeError, AttributeError) as exc:
            raise PlanFileError(f"snapshot[{i}]: missing or malformed {exc}") from None
    return out


def _first_difference(path: str, recorded: Any, again: Any) -> str | None:
    if isinstance(recorded, Mapping) and isinstance(again, Mapping):
        for k in list(again) + [k for k in recorded if k not in again]:
            if k not in recorded:
                return f"{path}.{k}: missing from the plan"
            if k not in again:
                return f"{path}.{k}: not in a re-draw"
            found = _first_difference(f"{path}.{k}", recorded[k], again[k])
            if found:
                return found
        return None
    if isinstance(recorded, list) and isinstance(again, list):
        for i, (r, a) in enumerate(zip(recorded, again, strict=False)):
            found = _first_difference(f"{path}[{i}]", r, a)
            if found:
                return found
        if len(recorded) != len(again):
            return f"{path}: {len(recorded)} recorded, a re-draw gives {len(again)}"
        return None
    if recorded != again or type(recorded) is not type(again):
        return f"{path}: recorded {recorded!r}, a re-draw gives {again!r}"
    return None


#: What verify compares, in this order (the first difference is reported).
_COMPARED = (
    "directory_digest",
    "inspector_digest",
    "plan_id",
    "preset",
    "domain",
    "strata",
    "tasks",
)


def verify(plan: Mapping[str, Any]) -> str | None:
    """Re-draw ``plan`` from its recorded snapshot, pool, preset, scope, seed and per-task
    count, recomputing both digests; the first difference (``tasks[3].inspectors: recorded
    [...], a re-draw gives [...]``), or None if the re-draw is identical."""
    missing = [k for k in PLAN_KEYS if k != "excluded" and k not in plan]
    if missing:
        return f"{missing[0]}: missing from the plan"
    try:
        seed, per_task = plan["seed"], plan["per_task"]
        if not isinstance(seed, int) or not isinstance(per_task, int):
            return "seed and per_task: must be whole numbers"
        again = make_plan(
            name=str(plan["name"]),
            preset=preset_from_content(plan["preset_content"], "preset_content"),
            scope=scope_from_content(plan["scope"]),
            seed=seed,
            per_task=per_task,
            model_version=str(plan["model_version"]),
            asof=str(plan["asof"]),
            snapshot=entries_from_content(plan["snapshot"]),
            pool=pool_from_content(plan["pool"]),
        )
    except PlanError as exc:
        return f"re-draw: {exc}"
    for key in _COMPARED:
        found = _first_difference(key, plan[key], again[key])
        if found:
            return found
    return None
