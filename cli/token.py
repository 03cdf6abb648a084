"""``riskmon token create|list|revoke``: the API's bearer tokens, on the Redis of the run.

``create`` prints the token once, alone on the last line (``TOKEN=$(riskmon token create ... |
tail -n1)``); riskmon keeps only its digest (``security/tokens.py``). ``run`` also uses
:func:`issue_local` and :func:`revoke_local` for the local admin token of its run file.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from cli import runfile
from cli.arguments import Subparsers
from cli.audited import local_actor
from cli.errors import CommandError
from security.exceptions import SecurityError
from security.roles import ROLE_NAMES, Role, parse_role
from security.store.audit import AuditLog
from security.store.tokens import TokenStore
from security.tokens import TokenRecord
from streams.access import audit_log, token_store
from streams.connections import redis_options
from streams.redis_client import connect_async
from streams.settings import Settings

__all__ = [
    "add",
    "issue_local",
    "render",
    "revoke_local",
    "run_create",
    "run_list",
    "run_revoke",
]

T = TypeVar("T")


def _role(text: str) -> Role:
    try:
        return parse_role(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _days(text: str) -> float:
    try:
        days = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 0 <= days <= 3_650:
        raise argparse.ArgumentTypeError(f"{text}: 0 (never) to 3650 days")
    return days


def add(sub: Subparsers) -> None:
    p = sub.add_parser(
        "token",
        help="create, list and revoke the API's bearer tokens",
        description="The API's bearer tokens, kept (as digests) in the Redis of"
        " RISKMON_REDIS_URL, else of a running riskmon run. Roles, lowest first: "
        + ", ".join(ROLE_NAMES)
        + "; each may do what those below it may.",
    )
    token_sub = p.add_subparsers(
        dest="token_command", required=True, metavar="{create,list,revoke}"
    )
    c = token_sub.add_parser(
        "create",
        help="make a token and print it once, alone on the last line",
        description="Make a token with a role and a name; it is printed once, alone on the"
        " last line. riskmon keeps only an HMAC of it.",
    )
    c.add_argument("--role", type=_role, required=True, help=" | ".join(ROLE_NAMES))
    c.add_argument("--name", required=True, help="who or what holds it (shows in records)")
    c.add_argument(
        "--expires", type=_days, default=0.0, metavar="DAYS", help="lifetime in days (0: never)"
    )
    c.set_defaults(handler=run_create)
    ls = token_sub.add_parser("list", help="every token: id, name, role, state, times")
    ls.set_defaults(handler=run_list)
    r = token_sub.add_parser("revoke", help="revoke a token by its id (or its name if unique)")
    r.add_argument("token", metavar="ID_OR_NAME")
    r.set_defaults(handler=run_revoke)


Work = Callable[[TokenStore, AuditLog], Awaitable[T]]


def _with_store(settings: Settings, redis_url: str, work: Work[T]) -> T:
    async def go() -> T:
        client = connect_async(
            redis_url, socket_timeout=10, socket_connect_timeout=5, **redis_options(settings)
        )
        try:
            return await work(token_store(settings, client), audit_log(settings, client))
        finally:
            await client.aclose()

    try:
        return asyncio.run(go())
    except SecurityError as exc:
        raise CommandError(str(exc)) from None


async def _audited(log: AuditLog, action: str, record: TokenRecord) -> TokenRecord:
    # Every token made or revoked is recorded in the audit log, by the person at the terminal.
    details = {"name": record.name, "role": str(record.role)}
    await log.append(local_actor(), action, record.token_id, details)
    return record


def _create(name: str, role: Role, expires_days: float = 0) -> Work[tuple[str, TokenRecord]]:
    async def work(store: TokenStore, log: AuditLog) -> tuple[str, TokenRecord]:
        token, record = await store.create(name, role, expires_days)
        return token, await _audited(log, "token.create", record)

    return work


def _revoke(ident: str) -> Work[TokenRecord]:
    async def work(store: TokenStore, log: AuditLog) -> TokenRecord:
        return await _audited(log, "token.revoke", await store.revoke(ident))

    return work


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M") if t else "never"


def render(records: list[TokenRecord], now: float) -> str:
    """The table ``riskmon token list`` prints."""
    head = f"{'id':12}  {'name':24}  {'role':10}  {'state':8}  {'created':16}  expires"
    rows = [
        f"{r.token_id:12}  {r.name[:24]:24}  {r.role!s:10}  {r.state(now):8}  {_iso(r.created):16}"
        f"  {_iso(r.expires)}"
        for r in records
    ]
    return "\n".join([head, *rows]) if rows else "no tokens"


def run_create(args: argparse.Namespace, s: Settings) -> int:
    token, record = _with_store(
        s, runfile.redis_url(s), _create(args.name, args.role, args.expires)
    )
    until = f", expires {_iso(record.expires)} UTC" if record.expires else ""
    print(f"token {record.token_id} for {record.name}, role {record.role}{until}.")
    print("It is shown this once; riskmon keeps only its digest:")
    print(token)
    return 0


def run_list(args: argparse.Namespace, s: Settings) -> int:
    records = _with_store(s, runfile.redis_url(s), lambda store, _: store.records())
    print(render(records, dt.datetime.now(dt.UTC).timestamp()))
    return 0


def run_revoke(args: argparse.Namespace, s: Settings) -> int:
    record = _with_store(s, runfile.redis_url(s), _revoke(args.token))
    print(f"revoked token {record.token_id} ({record.name}, {record.role})")
    return 0


def _in_thread(settings: Settings, redis_url: str, work: Work[T]) -> T:
    # `riskmon run` calls these around the worker: an event loop of their own, in a thread of
    # their own, so the worker's loop is neither made early nor closed under it.
    with ThreadPoolExecutor(1, thread_name_prefix="riskmon-token") as pool:
        return pool.submit(_with_store, settings, redis_url, work).result()


def issue_local(settings: Settings, redis_url: str) -> tuple[str, TokenRecord]:
    """A new admin token for the local user, named ``local:<user>@<host>:<port>``."""
    name = f"{local_actor()}:{settings.web_port}"
    return _in_thread(settings, redis_url, _create(name[-64:], Role.ADMIN))


def revoke_local(settings: Settings, redis_url: str, token_id: str) -> None:
    """Revoke a run's local token (at its stop, or a dead run's at the next start)."""
    _in_thread(settings, redis_url, _revoke(token_id))
