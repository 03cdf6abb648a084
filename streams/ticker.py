"""The ticker: re-evaluation events for enterprises whose time-driven change is due.

A score decays and a contribution expires with time, not with events; the store keeps, per
partition, a sorted set of when each enterprise's class next changes by itself. The ticker
publishes a ``riskmon.reevaluate`` event for each one due, into the events topic and the
enterprise's own partition, so the change is applied in the log's order like any other event.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import TYPE_CHECKING

from schemas.codec import dumps
from schemas.events import TICKER_SOURCE
from scoring.exceptions import StoreUnavailableError

if TYPE_CHECKING:  # importing TICKER_SOURCE (replay, tests) need not load Faust
    from streams.runtime import Runtime

__all__ = ["TICKER_SOURCE", "reevaluate_event", "tick"]

log = logging.getLogger(__name__)

#: A re-evaluation sent but not yet applied is sent again after this long.
_RESEND_SECONDS = 30.0
#: Above this many re-evaluations remembered as sent, those older than the resend delay go.
_INFLIGHT_MAX = 100_000
#: Due enterprises read per partition and tick.
_DUE_LIMIT = 1000


def reevaluate_event(uscc: str, due: int) -> bytes:
    """The ticker's CloudEvent asking for ``uscc`` to be re-evaluated at ``due`` (Unix s)."""
    when = dt.datetime.fromtimestamp(due, dt.UTC).isoformat()
    return dumps(
        {
            "specversion": "1.0",
            "id": f"{uscc}@{due}",
            "source": TICKER_SOURCE,
            "type": "riskmon.reevaluate",
            "subject": uscc,
            "time": when,
            "datacontenttype": "application/json",
            "data": {"asof": when},
        }
    )


async def tick(rt: Runtime) -> None:
    """Publish a re-evaluation for each enterprise whose time-driven change is due.

    Only for this worker's partitions; scans one sorted set per partition, never the
    enterprises. Resent after a while if not yet applied (the ledger absorbs duplicates).
    Also refreshes the lag gauge and the enterprises-per-class snapshot /metrics serves.
    """
    now = time.time()
    rt.progress()  # keeps riskmon_consumer_lag_records current
    try:
        rt.class_snapshot.update(await rt.store.class_counts())
        for p in rt.events_partitions():
            for uscc, due in await rt.store.due(p, int(now), limit=_DUE_LIMIT):
                sent = rt.inflight.get(uscc)
                if sent and sent[0] == due and now - sent[1] < _RESEND_SECONDS:
                    continue
                await rt.app.producer.send(
                    rt.settings.events_topic,
                    uscc.encode(),
                    reevaluate_event(uscc, due),
                    p,
                    None,
                    None,
                )
                rt.inflight[uscc] = (due, now)
    except StoreUnavailableError as exc:
        log.warning("ticker: redis unavailable: %s", exc)
        return
    if len(rt.inflight) > _INFLIGHT_MAX:
        cutoff = now - _RESEND_SECONDS
        for k in [k for k, (_, t) in rt.inflight.items() if t < cutoff]:
            del rt.inflight[k]
    await asyncio.sleep(0)
