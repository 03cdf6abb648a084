"""OIDC bearer JWTs: what the verifier accepts, what it refuses, and a key rotated in later.

Keys are made here (joserfc), the JWKS is a file or what an injected fetch returns; the real
HTTP round trip to an issuer is in tests/integration/test_access.py.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from security.exceptions import ConfigError
from security.oidc import OidcConfig, OidcVerifier, role_from_claims
from security.roles import Principal, Role

ISSUER = "https://idp.example.gov.cn/realms/amr"
AUDIENCE = "riskmon"
NOW = 1_800_000_000
RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1"}, private=True)
ROTATED = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"}, private=True)


def _jwks(*keys: Any) -> bytes:
    return orjson.dumps(KeySet(list(keys)).as_dict(private=False))


def _claims(**changes: Any) -> dict[str, Any]:
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "li.na", "exp": NOW + 300, "iat": NOW - 5}
    return {**base, "riskmon_role": "analyst", **changes}


def _token(key: Any = RSA, alg: str = "RS256", **changes: Any) -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, _claims(**changes), key)


class Issuer:
    """The JWKS an issuer serves (changeable), and the clock."""

    def __init__(self, *keys: Any) -> None:
        self.body = _jwks(*keys)
        self.now = float(NOW)
        self.fetches = 0

    def fetch(self, url: str) -> bytes:
        self.fetches += 1
        return self.body

    def verifier(self, **config: Any) -> OidcVerifier:
        cfg = OidcConfig(ISSUER, AUDIENCE, "https://idp.example.gov.cn/certs", **config)
        return OidcVerifier(cfg, fetch=self.fetch, clock=lambda: self.now)


async def test_a_valid_token_is_its_subject_with_its_role() -> None:
    v = Issuer(RSA, EC).verifier()
    assert await v.authenticate(_token()) == Principal("li.na", Role.ANALYST, "oidc")
    assert await v.authenticate(_token(EC, "ES256", riskmon_role="admin")) == Principal(
        "li.na", Role.ADMIN, "oidc"
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"aud": "another-app"},
        {"iss": "https://evil.example.com"},
        {"exp": NOW - 31},  # past the 30 s of skew
        {"nbf": NOW + 60},
        {"riskmon_role": "root"},
        {"riskmon_role": None},
        {"sub": ""},
    ],
)
async def test_claims_that_do_not_hold_are_refused(changes: dict[str, Any]) -> None:
    assert await Issuer(RSA).verifier().authenticate(_token(**changes)) is None


async def test_a_little_clock_skew_is_forgiven() -> None:
    assert await Issuer(RSA).verifier().authenticate(_token(exp=NOW - 10)) is not None


async def test_signatures_and_algorithms_are_checked() -> None:
    v = Issuer(RSA).verifier()
    forged = _token(ROTATED)  # a key the issuer does not publish, under a known kid
    assert (
        await v.authenticate(forged.replace(forged.split(".")[0], _token().split(".")[0])) is None
    )
    head, _, sig = _token().split(".")
    tampered = _token(riskmon_role="admin").split(".")[1]
    assert await v.authenticate(f"{head}.{tampered}.{sig}") is None
    # An HMAC with a key the attacker chose, and "none": never accepted.
    secret = OctKey.generate_key(256, parameters={"kid": "rsa-1"})
    assert await v.authenticate(_token(secret, "HS256")) is None

    def b64(doc: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(doc)).rstrip(b"=").decode()

    assert await v.authenticate(f"{b64({'alg': 'none', 'kid': 'rsa-1'})}.{b64(_claims())}.") is None
    # Only the algorithms configured: ES256 is refused where only RS256 is allowed.
    only_rsa = Issuer(RSA, EC).verifier(algorithms=("RS256",))
    assert await only_rsa.authenticate(_token(EC, "ES256")) is None
    assert await v.authenticate("not.a.jwt") is None


async def test_a_key_rotated_in_is_found_without_a_restart_but_not_every_request() -> None:
    issuer = Issuer(RSA)
    v = issuer.verifier()
    assert issuer.fetches == 1
    issuer.body = _jwks(RSA, ROTATED)
    fresh = _token(ROTATED)
    assert await v.authenticate(fresh) is None  # read a moment ago: not again yet
    assert issuer.fetches == 1
    issuer.now += 61
    assert await v.authenticate(fresh) == Principal("li.na", Role.ANALYST, "oidc")
    assert issuer.fetches == 2
    for _ in range(5):  # unknown kids do not make the verifier hammer the issuer
        assert (
            await v.authenticate(
                _token(RSAKey.generate_key(2048, parameters={"kid": "x"}, private=True))
            )
            is None
        )
    assert issuer.fetches == 2


def test_a_jwks_file_that_cannot_be_read_fails_at_start_naming_the_setting(tmp_path: Path) -> None:
    bad = tmp_path / "jwks.json"
    bad.write_text("{not json")
    for source in (bad, tmp_path / "missing.json"):
        with pytest.raises(
            ConfigError, match=f"RISKMON_OIDC_JWKS: cannot read a JWKS from {source}"
        ):
            OidcVerifier(OidcConfig(ISSUER, AUDIENCE, str(source)))


async def test_a_jwks_file_verifies(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_bytes(_jwks(RSA))
    v = OidcVerifier(OidcConfig(ISSUER, AUDIENCE, str(path)), clock=lambda: NOW)
    assert await v.authenticate(_token()) == Principal("li.na", Role.ANALYST, "oidc")


def test_the_role_claim_may_be_nested_and_a_list() -> None:
    claims = {"realm_access": {"roles": ["offline_access", "viewer", "supervisor"]}, "r": "Admin"}
    assert role_from_claims(claims, "realm_access.roles") is Role.SUPERVISOR
    assert role_from_claims(claims, "r") is Role.ADMIN
    assert role_from_claims(claims, "realm_access.missing") is None
    assert role_from_claims({"r": ["offline_access"]}, "r") is None
    assert role_from_claims({"r": 3}, "r") is None
