"""A token's form and digest, and when its record admits it: the pure part of tokens."""

from __future__ import annotations

import pytest

from security.roles import ROLE_NAMES, Principal, Role, parse_role
from security.tokens import DEFAULT_KEY, TokenRecord, digest, format_token, parse_token

SECRET = bytes(range(32))


def _record(**changes: int) -> tuple[str, TokenRecord]:
    token = format_token("0123456789ab", SECRET)
    token_id, text = parse_token(token) or ("", "")
    fields = {"created": 100, "expires": 0, "revoked": 0} | changes
    rec = TokenRecord(
        token_id, "ci-bot", Role.ANALYST, digest=digest(DEFAULT_KEY, token_id, text), **fields
    )
    return token, rec


def test_a_token_reads_back_into_its_id_and_secret() -> None:
    token = format_token("0123456789ab", SECRET)
    assert token.startswith("rmk_0123456789ab_") and len(token) == 4 + 12 + 1 + 43
    assert parse_token(token) == ("0123456789ab", token[len("rmk_0123456789ab_") :])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "rmk_",
        "rmk_0123456789ab_short",
        "xyz_0123456789ab_" + "A" * 43,
        "rmk_0123456789AB_" + "A" * 43,
    ],
)
def test_anything_else_is_no_token(text: str) -> None:
    assert parse_token(text) is None


def test_the_digest_depends_on_the_key_the_id_and_the_secret() -> None:
    base = digest(b"k" * 32, "0123456789ab", "s" * 43)
    assert base != digest(b"K" * 32, "0123456789ab", "s" * 43)
    assert base != digest(b"k" * 32, "0123456789ac", "s" * 43)
    assert base != digest(b"k" * 32, "0123456789ab", "t" * 43)
    assert len(base) == 64


def test_an_active_token_admits_its_holder_with_its_role() -> None:
    token, rec = _record()
    token_id, text = parse_token(token) or ("", "")
    assert rec.admits(digest(DEFAULT_KEY, token_id, text), now=200) == Principal(
        "ci-bot", Role.ANALYST, "token", "0123456789ab"
    )
    assert rec.admits(digest(b"another key, so another digest!", token_id, text), now=200) is None


@pytest.mark.parametrize(
    ("changes", "now", "state"),
    [
        ({"expires": 300}, 299, "active"),
        ({"expires": 300}, 300, "expired"),
        ({"revoked": 150}, 200, "revoked"),
        ({"revoked": 150, "expires": 100}, 200, "revoked"),
    ],
)
def test_expired_and_revoked_tokens_admit_no_one(
    changes: dict[str, int], now: int, state: str
) -> None:
    token, rec = _record(**changes)
    token_id, text = parse_token(token) or ("", "")
    assert rec.state(now) == state
    admitted = rec.admits(digest(DEFAULT_KEY, token_id, text), now=now)
    assert (admitted is not None) == (state == "active")


def test_a_record_survives_its_json() -> None:
    _, rec = _record(expires=900, revoked=500)
    assert TokenRecord.from_json(rec.token_id, rec.to_json()) == rec
    assert b"rmk_" not in rec.to_json()  # never the token itself


def test_roles_are_ordered_and_named() -> None:
    assert ROLE_NAMES == ("viewer", "analyst", "supervisor", "admin")
    assert Role.ADMIN > Role.SUPERVISOR > Role.ANALYST > Role.VIEWER
    assert parse_role(" Supervisor ") is Role.SUPERVISOR
    with pytest.raises(ValueError, match="one of viewer, analyst, supervisor, admin"):
        parse_role("root")
    p = Principal("wang.li", Role.SUPERVISOR, "oidc")
    assert p.may(Role.ANALYST) and p.may(Role.SUPERVISOR) and not p.may(Role.ADMIN)
    assert p.actor == "oidc:wang.li"
