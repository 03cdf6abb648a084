"""Access control on the real worker's web application: the route walk and the role table.

The application is the one ``riskmon run`` serves (``streams.app.build``, Faust's web server
with its own pages initialised), served by aiohttp's test server; tokens are real records in
Redis, and OIDC tokens are verified against a JWKS served over HTTP on loopback.

- Every route the application holds is in the role table (``api.routes``), or answers 404 to
  everyone (Faust's index page).
- Every route of the table, with no credentials, a malformed, unknown, expired or revoked
  token, and each role by token and by OIDC: 401, 403 or through to the handler, as the table
  says.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from api.routes import worker_routes
from scoring.model import load_model
from security.roles import Role
from security.store.tokens import TokenStore
from streams.access import token_store
from streams.app import build
from streams.redis_client import connect_async
from streams.settings import Settings
from tests.support.routes import stub_deps

ISSUER = "https://idp.test/realms/amr"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
TABLE = {(r.method, r.path): r.role for r in worker_routes(stub_deps())}
UNKNOWN_USCC = "91110000600037341L"


@pytest.fixture(scope="module")
def jwks_url() -> Iterator[str]:
    body = orjson.dumps(KeySet([KEY]).as_dict(private=False))

    class Serve(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Serve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/certs"
    server.shutdown()
    server.server_close()


def _jwt(role: str, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "riskmon", "sub": f"oidc-{role}", "exp": now + 300}
    return jwt.encode(
        {"alg": "RS256", "kid": "k1"}, {**claims, "riskmon_role": role, **changes}, KEY
    )


def _path(path: str) -> str:
    return (
        path.replace("{uscc}", UNKNOWN_USCC)
        .replace("{task_id}", "t-none")
        .replace("{code}", "610112")
    )


@pytest.fixture
async def served(settings: Settings, kafka_bootstrap: str, redis_url: str, jwks_url: str) -> Any:
    s = settings.model_copy(
        update={"oidc_issuer": ISSUER, "oidc_audience": "riskmon", "oidc_jwks": jwks_url}
    )
    rt = build(s, bootstrap=kafka_bootstrap, redis_url=redis_url, model=load_model())
    rt.app.web.init_server()  # what the worker does at start: Faust's own pages too
    app: web.Application = rt.app.web.web_app
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    tokens = connect_async(redis_url)
    try:
        yield client, app, token_store(s, tokens), s
    finally:
        await client.close()
        await tokens.aclose()
        await rt.redis.aclose()


async def test_every_route_the_application_serves_is_in_the_role_table(served: Any) -> None:
    client, app, store, _ = served
    admin, _ = await store.create("walker", Role.ADMIN)
    walked = {(r.method, r.resource.canonical) for r in app.router.routes() if r.resource}
    foreign = walked - set(TABLE)
    assert set(TABLE) <= walked
    assert foreign, "Faust's index page is expected among the routes walked"
    for method, path in sorted(foreign):
        resp = await client.request(method, path, headers={"Authorization": f"Bearer {admin}"})
        assert resp.status == 404, f"{method} {path} is served but not in the role table"


async def test_each_route_answers_as_its_role_says(served: Any) -> None:
    client, _, store, s = served
    tokens = {role: (await store.create(f"t-{role}", role))[0] for role in Role}
    old = TokenStore(store._redis, prefix=s.redis_prefix, clock=lambda: time.time() - 10 * 86_400)
    expired, _ = await old.create("t-expired", Role.ADMIN, expires_days=1)
    revoked, record = await store.create("t-revoked", Role.ADMIN)
    await store.revoke(record.token_id)
    refused = {
        "none": None,
        "malformed": "Bearer rmk_not-a-token",
        "unknown": "Bearer rmk_0123456789ab_" + "A" * 43,
        "expired": f"Bearer {expired}",
        "revoked": f"Bearer {revoked}",
        "forged jwt": "Bearer " + _jwt("admin", aud="another-app"),
    }
    for (method, path), needed in TABLE.items():
        url = _path(path)
        for what, header in refused.items():
            resp = await client.request(
                method, url, headers={"Authorization": header} if header else {}
            )
            if needed is None:
                assert resp.status not in (401, 403, 500), (method, path, what)
                continue
            assert resp.status == 401, (method, path, what, resp.status)
            assert resp.headers["WWW-Authenticate"].startswith('Bearer realm="riskmon"')
        for role in Role:
            for via, credential in (("token", tokens[role]), ("oidc", _jwt(str(role)))):
                resp = await client.request(
                    method, url, headers={"Authorization": f"Bearer {credential}"}
                )
                allowed = needed is None or role >= needed
                expected = "through" if allowed else 403
                got = "through" if resp.status not in (401, 403) else resp.status
                assert got == expected, (method, path, str(role), via, resp.status)
