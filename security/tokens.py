"""riskmon's own bearer tokens: their form, their digest, and when one is good.

A token reads ``rmk_<id>_<secret>``: ``id`` is 12 hex digits, public (``riskmon token list``
shows it, records name it); ``secret`` is 32 random bytes, URL-safe base64. riskmon keeps only
the record (:class:`TokenRecord`): name, role, times, and the digest HMAC-SHA256(key,
``id.secret``), never the token.

Why a keyed HMAC and not Argon2: a token is 256 random bits, not a password a person chose, so
there is nothing to guess and a slow hash buys nothing; it would cost every request tens of
milliseconds and hand an attacker a cheap way to load the API. The key (``RISKMON_TOKEN_KEY``)
adds what a slow hash cannot: with it set, write access to Redis is not enough to plant a
token of one's own, since its digest cannot be computed without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any, Final

import orjson

from security.roles import Principal, Role, parse_role

__all__ = [
    "DEFAULT_KEY",
    "TOKEN_PREFIX",
    "TokenRecord",
    "digest",
    "format_token",
    "parse_token",
]

TOKEN_PREFIX: Final = "rmk_"
#: The key when RISKMON_TOKEN_KEY is unset: the digest is then a plain, domain-separated hash.
DEFAULT_KEY: Final = b"riskmon-token-v1"
_FORM: Final = re.compile(r"rmk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


def format_token(token_id: str, secret: bytes) -> str:
    """The token a person is shown once: ``secret`` must be 32 random bytes."""
    if len(secret) != 32:
        raise ValueError("a token's secret is 32 bytes")
    text = base64.urlsafe_b64encode(secret).rstrip(b"=").decode()
    return f"{TOKEN_PREFIX}{token_id}_{text}"


def parse_token(token: str) -> tuple[str, str] | None:
    """(id, secret text) of a well-formed token, else None."""
    m = _FORM.fullmatch(token)
    return (m.group(1), m.group(2)) if m else None


def digest(key: bytes, token_id: str, secret_text: str) -> str:
    """HMAC-SHA256 of ``id.secret`` under ``key``, as hex: what the record keeps."""
    return hmac.new(key, f"{token_id}.{secret_text}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """What riskmon keeps of a token. Times are Unix seconds; ``expires`` and ``revoked``
    are 0 for never and not revoked."""

    token_id: str
    name: str
    role: Role
    created: int
    expires: int
    revoked: int
    digest: str

    def state(self, now: float) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked:
            return "revoked"
        if self.expires and now >= self.expires:
            return "expired"
        return "active"

    def admits(self, presented: str, now: float) -> Principal | None:
        """The principal if ``presented`` (a digest) is this token's and it is active."""
        if not hmac.compare_digest(presented, self.digest) or self.state(now) != "active":
            return None
        return Principal(self.name, self.role, "token", self.token_id)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "name": self.name,
                "role": str(self.role),
                "created": self.created,
                "expires": self.expires,
                "revoked": self.revoked,
                "digest": self.digest,
            }
        )

    @classmethod
    def from_json(cls, token_id: str, raw: bytes | str) -> TokenRecord:
        doc: dict[str, Any] = orjson.loads(raw)
        return cls(
            token_id,
            str(doc["name"]),
            parse_role(str(doc["role"])),
            int(doc["created"]),
            int(doc.get("expires", 0)),
            int(doc.get("revoked", 0)),
            str(doc["digest"]),
        )
