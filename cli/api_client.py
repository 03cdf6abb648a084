"""The commands' side of the API: requests with the credentials, errors as commands print them.

The bearer token is ``RISKMON_API_TOKEN``, else the local admin token in the run file of the
run being talked to (``cli/runfile.py``), so a newcomer's ``riskmon lookup`` needs no step.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from cli import runfile
from cli.errors import CommandError
from streams.settings import Settings

__all__ = ["call", "get_json"]

_REFUSED = {
    401: "the API refused the credentials: set RISKMON_API_TOKEN to a token"
    " (`riskmon token create`), or run the command where `riskmon run` runs",
}


def call(
    settings: Settings, method: str, path: str, body: Any = None, timeout: float = 30
) -> tuple[int, Any]:
    """(status, JSON body) of ``method path`` on the API. Raises :class:`CommandError` if the
    API cannot be reached, or answers 401."""
    web = runfile.web(settings)
    headers = {"Accept": "application/json"}
    token = runfile.api_token(settings)
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(web + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except OSError as exc:
        raise CommandError(f"cannot reach the riskmon API at {web}: {exc}") from None
    if status in _REFUSED:
        raise CommandError(_REFUSED[status], 1)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"error": raw.decode(errors="replace")[:200]}


def get_json(settings: Settings, path: str) -> dict[str, Any]:
    """The JSON object of ``GET path``. Raises :class:`CommandError` with the API's reason
    for any answer but 200 (exit status 2 for a 400, else 1)."""
    status, doc = call(settings, "GET", path)
    if status != 200:
        reason = (doc.get("detail") or doc.get("error")) if isinstance(doc, dict) else None
        raise CommandError(str(reason or f"HTTP {status}"), 2 if status == 400 else 1)
    if not isinstance(doc, dict):
        raise CommandError(f"the API answered {path} with no JSON object")
    return doc
