"""The guard in front of the console's routes, and pages rendered from their templates,
without servers (aiohttp's mocked requests; plain callables for what pages read)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from console.auth import PRINCIPAL, guarded
from console.deps import AreaKind, ConsoleDeps
from console.pages import areas_page
from security.limits import RateLimiter
from security.roles import Principal, Role

ANALYST = Principal("duty", Role.ANALYST, "token", "abc")
VIEWER = Principal("watch", Role.VIEWER, "token", "def")
TOKENS = {"rmk_analyst": ANALYST, "rmk_viewer": VIEWER}


async def authenticate(credential: str) -> Principal | None:
    return TOKENS.get(credential)


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(text=request[PRINCIPAL].actor)


def request(method: str, path: str, headers: Mapping[str, str] | None = None) -> web.Request:
    return make_mocked_request(method, path, headers=dict(headers or {}))


async def test_a_page_without_credentials_sends_the_browser_to_log_in() -> None:
    handler = guarded(ok, Role.VIEWER, authenticate, "page")
    with pytest.raises(web.HTTPSeeOther) as redirect:
        await handler(request("GET", "/enterprises/X?lang=en"))
    assert redirect.value.location == "/login?next=%2Fenterprises%2FX%3Flang%3Den"


async def test_an_api_route_answers_401_and_403_as_the_workers_api() -> None:
    handler = guarded(ok, Role.ANALYST, authenticate, "api")
    none = await handler(request("POST", "/alerts/a/ack"))
    assert none.status == 401 and "error=" not in none.headers["WWW-Authenticate"]
    bad = await handler(request("POST", "/alerts/a/ack", {"Authorization": "Bearer rmk_nope"}))
    assert bad.status == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]
    low = await handler(request("POST", "/alerts/a/ack", {"Authorization": "Bearer rmk_viewer"}))
    assert low.status == 403
    good = await handler(request("POST", "/alerts/a/ack", {"Authorization": "Bearer rmk_analyst"}))
    assert good.status == 200 and cast(web.Response, good).text == "token:duty"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "https://evil.example"}, 403),
        ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, 403),
        ({}, 403),
        ({"Origin": "http://127.0.0.1:6067"}, 200),
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, 200),
        ({"Sec-Fetch-Site": "same-origin"}, 200),
    ],
)
async def test_a_post_on_the_session_cookie_must_come_from_the_console_itself(
    headers: dict[str, str], status: int
) -> None:
    handler = guarded(ok, Role.ANALYST, authenticate, "api")
    cookie = {"Cookie": "riskmon_console=rmk_analyst", "Host": "127.0.0.1:6067", **headers}
    assert (await handler(request("POST", "/alerts/a/ack", cookie))).status == status


async def test_a_get_on_the_session_cookie_is_served() -> None:
    handler = guarded(ok, Role.VIEWER, authenticate, "api")
    got = await handler(request("GET", "/alerts", {"Cookie": "riskmon_console=rmk_viewer"}))
    assert got.status == 200


def _deps(rows: Sequence[Mapping[str, Any]] | None) -> ConsoleDeps:
    async def read_areas(kind: AreaKind) -> Sequence[Mapping[str, Any]]:
        assert kind == "division"
        return rows or []

    return cast(ConsoleDeps, SimpleNamespace(read_areas=None if rows is None else read_areas))


async def test_the_region_table_is_coloured_by_cd_share_highest_first() -> None:
    rows = [
        {
            "code": "610112",
            "enterprises": 40,
            "by_class": {"A": 30, "B": 6, "C": 3, "D": 1},
            "cd_share": 0.1,
            "d_entries_7d": 1,
            "trend": "up",
        },
        {
            "code": "610113",
            "enterprises": 20,
            "by_class": {"A": 5, "B": 5, "C": 5, "D": 5},
            "cd_share": 0.5,
            "d_entries_7d": 3,
            "trend": "up",
        },
    ]
    req = request("GET", "/areas/regions?lang=en")
    req[PRINCIPAL] = VIEWER
    page = cast(web.Response, await areas_page(req, deps=_deps(rows), kind="division"))
    html = page.text or ""
    assert html.index("610113") < html.index("610112")
    assert '<tr class="cd-high"><td>610113' in html and '<tr class="cd-low"><td>610112' in html
    assert "50.0%" in html and "Regions" in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]


async def test_an_unwired_area_table_says_so_and_text_is_escaped() -> None:
    req = request("GET", "/areas/regions")
    req[PRINCIPAL] = Principal("<b>x</b>", Role.VIEWER, "token")
    page = cast(web.Response, await areas_page(req, deps=_deps(None), kind="division"))
    html = page.text or ""
    assert "区域与行业数据尚未接入" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


async def test_a_principal_past_its_rate_is_told_when_to_come_back() -> None:
    limiter = RateLimiter(rate=1.0, burst=2)
    handler = guarded(ok, Role.VIEWER, authenticate, "api", limiter, clock=lambda: 100.0)
    headers = {"Authorization": "Bearer rmk_viewer"}
    statuses = [(await handler(request("GET", "/alerts", headers))).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    other = await handler(request("GET", "/alerts", {"Authorization": "Bearer rmk_analyst"}))
    assert other.status == 200  # a bucket per principal
    late = await handler(request("GET", "/alerts", headers))
    assert late.headers["Retry-After"] == "1"
