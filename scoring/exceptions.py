"""Errors of the scoring package.

ScoringError            root; ``retryable`` says whether trying again can help
├── ModelError          the scoring model file is unreadable or invalid (fail at start)
└── StoreError          Redis said no
    └── StoreUnavailableError   Redis cannot be reached now (retryable)
"""

from __future__ import annotations

__all__ = ["ModelError", "ScoringError", "StoreError", "StoreUnavailableError"]


class ScoringError(Exception):
    retryable = False


class ModelError(ScoringError):
    pass


class StoreError(ScoringError):
    pass


class StoreUnavailableError(StoreError):
    retryable = True
