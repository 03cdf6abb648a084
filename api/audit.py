"""``GET /audit/recent?chain=ops&limit=100``: the newest records of an audit chain, for admins.

``chain``: ``ops`` (what people do; the default) or a partition's (``p000``...); ``limit``:
1-1000 (default 100). Answers the records still in Redis's recent tail (``security/store/
audit.py``), newest first, each as the topic carries it; the whole log is on the audit topic
(``riskmon audit export``). 400 names a value it cannot take; 503 while Redis cannot answer.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Final

from api.http import Request, Response, json_response
from security.audit import AuditRecord
from security.exceptions import UnavailableError

__all__ = ["ReadRecent", "recent_audit"]

#: Reads the newest records of a chain: (chain name, count) -> newest first.
ReadRecent = Callable[[str, int], Awaitable[list[AuditRecord]]]
_CHAIN: Final = re.compile(r"ops|p\d{3}")


async def recent_audit(request: Request, *, read_recent: ReadRecent, partitions: int) -> Response:
    """200 with ``chain`` and ``records`` (newest first); 400; 503."""
    chain = request.query.get("chain") or "ops"
    if not _CHAIN.fullmatch(chain) or (chain != "ops" and int(chain[1:]) >= partitions):
        detail = f"chain: ops, or p000-p{partitions - 1:03d}; not {chain[:32]!r}"
        return json_response({"error": "bad query", "detail": detail}, status=400)
    raw = request.query.get("limit") or "100"
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        detail = f"limit: a whole number from 1 to 1000; not {raw[:32]!r}"
        return json_response({"error": "bad query", "detail": detail}, status=400)
    try:
        records = await read_recent(chain, int(raw))
    except UnavailableError as exc:
        return json_response({"error": str(exc)}, status=503)
    return json_response({"chain": chain, "records": [dataclasses.asdict(r) for r in records]})
