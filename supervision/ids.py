"""Identifiers supervision derives (pure): the same inputs give the same id, every time."""

from __future__ import annotations

from alerts.rules import derived_id

__all__ = ["plan_task_id"]


def plan_task_id(plan_id: str, uscc: str) -> str:
    """The task id of ``uscc``'s task in plan ``plan_id`` (UUID v5 of both): publishing a plan
    twice, or re-drawing it from its snapshot, gives the same task ids."""
    return derived_id(plan_id, uscc)
