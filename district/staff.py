"""The district's inspectors (pure): a pool CSV of the shape ``riskmon plan --inspectors``
reads (``supervision/inspectors.py``), so the demo can draw plans without a file of its own.

The names are placeholders of the form 检查员-食品-01, never a person's; the departments follow
the key domains, with general inspectors beside them (a plan without a key domain takes any).
"""

from __future__ import annotations

from typing import Final

__all__ = ["inspector_pool"]

#: (department, qualifications, how many): food has the most inspectors, as in a district bureau.
_TEAMS: Final = (
    ("food", "food;general", 10),
    ("drug", "drug;general", 4),
    ("special_equipment", "special_equipment;general", 4),
    ("quality", "quality;general", 4),
    ("general", "general", 8),
)
_LABELS: Final = {
    "food": "食品",
    "drug": "药品",
    "special_equipment": "特种设备",
    "quality": "质量",
    "general": "综合",
}


def inspector_pool() -> str:
    """The pool as CSV text (header ``id,name,department,qualifications``), ids ``WY-<n>``."""
    rows = ["id,name,department,qualifications"]
    n = 0
    for department, quals, count in _TEAMS:
        for k in range(1, count + 1):
            n += 1
            rows.append(f"WY-{n:03d},检查员-{_LABELS[department]}-{k:02d},{department},{quals}")
    return "\n".join(rows) + "\n"
