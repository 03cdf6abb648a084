"""Who may call the worker's API: the authenticator its settings describe.

riskmon's own tokens are always accepted (their records in Redis, ``security/store``); an
organisation's OIDC tokens when ``RISKMON_OIDC_ISSUER``, ``_AUDIENCE`` and ``_JWKS`` are set.
A JWKS file that cannot be read fails here, at start, naming the setting.
"""

from __future__ import annotations

from redis.asyncio import Redis

from security.audit import DEFAULT_AUDIT_KEY
from security.authn import Authenticator
from security.exceptions import ConfigError as SecurityConfigError
from security.oidc import OidcConfig, OidcVerifier
from security.store.audit import AuditLog
from security.store.tokens import TokenStore
from streams.settings import ConfigError, Settings

__all__ = ["audit_key", "audit_log", "authenticator", "token_store"]


def token_store(settings: Settings, client: Redis) -> TokenStore:
    """The token records of this deployment, under its prefix and key."""
    key = settings.token_key.get_secret_value().encode() if settings.token_key else None
    return TokenStore(client, prefix=settings.redis_prefix, key=key)


def audit_key(settings: Settings) -> bytes:
    """The audit log's key: RISKMON_AUDIT_KEY, else the fixed default."""
    if settings.audit_key is None:
        return DEFAULT_AUDIT_KEY
    return settings.audit_key.get_secret_value().encode()


def audit_log(settings: Settings, client: Redis) -> AuditLog:
    """The ``ops`` audit chain of this deployment, under its prefix and key."""
    return AuditLog(client, prefix=settings.redis_prefix, key=audit_key(settings))


def authenticator(settings: Settings, client: Redis) -> Authenticator:
    """Tokens, and OIDC where configured. Raises :class:`ConfigError` for a bad JWKS."""
    s = settings
    oidc = None
    if s.oidc_issuer and s.oidc_audience and s.oidc_jwks:
        config = OidcConfig(
            issuer=s.oidc_issuer,
            audience=s.oidc_audience,
            jwks=s.oidc_jwks,
            role_claim=s.oidc_role_claim,
            algorithms=tuple(s.oidc_algorithms.split(",")),
        )
        try:
            oidc = OidcVerifier(config).authenticate
        except SecurityConfigError as exc:
            raise ConfigError(str(exc)) from exc
    return Authenticator(token_store(s, client).authenticate, oidc)
