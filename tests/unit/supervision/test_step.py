"""The supervision fold, driven by event times through an in-memory store: observation
periods from start to end, tasks from creation to result, reminders, exactly-once and batch
independence."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.rules import Message, derived_id, time_cause
from schemas.events import (
    AbnormalListAdded,
    CaseLeadTransferred,
    ComplaintReceived,
    InspectionCompleted,
    InspectionRequired,
    MonitoringSignal,
    PenaltyImposed,
    PenaltyRevoked,
    Reevaluate,
    SeriousViolationAdded,
    TaskAssigned,
    TaskCancelled,
    TaskPlanned,
    TaskStarted,
)
from scoring.fold import Outcome
from scoring.partition import Fired
from supervision.ids import plan_task_id
from supervision.step import Input, Loaded, step, wants
from tests.support.supervision import (
    CFG,
    DAY,
    OTHER,
    T0,
    USCC,
    VERSION,
    A,
    B,
    C,
    D,
    Store,
    body,
    ev,
    flat,
    registered,
    ts,
)

SINCE = ts(2025, 1, 1)
UNTIL = SINCE + 730 * DAY


def complaint(t: int, category: str = "service", cls: int = A) -> Input:
    data = ComplaintReceived(channel="12315_platform", category=category)  # type: ignore[arg-type]
    return ev("complaint.received", data, t, cls=cls)


def signal(t: int) -> Input:
    return ev("monitoring.signal", MonitoringSignal(code="PRICE-SPIKE", severity="medium"), t)


def tick(t: int, uscc: str = USCC, fired: tuple[Fired, ...] = ()) -> Input:
    asof = dt.datetime.fromtimestamp(t, dt.UTC)
    return ev(
        "riskmon.reevaluate",
        Reevaluate(asof=asof),
        t,
        uscc=uscc,
        source="/riskmon/ticker",
        eid=f"{uscc}@{t}",
        fired=fired,
    )


def penalty(
    t: int, domain: str = "price", number: str = "西未市监罚〔2025〕17号", cls: int = A
) -> Input:
    data = PenaltyImposed(
        decision_number=number,
        domain=domain,  # type: ignore[arg-type]
        fine_cny=5000.0,
        severity="ordinary",
    )
    return ev("penalty.imposed", data, t, cls=cls)


def types(messages: list[list]) -> list[str]:  # type: ignore[type-arg]
    return [m.type for m in flat(messages)]


# -- observation periods ----------------------------------------------------------------------


def test_a_new_economy_firm_in_a_enters_its_period_from_its_founding_date() -> None:
    s = Store()
    (out,) = s.run([registered()])
    (m,) = out
    assert m.type == "riskmon.observation.started" and m.kind == "alert"
    data = body(m)
    assert data["since"] == "2025-01-01T00:00:00Z" and data["until"] == "2027-01-01T00:00:00Z"
    assert data["@time"] == dt.datetime.fromtimestamp(T0, dt.UTC)  # event time, not the clock
    obs = s.observation()
    assert (obs.active, obs.since, obs.until) == (True, SINCE, UNTIL)


def test_the_founding_date_is_midnight_in_the_events_own_offset() -> None:
    i = registered()
    i.tz_offset = 8 * 3600  # Beijing time
    s = Store()
    s.run([i])
    assert s.observation().since == SINCE - 8 * 3600


@pytest.mark.parametrize(
    "inp",
    [
        pytest.param(registered(new_economy=False), id="not new economy"),
        pytest.param(registered(cls=C), id="registered in C"),
        pytest.param(registered(cls=D), id="registered in D"),
        pytest.param(registered(ts(2027, 2, 1)), id="period already over"),
    ],
)
def test_no_period_without_its_conditions(inp: Input) -> None:
    s = Store()
    assert s.run([inp]) == [[]]
    assert s.obs == {}


def test_an_unknown_class_counts_as_not_c_or_d() -> None:
    s = Store()
    assert types(s.run([registered(cls=0)])) == ["riskmon.observation.started"]


def test_gentle_measures_first_then_a_bottom_line_breach_ends_the_period() -> None:
    s = Store()
    s.run([registered()])
    # a first minor trigger: a risk reminder to the enterprise, nothing for inspectors
    (first,) = s.run([signal(T0 + 10 * DAY)])
    (m,) = first
    assert (m.kind, m.type) == ("reminder", "riskmon.reminder.sent")
    assert body(m)["kind"] == "observation_trigger" and set(body(m)["texts"]) == {"zh-CN", "en"}
    # a second within the window: an interview task
    (second,) = s.run([complaint(T0 + 20 * DAY, category="food_safety")])
    (t,) = second
    assert (t.kind, t.trigger) == ("task", "observation_interview")
    assert body(t)["mode"] == "interview"
    assert body(t)["due"] == "2025-04-20T00:00:00Z"  # 30 days (default.toml)
    # the window starts afresh: the next one reminds again
    assert [m.kind for m in flat(s.run([signal(T0 + 30 * DAY)]))] == ["reminder"]
    # a bottom-line breach: on-site at once, and the period ends
    (breach,) = s.run([penalty(T0 + 40 * DAY, domain="food")])
    task, ended = breach
    assert (task.kind, task.trigger, body(task)["mode"]) == (
        "task",
        "observation_trigger",
        "on_site",
    )
    assert body(ended)["reason"] == "bottom_line"
    assert body(ended)["ended_at"] == body(ended)["@time"].isoformat().replace("+00:00", "Z")
    obs = s.observation()
    assert (obs.active, obs.ended_reason, obs.ended_at) == (False, "bottom_line", T0 + 40 * DAY)
    # over: nothing triggers any more, nor does it start again (only tasks fall overdue)
    later = s.run([signal(T0 + 50 * DAY), registered(T0 + 51 * DAY)])
    assert types(later) == ["riskmon.task.overdue"] * 2


def test_minor_triggers_further_apart_than_the_window_only_remind() -> None:
    s = Store()
    s.run([registered()])
    out = s.run([signal(T0), signal(T0 + 91 * DAY)])
    assert [m.kind for m in flat(out)] == ["reminder", "reminder"]


def test_complaints_count_to_the_threshold_within_their_window() -> None:
    s = Store()
    s.run([registered()])
    assert s.run([complaint(T0), complaint(T0 + 40 * DAY)]) == [[], []]  # 40 days apart
    assert s.run([complaint(T0 + 50 * DAY)]) == [[]]  # two within 30 days
    (third,) = s.run([complaint(T0 + 60 * DAY)])  # three within 30 days
    assert [body(m)["kind"] for m in third] == ["observation_trigger"]


@pytest.mark.parametrize(
    ("inp", "reason"),
    [
        pytest.param(
            ev(
                "case_lead.transferred",
                CaseLeadTransferred(reason="无证经营线索", from_department="区城管局"),
                T0,
            ),
            "case_lead",
            id="case lead",
        ),
        pytest.param(
            ev("inspection.required", InspectionRequired(legal_basis="特种设备安全法第57条"), T0),
            "legal_requirement",
            id="legal requirement",
        ),
    ],
)
def test_on_site_triggers_send_inspectors_and_end_the_period(inp: Input, reason: str) -> None:
    s = Store()
    s.run([registered()])
    (out,) = s.run([inp])
    assert [(m.type, m.trigger) for m in out] == [
        ("riskmon.task.created", "observation_trigger"),
        ("riskmon.observation.ended", ""),
    ]
    assert body(out[1])["reason"] == reason


def test_a_penalty_outside_the_bottom_line_domains_triggers_nothing() -> None:
    s = Store()
    s.run([registered()])
    assert s.run([penalty(T0, domain="advertising")]) == [[]]
    assert s.observation().active


def test_the_period_expires_by_event_time_after_the_allowed_lateness() -> None:
    s = Store()
    s.run([registered()], lateness=3600)
    assert s.run([tick(UNTIL)], lateness=3600) == [[]]  # ew - lateness is before until
    (out,) = s.run([tick(UNTIL + 3600)], lateness=3600)
    (m,) = out
    assert body(m)["reason"] == "expired"
    assert body(m)["@time"] == dt.datetime.fromtimestamp(UNTIL, dt.UTC)  # its due time
    assert not s.observation().active and s.due == {}


def test_an_event_after_the_period_triggers_nothing_even_before_expiry_fired() -> None:
    s = Store()
    s.run([registered()], lateness=7 * DAY)
    (out,) = s.run(
        [ev("inspection.required", InspectionRequired(legal_basis="x"), UNTIL + DAY)],
        lateness=7 * DAY,
    )
    assert out == []  # past its until; its expiry fires once the watermark passes lateness


def test_a_fall_to_c_ends_the_period() -> None:
    s = Store()
    s.run([registered()])
    (out,) = s.run([complaint(T0 + 5 * DAY, cls=C)])
    (m,) = out
    assert (body(m)["reason"], body(m)["cause"]["type"]) == ("class_c", "complaint.received")
    assert s.due == {}  # no expiry left


def test_a_time_driven_fall_to_d_ends_the_period_as_of_its_due_moment() -> None:
    s = Store()
    s.run([registered()])
    when = T0 + 9 * DAY
    change = Fired(USCC, Outcome(B, D, 0, when, 0))
    (out,) = s.run([tick(T0 + 10 * DAY, uscc=OTHER, fired=(change,))])
    ended = [m for m in out if m.type == "riskmon.observation.ended"]
    assert [body(m)["reason"] for m in ended] == ["class_d"]
    assert body(ended[0])["cause"] == time_cause(USCC, when).model_dump()
    assert s.observation().ended_at == when


# -- tasks ------------------------------------------------------------------------------------

PLAN = "plan-2025-q2-food"
TID = plan_task_id(PLAN, USCC)


def planned(t: int = T0, cls: str = "B") -> Input:
    data = TaskPlanned(task_id=TID, plan_id=PLAN, class_at_draw=cls, inspectors=["i1", "i2"])  # type: ignore[arg-type]
    return ev("riskmon.task.planned", data, t, source="/riskmon/plans", eid=f"{PLAN}/{USCC}")


def cmd(etype: str, t: int, **kw: object) -> Input:
    model = {
        "riskmon.task.assigned": TaskAssigned,
        "riskmon.task.started": TaskStarted,
        "riskmon.task.cancelled": TaskCancelled,
    }[etype]
    data = model(task_id=kw.pop("task_id", TID), actor="王科长", **kw)
    return ev(etype, data, t, source="/riskmon/api")


def test_a_plan_task_from_creation_to_result_counts_in_discovery() -> None:
    s = Store()
    (out,) = s.run([planned()])
    (m,) = out
    assert (m.kind, m.id, m.trigger) == ("task", TID, "random_plan")
    data = body(m)
    assert (data["plan_id"], data["inspectors"], data["risk_class"]) == (PLAN, ["i1", "i2"], "B")
    assert data["due"] == "2025-04-30T00:00:00Z"  # B: 60 days
    assert s.last == {USCC: ["i1", "i2"]}
    s.run(
        [
            cmd("riskmon.task.assigned", T0 + DAY, inspectors=["i3", "i4"]),
            cmd("riskmon.task.started", T0 + 2 * DAY),
            cmd("riskmon.task.assigned", T0 + 3 * DAY),  # too late: it has started
        ]
    )
    done = ev(
        "inspection.completed",
        InspectionCompleted(result="problems_found", plan_id=PLAN),
        T0 + 4 * DAY,
        source="/sxsjc",
    )
    assert s.run([done]) == [[]]  # supervision sends nothing; scoring scores it
    task = s.task(TID)
    assert (task.state, task.result, task.inspectors) == (
        "completed",
        "problems_found",
        ["i3", "i4"],
    )
    steps = [(h.state, h.at, h.rejected) for h in task.history]
    assert steps == [
        ("created", T0, False),
        ("assigned", T0 + DAY, False),
        ("in_progress", T0 + 2 * DAY, False),
        ("assigned", T0 + 3 * DAY, True),
        ("completed", T0 + 4 * DAY, False),
    ]
    assert s.disc == {"B|problems_found": 1}
    assert f"t:{TID}" not in s.due  # done: never overdue
    # a cancellation after the result is refused and kept
    s.run([cmd("riskmon.task.cancelled", T0 + 5 * DAY, reason="重复")])
    assert s.task(TID).state == "completed" and s.task(TID).history[-1].rejected
    # a second inspection of the plan completes nothing and counts nothing
    s.run(
        [
            ev(
                "inspection.completed",
                InspectionCompleted(result="no_problem", plan_id=PLAN),
                T0 + 6 * DAY,
                source="/sxsjc",
            )
        ]
    )
    assert s.disc == {"B|problems_found": 1}


def test_a_class_d_task_from_scoring_is_tracked_and_falls_overdue_once() -> None:
    s = Store()
    listing = ev(
        "serious_violation.added",
        SeriousViolationAdded(decision_number="严-1", reason="提交虚假材料"),
        T0,
        cls=D,
        old=B,
    )
    assert s.run([listing]) == [[]]  # scoring sends the task.created itself
    (scoring_task,) = [m for m in listing.scoring if m.type == "riskmon.task.created"]
    task = s.task(scoring_task.id)
    assert (task.trigger, task.state, task.due) == ("serious_violation", "created", T0 + 15 * DAY)
    assert s.run([tick(T0 + 15 * DAY - 1)]) == [[]]
    (out,) = s.run([tick(T0 + 15 * DAY)])
    (m,) = out
    assert (m.type, m.kind, m.id) == (
        "riskmon.task.overdue",
        "alert",
        derived_id(scoring_task.id, "overdue"),
    )
    assert body(m)["state"] == "created"
    task = s.task(scoring_task.id)
    assert task.overdue and task.state == "created" and task.history[-1].state == "overdue"
    assert s.run([tick(T0 + 30 * DAY)]) == [[]]  # overdue once
    # still open: it can be done late
    s.run(
        [
            ev(
                "inspection.completed",
                InspectionCompleted(result="corrected", task_id=scoring_task.id),
                T0 + 31 * DAY,
            )
        ]
    )
    assert s.task(scoring_task.id).state == "completed"
    assert s.disc == {}  # not a random-plan task: not an unbiased sample


def test_commands_for_unknown_tasks_are_ignored_and_said_so() -> None:
    s = Store()
    i = cmd("riskmon.task.started", T0, task_id="no-such-task")
    assert s.run([i]) == [[]]
    assert s.ignored == [(i.ehash, "unknown task no-such-task")]
    assert s.tasks == {}


def test_a_command_naming_another_enterprises_task_is_ignored() -> None:
    s = Store()
    s.run([planned()])
    other = ev("riskmon.task.started", TaskStarted(task_id=TID, actor="x"), T0, uscc=OTHER)
    s.run([other])
    assert s.task(TID).state == "created"
    assert s.ignored == [(other.ehash, f"task {TID} is not {OTHER}'s")]


# -- reminders --------------------------------------------------------------------------------


def test_an_abnormal_listing_tells_how_to_leave_the_list() -> None:
    s = Store()
    listing = AbnormalListAdded(
        decision_number="西未市监异〔2025〕8号", reason="annual_report_missing"
    )
    (out,) = s.run([ev("abnormal_list.added", listing, T0, cls=C)])
    (m,) = out
    data = body(m)
    assert (m.kind, data["kind"], data["ref"]) == (
        "reminder",
        "abnormal_list",
        "西未市监异〔2025〕8号",
    )
    assert "年度报告" in data["texts"]["zh-CN"] and "移出" in data["texts"]["zh-CN"]
    assert "annual report" in data["texts"]["en"] and "removal" in data["texts"]["en"]


@pytest.mark.parametrize(("domain", "days"), [("price", 180), ("food", 365), ("drug", 365)])
def test_a_penalty_repair_window_opens_after_its_days(domain: str, days: int) -> None:
    s = Store()
    s.run([penalty(T0, domain=domain)])
    assert s.run([tick(T0 + days * DAY - 1)]) == [[]]
    (out,) = s.run([tick(T0 + days * DAY)])
    (m,) = out
    assert (body(m)["kind"], body(m)["ref"]) == ("penalty_repair", "西未市监罚〔2025〕17号")
    assert body(m)["@time"] == dt.datetime.fromtimestamp(T0 + days * DAY, dt.UTC)


def test_a_revoked_penalty_opens_no_repair_window() -> None:
    s = Store()
    s.run(
        [
            penalty(T0),
            ev(
                "penalty.revoked",
                PenaltyRevoked(decision_number="西未市监罚〔2025〕17号"),
                T0 + DAY,
            ),
        ]
    )
    assert s.run([tick(T0 + 400 * DAY)]) == [[]]


def test_a_late_penalty_past_its_window_reminds_at_once() -> None:
    s = Store()
    s.run([tick(T0 + 400 * DAY)])
    (out,) = s.run([penalty(T0)])
    assert [body(m)["kind"] for m in out] == ["penalty_repair"]


# -- exactly once, determinism, batches -------------------------------------------------------


def story() -> list[Input]:
    reg = registered()
    return [
        reg,
        planned(T0 + DAY),
        signal(T0 + 2 * DAY),
        penalty(T0 + 3 * DAY, domain="price", number="罚-1"),
        reg,  # redelivered
        cmd("riskmon.task.assigned", T0 + 4 * DAY),
        complaint(T0 + 5 * DAY, category="food_safety"),
        tick(T0 + 70 * DAY),  # the plan task falls overdue
        cmd("riskmon.task.started", T0 + 71 * DAY),
        ev(
            "abnormal_list.added",
            AbnormalListAdded(decision_number="异-1", reason="unreachable_at_address"),
            T0 + 72 * DAY,
        ),
        ev(
            "inspection.completed",
            InspectionCompleted(result="no_problem", task_id=TID),
            T0 + 73 * DAY,
        ),
        tick(T0 + 190 * DAY),  # the penalty's repair window
        penalty(T0 + 2 * DAY, number="罚-3"),  # late: its window is open by the watermark
        penalty(T0 + 200 * DAY, domain="drug", number="罚-2"),  # bottom line: on-site, end
        tick(UNTIL + DAY),
    ]


def test_the_story_sends_what_the_rules_say() -> None:
    out = Store().run(story())
    assert [[(m.type, m.trigger) for m in ms] for ms in out] == [
        [("riskmon.observation.started", "")],
        [("riskmon.task.created", "random_plan")],
        [("riskmon.reminder.sent", "")],
        [],
        [("riskmon.observation.started", "")],  # the same again, same id
        [],
        [("riskmon.task.created", "observation_interview")],
        [("riskmon.task.overdue", "")] * 2,  # the interview's (day 35), the plan's (day 61)
        [],
        [("riskmon.reminder.sent", "")],
        [],
        [("riskmon.reminder.sent", "")],
        [("riskmon.reminder.sent", "")],
        [("riskmon.task.created", "observation_trigger"), ("riskmon.observation.ended", "")],
        # the on-site task (day 207), the drug penalty's repair (day 565); no expiry: it ended
        [("riskmon.task.overdue", ""), ("riskmon.reminder.sent", "")],
    ]
    assert out[4] == out[0]


def test_the_same_inputs_give_the_same_effects() -> None:
    inputs = story()
    w = wants(inputs, 0)
    empty = Loaded(ew=0, seen={}, tasks={}, observations={}, due=[])
    first = step(empty, inputs, CFG, VERSION, 0)
    again = step(empty, inputs, CFG, VERSION, 0)
    assert first == again
    assert w == wants(inputs, 0)


def test_a_redelivered_batch_changes_nothing_and_resends_the_same() -> None:
    s = Store()
    first = s.run(story())
    state = (s.ew, dict(s.tasks), dict(s.obs), dict(s.due), dict(s.disc))
    assert s.run(story()) == first
    assert (s.ew, s.tasks, s.obs, s.due, s.disc) == state


@pytest.mark.parametrize("cut", range(1, len(story())))
def test_a_batch_split_in_two_sends_what_it_sends_in_one(cut: int) -> None:
    inputs = story()
    whole = Store()
    one = whole.run(inputs, lateness=DAY)
    split = Store()
    two = split.run(inputs[:cut], lateness=DAY) + split.run(inputs[cut:], lateness=DAY)
    assert two == one
    assert (split.tasks, split.obs, split.due, split.disc, split.ew) == (
        whole.tasks,
        whole.obs,
        whole.due,
        whole.disc,
        whole.ew,
    )


def test_every_batch_of_one_sends_what_one_batch_sends() -> None:
    inputs = story()
    one = Store().run(inputs)
    s = Store()
    assert list(itertools.chain.from_iterable(s.run([i]) for i in inputs)) == one


def test_wants_names_what_the_batch_touches() -> None:
    done = ev("inspection.completed", InspectionCompleted(result="no_problem", plan_id=PLAN), T0)
    start = cmd("riskmon.task.started", T0 + 5, task_id="t-9")
    w = wants([done, start, tick(T0 + 10, uscc=OTHER)], 60)
    assert w.tasks == {TID, "t-9"}
    assert w.usccs == {USCC, OTHER}
    assert w.hashes == {done.ehash, start.ehash, tick(T0 + 10, uscc=OTHER).ehash}
    assert w.due_until == T0 + 10 - 60


@settings(max_examples=60, deadline=None)
@given(
    cuts=st.lists(st.integers(min_value=1, max_value=len(story()) - 1), max_size=6),
    lateness=st.sampled_from([0, 3600, 10 * DAY]),
)
def test_any_batching_sends_the_same_per_input(cuts: list[int], lateness: int) -> None:
    inputs = story()
    whole = Store()
    one = whole.run(inputs, lateness=lateness)
    s = Store()
    out: list[list[Message]] = []
    edges = [0, *sorted(set(cuts)), len(inputs)]
    for a, b in itertools.pairwise(edges):
        out += s.run(inputs[a:b], lateness=lateness)
    assert out == one
    assert (s.tasks, s.obs, s.due, s.disc, s.last, s.ew) == (
        whole.tasks, whole.obs, whole.due, whole.disc, whole.last, whole.ew,
    )  # fmt: skip
