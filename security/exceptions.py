"""Errors of the security package.

SecurityError          root; ``retryable`` says whether trying again can help
├── ConfigError        an authentication setting is invalid (fail at start, naming it)
├── TokenError         a token cannot be made, found or revoked; the message says which
├── UnavailableError   Redis (tokens) or the issuer (keys) cannot answer now: retryable
└── AuditError         an audit record or chain cannot be read or written
"""

from __future__ import annotations

__all__ = ["AuditError", "ConfigError", "SecurityError", "TokenError", "UnavailableError"]


class SecurityError(Exception):
    retryable = False


class ConfigError(SecurityError):
    pass


class TokenError(SecurityError):
    pass


class UnavailableError(SecurityError):
    retryable = True


class AuditError(SecurityError):
    pass
