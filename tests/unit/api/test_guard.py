"""The guard in front of every route: 401 and 403 as RFC 6750 says, the principal handed on,
and nothing in a refusal that depends on the path."""

from __future__ import annotations

import orjson
import pytest

from api.guard import PUBLIC, guarded
from api.http import Request, Response, json_response
from security.authn import Authenticator, bearer
from security.exceptions import UnavailableError
from security.limits import RateLimiter
from security.roles import Principal, Role

PEOPLE = {
    "rmk_v": Principal("desk", Role.VIEWER, "token", "v"),
    "rmk_s": Principal("wang.li", Role.SUPERVISOR, "token", "s"),
    "a.b.c": Principal("li.na", Role.ADMIN, "oidc"),
}
seen: list[Request] = []


async def _tokens(credential: str) -> Principal | None:
    if credential == "rmk_down":
        raise UnavailableError("Redis: connection refused")
    return PEOPLE.get(credential)


async def _handler(request: Request) -> Response:
    seen.append(request)
    return json_response({"ok": True, "uscc": request.path_params.get("uscc")})


async def _call(role: Role | None, headers: dict[str, str], uscc: str = "X") -> Response:
    guard = guarded(_handler, role, Authenticator(_tokens, _tokens))
    return await guard(Request(path_params={"uscc": uscc}, headers=headers))


async def test_no_credentials_is_a_401_with_a_bearer_challenge() -> None:
    r = await _call(Role.VIEWER, {})
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="riskmon"'
    assert orjson.loads(r.body)["error"] == "unauthorized"


@pytest.mark.parametrize(
    "header",
    ["Bearer rmk_unknown", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b"],
)
async def test_bad_credentials_are_a_401_that_says_invalid_token_and_nothing_more(
    header: str,
) -> None:
    answers = {(await _call(Role.VIEWER, {"Authorization": header}, uscc)).body for uscc in "AB"}
    r = await _call(Role.VIEWER, {"Authorization": header})
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="riskmon", error="invalid_token"'
    assert len(answers) == 1  # the same whatever the path names


async def test_a_role_too_low_is_a_403_naming_the_role_needed() -> None:
    r = await _call(Role.SUPERVISOR, {"Authorization": "Bearer rmk_v"})
    assert r.status == 403
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="riskmon", error="insufficient_scope"'
    assert orjson.loads(r.body) == {
        "error": "forbidden",
        "detail": "this needs the supervisor role; yours is viewer",
    }


async def test_enough_role_reaches_the_handler_with_the_principal() -> None:
    seen.clear()
    for header, role in (("Bearer rmk_s", Role.SUPERVISOR), ("bearer a.b.c", Role.ANALYST)):
        r = await _call(role, {"Authorization": header})
        assert r.status == 200
    assert [s.principal for s in seen] == [PEOPLE["rmk_s"], PEOPLE["a.b.c"]]


async def test_a_token_store_that_cannot_answer_is_a_503_not_a_401() -> None:
    r = await _call(Role.VIEWER, {"Authorization": "Bearer rmk_down"})
    assert r.status == 503


async def test_a_public_route_is_served_as_it_is() -> None:
    assert guarded(_handler, PUBLIC, Authenticator(_tokens)) is _handler


async def test_oidc_credentials_go_nowhere_unless_oidc_is_configured() -> None:
    assert await Authenticator(_tokens)("a.b.c") is None
    assert await Authenticator(_tokens, _tokens)("a.b.c") == PEOPLE["a.b.c"]


@pytest.mark.parametrize(
    ("headers", "credential"),
    [
        ({}, None),
        ({"Authorization": "Bearer rmk_x"}, "rmk_x"),
        ({"Authorization": "  BEARER   rmk_x "}, "rmk_x"),
        ({"Authorization": "Token rmk_x"}, ""),
        ({"Authorization": "Bearer "}, ""),
    ],
)
def test_the_bearer_header_is_read_as_rfc_6750_writes_it(
    headers: dict[str, str], credential: str | None
) -> None:
    assert bearer(headers) == credential


async def test_past_its_rate_a_principal_gets_429_with_retry_after() -> None:
    now = [0.0]
    guard = guarded(
        _handler, Role.VIEWER, Authenticator(_tokens), RateLimiter(1.0, 2), lambda: now[0]
    )
    asked = Request(headers={"Authorization": "Bearer rmk_v"})
    assert [(await guard(asked)).status for _ in range(2)] == [200, 200]
    refused = await guard(asked)
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    other = await guard(Request(headers={"Authorization": "Bearer rmk_s"}))
    assert other.status == 200
    now[0] = 1.0
    assert (await guard(asked)).status == 200
