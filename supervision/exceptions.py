"""Errors of the supervision package.

SupervisionError        root; ``retryable`` says whether trying again can help
├── ConfigError         the supervision configuration is unreadable or invalid (fail at start)
└── PlanError           a spot-check plan cannot be drawn or checked; the message names the
    │                   file, the field or the task
    ├── PresetError     a preset (name or TOML file) is unknown, unreadable or invalid
    ├── PoolError       the inspector pool or conflicts CSV is unreadable or invalid
    ├── ScopeError      a ``--scope KEY=VALUE`` is malformed or names an unknown key or value
    ├── DrawError       the draw cannot be made: too few qualified inspectors for a task
    └── PlanFileError   a plan JSON is unreadable or lacks what verification needs
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DrawError",
    "PlanError",
    "PlanFileError",
    "PoolError",
    "PresetError",
    "ScopeError",
    "SupervisionError",
]


class SupervisionError(Exception):
    retryable = False


class ConfigError(SupervisionError):
    pass


class PlanError(SupervisionError):
    pass


class PresetError(PlanError):
    pass


class PoolError(PlanError):
    pass


class ScopeError(PlanError):
    pass


class DrawError(PlanError):
    pass


class PlanFileError(PlanError):
    pass
