"""Enterprise state in Redis: the one part of ``scoring`` that does I/O.

=============  ==================================================================================
``keys``       every key name and its layout, the ``{pNNN}`` hash tag, the state buckets
``wire``       what Python passes to apply.lua and the stored state (MessagePack), both ways
``replies``    apply.lua's replies read back (outcomes, results, reclassify pages, the outbox)
``plan``       the script calls a batch needs, planned without Redis
``script``     apply.lua loaded once and run by SHA-1, reloaded when Redis lost it
``errors``     Redis errors translated into StoreError / StoreUnavailableError, once
``store``      :class:`Store`: the async reads and writes of the worker and the jobs
``readers``    synchronous walks over every state, for tools and tests
``areas``      regional and industry counts summed over partitions, and their recount
``apply.lua``  every write: apply a batch of events (with the time-driven class changes they
               bring about), or re-classify a page of enterprises; it implements
               ``scoring/fold.py`` and ``scoring/partition.py``, the specification
=============  ==================================================================================

Import from here; the names below are the package's interface.
"""

from schemas.classes import CLASS_NAMES
from scoring.store.areas import (
    AreaRow,
    AreaSnapshot,
    Member,
    MembersPage,
    area_rows,
    read_areas,
    region_members,
)
from scoring.store.keys import STATE_BUCKETS, Keys, bucket_of
from scoring.store.plan import MAX_CALL_EVENTS, ApplyRequest, Call, plan_calls, top_offsets
from scoring.store.readers import iter_states, newest_asof
from scoring.store.replies import ReclassifyPage, ReclassifyResult, Reply, Status, StoreResult
from scoring.store.script import SCRIPT
from scoring.store.store import Store
from scoring.store.wire import (
    decode_state,
    encode_state,
    event_wire,
    events_arg,
    ledger_field,
    pack_events,
    params_arg,
    version_id,
)

__all__ = [
    # Kept for importers that index by class number; defined in schemas.classes.
    "CLASS_NAMES",
    "MAX_CALL_EVENTS",
    "SCRIPT",
    "STATE_BUCKETS",
    "ApplyRequest",
    "AreaRow",
    "AreaSnapshot",
    "Call",
    "Keys",
    "Member",
    "MembersPage",
    "ReclassifyPage",
    "ReclassifyResult",
    "Reply",
    "Status",
    "Store",
    "StoreResult",
    "area_rows",
    "bucket_of",
    "decode_state",
    "encode_state",
    "event_wire",
    "events_arg",
    "iter_states",
    "ledger_field",
    "newest_asof",
    "pack_events",
    "params_arg",
    "plan_calls",
    "read_areas",
    "region_members",
    "top_offsets",
    "version_id",
]
