"""``GET /enterprises/{uscc}``: why an enterprise has its class."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from api.http import Request, Response, json_response
from schemas.uscc import problem
from scoring.exceptions import StoreUnavailableError
from scoring.explain import explain
from scoring.fold import EnterpriseState
from scoring.model import ScoringModel

__all__ = ["ReadState", "enterprise"]

#: Reads one enterprise's state by USCC: ``None`` if it was never seen; raises
#: StoreUnavailableError while the store cannot answer.
ReadState = Callable[[str], Awaitable[EnterpriseState | None]]


async def enterprise(request: Request, *, read_state: ReadState, model: ScoringModel) -> Response:
    """200 with :func:`scoring.explain.explain` of the state; 400 for a code that is not a valid
    USCC (echoed, cut to 64 characters, with ``detail`` saying why: a lower-case code is told
    it must be upper case), 404 for an enterprise never seen, 503 while the store is
    unavailable."""
    uscc = request.path_params["uscc"]
    why = problem(uscc[:64])
    if why is not None:
        body = {"error": "invalid USCC", "uscc": uscc[:64], "detail": why}
        return json_response(body, status=400)
    try:
        state = await read_state(uscc)
    except StoreUnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    if state is None:
        return json_response({"error": "unknown enterprise", "uscc": uscc}, status=404)
    return json_response(explain(uscc, state, model))
