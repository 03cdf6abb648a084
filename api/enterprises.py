"""``GET /enterprises/{uscc}``: why an enterprise has its class, and its observation period.

``observation`` is null for an enterprise that never had an observation period (观察期), else
``active``, ``since``, ``until`` (RFC 3339, event time), and once it has ended ``ended_at`` and
``ended_reason`` (``schemas.alerts.EndReason``; both null while it runs).

Every answer with the why is recorded in the audit log (``enterprise.explain``: who looked at
which enterprise), before it is sent; if it cannot be recorded, it is not sent (503).

A viewer sees the class and the score, not why: ``dimensions``, ``contributions`` and
``next_time_driven_change`` are left out below the analyst role, and ``redacted`` lists them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from api.http import Audit, Request, Response, json_response
from schemas.uscc import problem
from scoring.exceptions import StoreUnavailableError
from scoring.explain import explain
from scoring.fold import EnterpriseState
from scoring.model import ScoringModel
from security.exceptions import UnavailableError
from security.roles import Role
from supervision.records import ObservationRecord

__all__ = ["EXPLAINED", "ReadObservation", "ReadState", "enterprise", "observation_json"]

#: The fields that say why an enterprise has its class: for analysts and above.
EXPLAINED: tuple[str, ...] = ("dimensions", "contributions", "next_time_driven_change")

#: Reads one enterprise's state by USCC: ``None`` if it was never seen; raises
#: StoreUnavailableError while the store cannot answer.
ReadState = Callable[[str], Awaitable[EnterpriseState | None]]
#: Reads one enterprise's observation period by USCC: ``None`` if it never had one; raises
#: StoreUnavailableError while the store cannot answer.
ReadObservation = Callable[[str], Awaitable[ObservationRecord | None]]


def _iso(t: int) -> str | None:
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat() if t > 0 else None


def observation_json(obs: ObservationRecord | None) -> dict[str, Any] | None:
    """The ``observation`` field of an enterprise's answer (see the module's docstring)."""
    if obs is None:
        return None
    ended = not obs.active
    return {
        "active": obs.active,
        "since": _iso(obs.since),
        "until": _iso(obs.until),
        "ended_at": _iso(obs.ended_at) if ended else None,
        "ended_reason": (obs.ended_reason or None) if ended else None,
    }


async def enterprise(
    request: Request,
    *,
    read_state: ReadState,
    model: ScoringModel,
    read_observation: ReadObservation,
    audit: Audit,
) -> Response:
    """200 with :func:`scoring.explain.explain` of the state and ``observation``; 400 for a
    code that is not a valid USCC (echoed, cut to 64 characters, with ``detail`` saying why: a
    lower-case code is told it must be upper case), 404 for an enterprise never seen, 503
    while the store is unavailable."""
    uscc = request.path_params["uscc"]
    why = problem(uscc[:64])
    if why is not None:
        body = {"error": "invalid USCC", "uscc": uscc[:64], "detail": why}
        return json_response(body, status=400)
    try:
        state = await read_state(uscc)
        if state is None:
            return json_response({"error": "unknown enterprise", "uscc": uscc}, status=404)
        obs = await read_observation(uscc)
    except StoreUnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    doc = {**explain(uscc, state, model), "observation": observation_json(obs)}
    who = request.principal
    if who is None or not who.may(Role.ANALYST):  # None (no guard): the least, never the most
        return json_response(_redact(doc))
    try:
        await audit(who, "enterprise.explain", uscc, {"class": doc["class"]})
    except UnavailableError:
        return json_response({"error": "cannot record this read in the audit log now"}, 503)
    return json_response(doc)


def _redact(doc: dict[str, Any]) -> dict[str, Any]:
    kept = {k: v for k, v in doc.items() if k not in EXPLAINED}
    return {**kept, "redacted": list(EXPLAINED)}
