"""Bearer JWTs of an organisation's identity provider (OIDC), verified with joserfc.

A token is accepted when its signature verifies with a key of the issuer's JWKS (a file, or an
``https://`` URL), in one of the allowed algorithms (asymmetric only by default: never
``none``, never an HMAC the JWKS could be made to hold), and its claims hold: ``iss`` is the
issuer, ``aud`` names the audience, ``exp`` is in the future and ``nbf``/``iat`` not (30 s of
clock skew allowed). The role is read from a claim (``RISKMON_OIDC_ROLE_CLAIM``, a dotted
path such as ``realm_access.roles``): a role name, or a list of names of which the highest
counts. A token without one is refused, as a token without a valid signature is.

The JWKS is read at start (a file that cannot be read fails the start, naming the setting)
and again when a token names a key id it does not hold, at most once a minute, so keys the
issuer rotates in are found without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from security.exceptions import ConfigError
from security.roles import Principal, Role

__all__ = ["DEFAULT_ALGORITHMS", "OidcConfig", "OidcVerifier", "role_from_claims"]

log = logging.getLogger(__name__)

DEFAULT_ALGORITHMS: Final = ("RS256", "ES256")
_REFRESH_SECONDS: Final = 60.0
_LEEWAY_SECONDS: Final = 30
_FETCH_TIMEOUT_SECONDS: Final = 10.0


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    audience: str
    #: A path to a JWKS file, or an http(s) URL serving one.
    jwks: str
    role_claim: str = "riskmon_role"
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS


def role_from_claims(claims: Mapping[str, Any], path: str) -> Role | None:
    """The highest riskmon role the claim at the dotted ``path`` names, or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    roles = [Role[n.upper()] for n in names if isinstance(n, str) and n.upper() in Role.__members__]
    return max(roles, default=None)


class OidcVerifier:
    """Verifies bearer JWTs per the module's rules. ``fetch`` reads a URL's bytes (tests and
    the composition root may pass their own); ``clock`` gives Unix seconds."""

    def __init__(
        self,
        config: OidcConfig,
        *,
        fetch: Callable[[str], bytes] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._fetch = fetch or _fetch
        self._clock = clock
        self._keys = self._load()  # at start: a bad file fails here
        self._loaded_at = clock()
        self._claims = jwt.JWTClaimsRegistry(
            now=lambda: int(self._clock()),
            leeway=_LEEWAY_SECONDS,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.audience},
            exp={"essential": True},
        )

    def _is_url(self) -> bool:
        return self.config.jwks.startswith(("https://", "http://"))

    def _load(self) -> KeySet:
        source = self.config.jwks
        try:
            raw = self._fetch(source) if self._is_url() else Path(source).read_bytes()
            keys = KeySet.import_key_set(orjson.loads(raw))
        except (OSError, ValueError, JoseError, TypeError, KeyError) as exc:
            if self._is_url():
                log.warning("OIDC: could not read the JWKS at %s: %r", source, exc)
                return KeySet([])  # the issuer may be down now; tried again on demand
            raise ConfigError(
                f"RISKMON_OIDC_JWKS: cannot read a JWKS from {source}: {exc}"
            ) from exc
        return keys

    def _refresh(self) -> bool:
        if self._clock() - self._loaded_at < _REFRESH_SECONDS:
            return False
        self._loaded_at = self._clock()
        try:
            self._keys = self._load()
        except ConfigError as exc:  # a file gone bad after start: keep the keys we have
            log.warning("OIDC: %s", exc)
            return False
        return True

    def _decode(self, token: str) -> jwt.Token:
        return jwt.decode(token, self._keys, algorithms=list(self.config.algorithms))

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid token, else None (malformed, badly signed, expired, for
        another audience or issuer, or carrying no riskmon role)."""
        try:
            try:
                decoded = self._decode(token)
            except JoseError:
                # Perhaps a key the issuer rotated in since we read the set.
                if not await asyncio.to_thread(self._refresh):
                    return None
                decoded = self._decode(token)
            self._claims.validate(decoded.claims)
        except (JoseError, ValueError, TypeError):
            return None
        role = role_from_claims(decoded.claims, self.config.role_claim)
        subject = decoded.claims.get("sub")
        if role is None or not isinstance(subject, str) or not subject:
            return None
        return Principal(subject, role, "oidc")


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT_SECONDS) as resp:
        return bytes(resp.read())
