"""Why an enterprise has its class: the state rendered for people (pure).

The class is an internal reference for allocating supervision, so every number in it must be
traceable to the events behind it: each contribution is listed with its points when it was
recorded and at ``asof``, when it stops counting, and whether it was cancelled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from schemas.classes import CLASS_NAMES, name_or_none
from scoring.changes import KEY_PREFIXES
from scoring.fold import EnterpriseState, current_micro
from scoring.model import Dimension, ScoringModel

__all__ = ["explain"]


def _iso(t: int) -> str | None:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat() if t > 0 else None


def explain(uscc: str, state: EnterpriseState, model: ScoringModel) -> dict[str, Any]:
    """A JSON-ready explanation of ``state`` (evaluated at its own ``asof``)."""
    t = state.asof
    per_dim = dict.fromkeys(Dimension, 0)
    rows: list[dict[str, Any]] = []
    for c in state.contributions.values():
        now = current_micro(c, t)
        dim = Dimension(c.dimension)
        per_dim[dim] += now
        prefix, _, ref = c.key.partition(":")
        rows.append(
            {
                "key": c.key,
                "event_type": str(KEY_PREFIXES.get(prefix, "unknown")),
                "reference": ref or None,
                "detail": c.ref or None,
                "dimension": dim.name.lower(),
                "recorded_at": _iso(c.time),
                "points_recorded": c.points,
                "points_now": now / 1_000_000,
                "half_life_days": c.half_life / 86_400 if c.half_life else None,
                "counts_until": _iso(c.expires),
                "min_class": name_or_none(c.floor),
                "cancelled": c.cancelled,
            }
        )
    rows.sort(key=lambda r: (r["cancelled"], -r["points_now"], r["key"]))
    caps = model.dimension_caps
    dimensions = {
        d.name.lower(): {
            "points": per_dim[d] / 1_000_000,
            "cap": caps[d.name.lower()],  # type: ignore[index]
            "counted": min(per_dim[d] / 1_000_000, caps[d.name.lower()]),  # type: ignore[index]
        }
        for d in Dimension
    }
    p = state.profile
    return {
        "uscc": uscc,
        "class": CLASS_NAMES[state.klass],
        "score": state.score / 1_000_000,
        "asof": _iso(state.asof),
        "next_time_driven_change": _iso(state.due),
        "model_version": state.version,
        "thresholds": model.thresholds.model_dump(),
        "profile": None
        if p is None
        else {
            "division_code": p.division,
            "industry_code": p.industry,
            "new_economy": p.new_economy,
            "entity_type": p.entity_type,
        },
        "dimensions": dimensions,
        "contributions": rows,
    }
