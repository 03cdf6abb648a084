"""A hypothesis strategy of realistic event histories for one enterprise: every event type,
removals and revocations that may come before what they cancel, times over two and a half years.
Shared by the fold's property tests and the Lua/fold parity test."""

from __future__ import annotations

from hypothesis import strategies as st

from schemas.codec import CreditEvent
from tests.support.builders import at, event

__all__ = ["histories"]


DECISIONS = ["D1", "D2", "D3"]
days = st.integers(min_value=0, max_value=900)


@st.composite
def histories(draw: st.DrawFn) -> list[CreditEvent]:
    out: list[CreditEvent] = []
    n = draw(st.integers(min_value=1, max_value=14))
    for i in range(n):
        day = draw(days)
        kind = draw(
            st.sampled_from(
                ["pen", "pen_rev", "abn", "abn_rm", "svl", "svl_rm", "cmp", "ins", "reg"]
            )
        )
        dec = draw(st.sampled_from(DECISIONS))
        w = at(day, hour=draw(st.integers(0, 23)))
        eid = f"e{i}"
        if kind == "pen":
            data = {
                "decision_number": dec,
                "domain": draw(st.sampled_from(["food", "price", "quality"])),
                "fine_cny": draw(st.sampled_from([0, 20_000, 500_000, 2_000_000])),
                "severity": draw(st.sampled_from(["minor", "ordinary", "serious", "grave"])),
            }
            out.append(event("penalty.imposed", data, when=w, eid=eid))
        elif kind == "pen_rev":
            out.append(event("penalty.revoked", {"decision_number": dec}, when=w, eid=eid))
        elif kind == "abn":
            data = {"decision_number": dec, "reason": "unreachable_at_address"}
            out.append(event("abnormal_list.added", data, when=w, eid=eid))
        elif kind == "abn_rm":
            out.append(event("abnormal_list.removed", {"decision_number": dec}, when=w, eid=eid))
        elif kind == "svl":
            data = {"decision_number": dec, "reason": "fraud"}
            out.append(event("serious_violation.added", data, when=w, eid=eid))
        elif kind == "svl_rm":
            data = {"decision_number": dec}
            out.append(event("serious_violation.removed", data, when=w, eid=eid))
        elif kind == "cmp":
            data = {"channel": "12315_hotline", "category": "quality"}
            out.append(event("complaint.received", data, when=w, eid=eid))
        elif kind == "ins":
            result = draw(
                st.sampled_from(
                    ["no_problem", "corrected", "problems_found", "not_at_address", "refused"]
                )
            )
            out.append(event("inspection.completed", {"result": result}, when=w, eid=eid))
        else:
            data = {
                "name": "测试企业",
                "division_code": "610112",
                "industry_code": "F5191",
                "founded_on": str(at(day - 100).date()),
                "registered_capital_cny": 1_000_000,
                "new_economy": draw(st.booleans()),
            }
            out.append(event("enterprise.registered", data, when=w, eid=eid))
    return out
