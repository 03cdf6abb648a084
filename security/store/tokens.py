"""The token records in Redis: create, list, revoke, and authenticate a presented token.

=========================== ====== ==========================================================
key                         type   holds
=========================== ====== ==========================================================
``<prefix>:auth:tokens``    hash   token id -> its record (``security/tokens.py``), JSON
=========================== ====== ==========================================================

One key, so the records sit on one Redis Cluster slot; a deployment has tens of tokens, not
millions. Records are never deleted: a revoked token stays listed, as an auditor expects.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Final

import redis
from redis.asyncio import Redis

from security.exceptions import TokenError, UnavailableError
from security.roles import Principal, Role
from security.tokens import DEFAULT_KEY, TokenRecord, digest, format_token, parse_token

__all__ = ["NAME_PATTERN", "TokenStore"]

#: What a token's name may be: it shows in records as ``token:<name>``.
NAME_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,63}$"
_NAME = re.compile(NAME_PATTERN)
_DAY: Final = 86_400


class TokenStore:
    """Tokens of one deployment (``prefix``). ``key``: RISKMON_TOKEN_KEY's bytes (unset: the
    default, see ``security/tokens.py``). Every method raises :class:`UnavailableError` while
    Redis cannot answer."""

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str,
        key: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._hash = f"{prefix}:auth:tokens"
        self._key = key or DEFAULT_KEY
        self._clock = clock

    async def create(
        self, name: str, role: Role, expires_days: float = 0
    ) -> tuple[str, TokenRecord]:
        """A new token (shown once: the caller prints it) and its record. ``expires_days``: 0
        for never. Raises :class:`TokenError` for a bad name or lifetime."""
        if not _NAME.match(name):
            raise TokenError(
                f"token name {name!r}: 1-64 characters, letters, digits and . _ @ : + -,"
                " starting with a letter or digit"
            )
        if expires_days < 0:
            raise TokenError("--expires: a number of days, 0 for never")
        now = int(self._clock())
        token_id = secrets.token_hex(6)
        token = format_token(token_id, secrets.token_bytes(32))
        _, text = parse_token(token) or ("", "")
        expires = now + round(expires_days * _DAY) if expires_days else 0
        record = TokenRecord(
            token_id, name, role, now, expires, 0, digest(self._key, token_id, text)
        )
        try:
            if not await self._redis.hsetnx(self._hash, token_id, record.to_json()):
                raise TokenError("token id collision; try again")  # 1 in 2^48 per pair
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc
        return token, record

    async def records(self) -> list[TokenRecord]:
        """Every token ever made, oldest first."""
        try:
            raw = await self._redis.hgetall(self._hash)
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc
        found = [TokenRecord.from_json(_text(k), v) for k, v in raw.items()]
        return sorted(found, key=lambda r: (r.created, r.token_id))

    async def revoke(self, ident: str) -> TokenRecord:
        """Revoke the token whose id, or whose name among active tokens, is ``ident``; the
        record as revoked. Revoking a revoked token changes nothing. Raises
        :class:`TokenError` if none or several match."""
        now = self._clock()
        found = [
            r
            for r in await self.records()
            if r.token_id == ident or (r.name == ident and r.state(now) == "active")
        ]
        if not found:
            raise TokenError(f"no token with id {ident!r}, nor an active one named so")
        if len(found) > 1:
            ids = ", ".join(r.token_id for r in found)
            raise TokenError(f"{len(found)} active tokens are named {ident!r} ({ids}): give the id")
        (record,) = found
        if record.revoked:
            return record
        done = TokenRecord(
            record.token_id,
            record.name,
            record.role,
            record.created,
            record.expires,
            int(now),
            record.digest,
        )
        try:
            await self._redis.hset(self._hash, record.token_id, done.to_json())
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc
        return done

    async def authenticate(self, token: str) -> Principal | None:
        """The principal ``token`` stands for, or None if it is malformed, unknown, expired or
        revoked (the caller cannot tell which: neither can an attacker)."""
        parsed = parse_token(token)
        if parsed is None:
            return None
        token_id, text = parsed
        try:
            raw = await self._redis.hget(self._hash, token_id)
        except redis.RedisError as exc:
            raise UnavailableError(f"Redis: {exc}") from exc
        if raw is None:
            return None
        return TokenRecord.from_json(token_id, raw).admits(
            digest(self._key, token_id, text), self._clock()
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
