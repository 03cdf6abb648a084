"""Errors of the supervision package.

SupervisionError        root; ``retryable`` says whether trying again can help
└── ConfigError         the supervision configuration is unreadable or invalid (fail at start)
"""

from __future__ import annotations

__all__ = ["ConfigError", "SupervisionError"]


class SupervisionError(Exception):
    retryable = False


class ConfigError(SupervisionError):
    pass
