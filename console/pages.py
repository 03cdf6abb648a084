"""The console's HTML pages, rendered on the server from Jinja2 templates (autoescaped):
the live feed, an enterprise, the task board, the region and industry tables, and the login
page. A page is whole without JavaScript except for its live parts (``console/static``).

Every page is sent with a Content Security Policy that allows only the console's own scripts
and styles (no inline script: data reaches the script in ``data-`` attributes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from api.enterprises import EXPLAINED, observation_json
from console import cursor
from console.auth import principal_of
from console.deps import AreaKind, ConsoleDeps
from console.filters import FilterError, StreamFilter, parse_filter
from console.i18n import LANG_COOKIE, choose, words
from console.present import row
from schemas.uscc import problem
from scoring.exceptions import StoreUnavailableError
from scoring.explain import explain
from security.exceptions import UnavailableError
from security.roles import Role
from supervision.records import OPEN_STATES
from supervision.store.readers import TaskFilter

__all__ = [
    "FEED_ROWS",
    "HEADERS",
    "areas_page",
    "enterprise_page",
    "feed_page",
    "render",
    "tasks_page",
]

#: Rows the feed shows on its first rendering (live events add to them).
FEED_ROWS: Final = 100
#: Rows a filtered first rendering looks through for its matches.
_SCANNED: Final = 5_000
_TASK_STATES: Final = ("created", "assigned", "in_progress", "completed", "cancelled")

HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("console", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    undefined=jinja2.StrictUndefined,
)


def _iso(t: int) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds") if t > 0 else ""


def render(request: web.Request, name: str, status: int = 200, **context: Any) -> web.Response:
    """``name`` rendered in the request's language (remembered when ``?lang=`` chose it)."""
    asked = request.query.get("lang")
    lang = choose(asked, request.cookies.get(LANG_COOKIE))
    other = "en" if lang == "zh" else "zh"
    query = {**request.query, "lang": other}
    switch = request.path + "?" + urlencode(query)
    html = _ENV.get_template(name).render(
        t=words(lang), lang=lang, switch=switch, path=request.path, **context
    )
    response = web.Response(text=html, content_type="text/html", status=status, headers=HEADERS)
    if asked in ("zh", "en"):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86_400, path="/", samesite="Strict")
    return response


def _view(request: web.Request) -> dict[str, Any]:
    who = principal_of(request)
    return {"actor": who.actor, "role": str(who.role)}


def _feed_filter(q: Mapping[str, str]) -> tuple[StreamFilter, dict[str, str]]:
    chosen = {
        k: q.get(k, "").strip() for k in ("type", "severity", "class", "division", "industry")
    }
    wanted = parse_filter(
        {"types": chosen["type"], "division": chosen["division"], "industry": chosen["industry"]}
    )
    return wanted, chosen


async def feed_page(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    try:
        wanted, chosen = _feed_filter(request.query)
    except FilterError as exc:
        return web.json_response({"error": "bad request", "detail": str(exc)}, status=400)
    can_ack = principal_of(request).may(Role.ANALYST)
    # A snapshot: what the follower has read, and where the stream goes on from.
    position = {k: v for k, v in deps.follower.position.items() if k[0] in deps.stream_topics}
    page, _ = deps.index.page(limit=_SCANNED)
    docs: list[Mapping[str, Any]] = [e.doc for e in page] + list(deps.follower.tasks)
    docs.sort(key=lambda d: str(d.get("time", "")), reverse=True)
    rows: list[dict[str, Any]] = []
    for doc in docs:
        if len(rows) >= FEED_ROWS:
            break
        if not await deps.places.admitted(doc, wanted):
            continue
        r = row(doc, deps.index.ack_of(str(doc.get("id", ""))), can_ack)
        if chosen["severity"] and r["severity"] != chosen["severity"]:
            continue
        if chosen["class"] and r["class"] != chosen["class"]:
            continue
        rows.append(r)
    params = {"types": chosen["type"], "division": chosen["division"]}
    params |= {"industry": chosen["industry"], "last_event_id": cursor.encode(position)}
    stream = "/alerts/stream?" + urlencode({k: v for k, v in params.items() if v})
    return render(
        request,
        "feed.html",
        rows=rows,
        chosen=chosen,
        stream=stream,
        can_ack=can_ack,
        loading=not deps.follower.ready.is_set(),
        **_view(request),
    )


async def enterprise_page(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    uscc = request.match_info["uscc"][:64]
    if problem(uscc) is not None:
        return render(request, "error.html", 400, message="invalid USCC", **_view(request))
    who = principal_of(request)
    try:
        state = await deps.read_state(uscc)
        if state is None:
            return render(
                request, "error.html", 404, message="unknown_enterprise", **_view(request)
            )
        obs = await deps.read_observation(uscc)
        tasks = await deps.supervision.tasks(TaskFilter(uscc=uscc), limit=200)
    except StoreUnavailableError:
        return render(request, "error.html", 503, message="Redis unavailable", **_view(request))
    doc = explain(uscc, state, deps.model)
    explained = who.may(Role.ANALYST)
    if explained:
        try:
            await deps.audit(who, "enterprise.explain", uscc, {"class": doc["class"]})
        except UnavailableError:
            return render(
                request, "error.html", 503, message="audit log unavailable", **_view(request)
            )
    else:
        doc = {k: v for k, v in doc.items() if k not in EXPLAINED}
    history = [e.doc for e in deps.index.history(uscc)]
    return render(
        request,
        "enterprise.html",
        uscc=uscc,
        doc=doc,
        explained=explained,
        observation=observation_json(obs),
        open_tasks=[_task(t) for t in tasks.tasks if t.state in OPEN_STATES],
        history=list(reversed(history)),
        **_view(request),
    )


def _task(t: Any) -> dict[str, Any]:
    return {
        "task_id": t.task_id,
        "uscc": t.uscc,
        "trigger": t.trigger,
        "state": t.state,
        "risk_class": t.risk_class,
        "created_at": _iso(t.created_at),
        "due": _iso(t.due),
        "overdue": t.overdue,
    }


async def tasks_page(request: web.Request, *, deps: ConsoleDeps) -> web.StreamResponse:
    try:
        page = await deps.supervision.tasks(TaskFilter(), limit=2_000)
    except StoreUnavailableError:
        return render(request, "error.html", 503, message="Redis unavailable", **_view(request))
    columns: dict[str, list[dict[str, Any]]] = {s: [] for s in _TASK_STATES}
    for t in reversed(page.tasks):  # newest first
        columns.setdefault(t.state, []).append(_task(t))
    return render(request, "tasks.html", columns=columns, total=page.total, **_view(request))


def _colour(share: float) -> str:
    """A CSS class by C+D share: the page's legend says where each band starts."""
    for bound, name in ((0.30, "cd-high"), (0.15, "cd-mid"), (0.05, "cd-low")):
        if share >= bound:
            return name
    return "cd-none"


async def areas_page(
    request: web.Request, *, deps: ConsoleDeps, kind: AreaKind
) -> web.StreamResponse:
    rows: Sequence[Mapping[str, Any]] | None = None
    if deps.read_areas is not None:
        try:
            rows = await deps.read_areas(kind)
        except StoreUnavailableError:
            return render(request, "error.html", 503, message="Redis unavailable", **_view(request))
    shown = [
        {**r, "colour": _colour(float(r.get("cd_share", 0.0)))}
        for r in sorted(rows or (), key=lambda r: -float(r.get("cd_share", 0.0)))
    ]
    return render(
        request, "areas.html", kind=kind, rows=shown, wired=rows is not None, **_view(request)
    )
