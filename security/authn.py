"""Who a request is: the ``Authorization: Bearer`` header, checked by the right verifier.

A riskmon token (``rmk_...``) goes to the token store; anything else, when OIDC is configured,
to the OIDC verifier. Each verifier answers a principal or None, never why: a caller learns
only that the credentials were not good.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from security.roles import Principal
from security.tokens import TOKEN_PREFIX

__all__ = ["Authenticate", "Authenticator", "bearer"]

#: Verifies one presented credential: the principal, or None if it is not good.
Authenticate = Callable[[str], Awaitable[Principal | None]]


def bearer(headers: Mapping[str, str]) -> str | None:
    """The credential of an ``Authorization: Bearer <credential>`` header (the scheme is
    case-insensitive), '' for a header of another form, None for no header at all."""
    value = headers.get("Authorization")
    if value is None:
        return None
    scheme, _, credential = value.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential or " " in credential:
        return ""
    return credential


class Authenticator:
    """Sends each credential to its verifier: ``tokens`` for riskmon's own, ``oidc`` (None:
    not configured) for the rest."""

    def __init__(self, tokens: Authenticate, oidc: Authenticate | None = None) -> None:
        self._tokens = tokens
        self._oidc = oidc

    async def __call__(self, credential: str) -> Principal | None:
        if credential.startswith(TOKEN_PREFIX):
            return await self._tokens(credential)
        if self._oidc is not None and credential.count(".") == 2:
            return await self._oidc(credential)
        return None
