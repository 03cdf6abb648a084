"""What one event does to supervision's state, and what it sends (pure; used by
:mod:`supervision.step`, which owns the ledger and the watermark).

Per event type: tasks (scoring's ``task.created``, ``riskmon.task.*``, ``inspection.completed``),
the observation period (start, triggers, end; :mod:`supervision.observation`), and reminders
(:mod:`supervision.reminders`). Per due member: overdue, expiry, a penalty's repair window.
Within one event, in event-time order: the class changes time made before it (they may end a
period), its tasks, its own rule (a trigger before its class: a bottom-line penalty that also
drops the firm to C ends the period as ``bottom_line``, with its on-site task), its class, and
the changes time made after it.

A penalty schedules its repair reminder (``rem:<uscc>|<decision number>``); its revocation
removes it. A revocation read before its penalty (out of order) cannot: the reminder then
still goes out when the window opens, and a reminder already sent is not withdrawn.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from alerts.rules import Message, derived_id, time_cause
from schemas.alerts import TASK_CREATED, Cause, EndReason, TaskCreated
from schemas.classes import class_name
from schemas.codec import loads
from schemas.events import (
    AbnormalListAdded,
    EnterpriseRegistered,
    EventType,
    InspectionCompleted,
    PenaltyImposed,
    PenaltyRevoked,
    TaskAssigned,
    TaskCancelled,
    TaskPlanned,
    TaskStarted,
)
from supervision import observation as obsr
from supervision import outputs, tasks
from supervision.config import SupervisionConfig
from supervision.ids import plan_task_id
from supervision.records import ObservationRecord, TaskRecord, Transition

if TYPE_CHECKING:
    from supervision.step import Effects, Input

__all__ = ["RISKMON", "Batch"]

#: The actor of what riskmon does itself (creating a trigger's task, marking it overdue).
RISKMON = "riskmon"
#: An active period means A or B; when scoring's class is unknown (0), a task made during it is
#: filed under B, the higher of the two, so its due days are not the most lenient.
_UNKNOWN_OBSERVED_CLASS = "B"
DAY = obsr.DAY


def _cause(i: Input) -> Cause:
    return Cause(source=i.source, id=i.event_id, type=i.etype)


@dataclass(slots=True)
class Batch:
    """The working state of one :func:`supervision.step.step` call."""

    tasks: dict[str, TaskRecord]
    observations: dict[str, ObservationRecord]
    cfg: SupervisionConfig
    model_version: str
    fx: Effects
    #: Due member -> its time: loaded and made in this batch, less those fired or void.
    due: dict[str, int] = field(default_factory=dict)
    #: ``due`` as a heap of (time, member); stale pairs are skipped when popped.
    heap: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.heap = [(t, m) for m, t in self.due.items()]
        heapq.heapify(self.heap)

    # -- due ---------------------------------------------------------------------------------

    def schedule(self, member: str, t: int) -> None:
        self.due[member] = t
        heapq.heappush(self.heap, (t, member))
        self.fx.due_set[member] = t
        self.fx.due_removed.discard(member)

    def unschedule(self, member: str) -> None:
        self.due.pop(member, None)
        self.fx.due_set.pop(member, None)
        self.fx.due_removed.add(member)

    def fire_due(self, until: int, out: list[Message]) -> None:
        """Fire every due entry at or before ``until`` (Unix s), in (time, member) order."""
        while self.heap and self.heap[0][0] <= until:
            t, m = heapq.heappop(self.heap)
            if self.due.get(m) != t:
                continue  # moved or removed since it was pushed
            self.unschedule(m)
            self._fire(m, t, out)

    def _fire(self, member: str, t: int, out: list[Message]) -> None:
        kind, _, rest = member.partition(":")
        if kind == "t":
            task = self.tasks.get(rest)
            if task is None or not tasks.is_open(task) or task.overdue:
                return
            task.overdue = True
            task.history.append(Transition("overdue", t, RISKMON))
            self._task_changed(task)
            out.append(outputs.task_overdue(task))
        elif kind == "obs":
            obs = self.observations.get(rest)
            if obs is not None and obs.active:
                self._end(obs, t, "expired", time_cause(rest, t), out)
        elif kind == "rem":
            uscc, _, ref = rest.partition("|")
            out.append(outputs.reminder(uscc, "penalty_repair", ref, "", t, time_cause(uscc, t)))

    # -- writes ------------------------------------------------------------------------------

    def _task_changed(self, task: TaskRecord) -> None:
        self.tasks[task.task_id] = task
        self.fx.tasks[task.task_id] = task
        if not tasks.is_open(task):
            self.unschedule(f"t:{task.task_id}")

    def _new_task(self, task: TaskRecord, actor: str) -> None:
        task.history.append(Transition("created", task.created_at, actor, "", task.cause_id))
        self._task_changed(task)
        self.schedule(f"t:{task.task_id}", task.due)

    def _obs_changed(self, obs: ObservationRecord) -> None:
        self.observations[obs.uscc] = obs
        self.fx.observations[obs.uscc] = obs

    # -- per event ---------------------------------------------------------------------------

    def apply(self, i: Input, out: list[Message]) -> None:
        """Apply input ``i`` (not yet seen), appending what it sends to ``out``."""
        for f in i.fired:  # class changes time made before the event
            if f.outcome.asof <= i.outcome.asof:
                self._class_end(f.uscc, f.outcome.new_class, f.outcome.asof, i, out)
        for m in i.scoring:
            if m.type == TASK_CREATED:
                self._scoring_task(m)
        d = i.data
        if isinstance(d, TaskPlanned):
            self._planned(i, d, out)
        elif isinstance(d, TaskAssigned | TaskStarted | TaskCancelled):
            self._command(i, d)
        elif isinstance(d, InspectionCompleted):
            self._completed(i, d)
        elif isinstance(d, EnterpriseRegistered):
            self._register(i, d, out)
        elif isinstance(d, AbnormalListAdded):
            ref, reason = d.decision_number, d.reason
            out.append(outputs.reminder(i.uscc, "abnormal_list", ref, reason, i.time, _cause(i)))
        elif isinstance(d, PenaltyImposed):
            days = self.cfg.reminders.repair_days(d.domain)
            self.schedule(f"rem:{i.uscc}|{d.decision_number}", i.time + days * DAY)
        elif isinstance(d, PenaltyRevoked):
            self.unschedule(f"rem:{i.uscc}|{d.decision_number}")
        self._triggers(i, out)
        self._class_end(i.uscc, i.outcome.new_class, i.time, i, out)
        for f in i.fired:  # and after it
            if f.outcome.asof > i.outcome.asof:
                self._class_end(f.uscc, f.outcome.new_class, f.outcome.asof, i, out)

    def _scoring_task(self, m: Message) -> None:
        d = TaskCreated.model_validate(loads(m.value)["data"])
        if d.task_id in self.tasks:
            return
        created = int(d.asof.timestamp())
        due = created + self.cfg.tasks.days(d.trigger, d.risk_class) * DAY
        task = TaskRecord(
            d.task_id, d.uscc, d.trigger, d.mode, "created", d.risk_class, created, due,
            cause_source=d.cause.source, cause_id=d.cause.id,
        )  # fmt: skip
        self._new_task(task, RISKMON)

    def _planned(self, i: Input, d: TaskPlanned, out: list[Message]) -> None:
        self.fx.last_inspectors[i.uscc] = list(d.inspectors)
        if d.task_id in self.tasks:
            self.fx.ignored.append((i.ehash, f"task {d.task_id} exists"))
            return
        due = i.time + self.cfg.tasks.days("random_plan", d.class_at_draw) * DAY
        task = TaskRecord(
            d.task_id, i.uscc, "random_plan", "on_site", "created", d.class_at_draw, i.time, due,
            plan_id=d.plan_id, inspectors=list(d.inspectors), cause_source=i.source,
            cause_id=i.event_id,
        )  # fmt: skip
        self._new_task(task, i.source)
        out.append(outputs.task_created(task, _cause(i), self.model_version))

    def _task_of(self, i: Input, task_id: str) -> TaskRecord | None:
        task = self.tasks.get(task_id)
        if task is None:
            self.fx.ignored.append((i.ehash, f"unknown task {task_id}"))
            return None
        if task.uscc != i.uscc:
            self.fx.ignored.append((i.ehash, f"task {task_id} is not {i.uscc}'s"))
            return None
        return task

    def _command(self, i: Input, d: TaskAssigned | TaskStarted | TaskCancelled) -> None:
        task = self._task_of(i, d.task_id)
        if task is None:
            return
        action: Literal["assign", "start", "cancel"]
        if isinstance(d, TaskAssigned):
            action, note = "assign", d.note
        elif isinstance(d, TaskStarted):
            action, note = "start", d.note
        else:
            action, note = "cancel", d.reason
        ok = tasks.apply(task, action, i.time, d.actor, note, i.event_id)
        if ok and isinstance(d, TaskAssigned) and d.inspectors:
            task.inspectors = list(d.inspectors)
        self._task_changed(task)

    def _completed(self, i: Input, d: InspectionCompleted) -> None:
        task: TaskRecord | None = None
        if d.task_id:
            task = self._task_of(i, d.task_id)
        elif d.plan_id:
            task = self.tasks.get(plan_task_id(d.plan_id, i.uscc))
            if task is not None and not tasks.is_open(task):
                task = None  # the plan's task is done: this inspection only scores
        if task is None:
            return
        if tasks.apply(task, "complete", i.time, i.source, d.result, i.event_id):
            task.result = d.result
            if task.trigger == "random_plan":
                self.fx.discovery[f"{task.risk_class}|{d.result}"] += 1
        self._task_changed(task)

    # -- observation -------------------------------------------------------------------------

    def _register(self, i: Input, d: EnterpriseRegistered, out: list[Message]) -> None:
        if i.uscc in self.observations:
            return  # a period never restarts (nor starts twice)
        span = obsr.period(d, i.outcome.new_class, i.time, i.tz_offset, self.cfg.observation)
        if span is None:
            return
        obs = ObservationRecord(i.uscc, span[0], span[1], active=True)
        self._obs_changed(obs)
        self.schedule(f"obs:{i.uscc}", obs.until)
        out.append(outputs.observation_started(obs, i.time, _cause(i)))

    def _triggers(self, i: Input, out: list[Message]) -> None:
        obs = self.observations.get(i.uscc)
        if obs is None or not obsr.within(obs, i.time):
            return
        cfg = self.cfg.observation
        on_site = obsr.on_site_trigger(i.etype, i.data, cfg)
        if on_site is not None:
            out.append(self._trigger_task(i, "observation_trigger", "on_site"))
            self._end(obs, i.time, on_site, _cause(i), out)
            return
        before = (list(obs.complaints), list(obs.minor_triggers))
        measure = obsr.measure(obs, i.etype, i.data, i.time, cfg)
        if measure == "remind":
            reason = "complaint" if i.etype == EventType.COMPLAINT_RECEIVED else i.etype
            kind: Literal["observation_trigger"] = "observation_trigger"
            out.append(outputs.reminder(i.uscc, kind, i.event_id, reason, i.time, _cause(i)))
        elif measure == "interview":
            out.append(self._trigger_task(i, "observation_interview", "interview"))
        if (obs.complaints, obs.minor_triggers) != before:
            self._obs_changed(obs)

    def _trigger_task(self, i: Input, trigger: str, mode: str) -> Message:
        n = i.outcome.new_class
        cls = class_name(n) if 1 <= n <= 4 else _UNKNOWN_OBSERVED_CLASS
        tid = derived_id(i.uscc, f"{i.source}\x00{i.event_id}", "task", trigger)
        due = i.time + self.cfg.tasks.days(trigger, cls) * DAY
        task = TaskRecord(
            tid, i.uscc, trigger, mode, "created", cls, i.time, due,
            cause_source=i.source, cause_id=i.event_id,
        )  # fmt: skip
        self._new_task(task, RISKMON)
        return outputs.task_created(task, _cause(i), self.model_version)

    def _class_end(self, uscc: str, new_class: int, t: int, i: Input, out: list[Message]) -> None:
        reason = obsr.class_end_reason(new_class)
        obs = self.observations.get(uscc)
        if reason is None or obs is None or not obs.active:
            return
        cause = _cause(i) if uscc == i.uscc and t == i.time else time_cause(uscc, t)
        self._end(obs, t, reason, cause, out)

    def _end(
        self, obs: ObservationRecord, t: int, reason: EndReason, cause: Cause, out: list[Message]
    ) -> None:
        obsr.end(obs, t, reason)
        self._obs_changed(obs)
        self.unschedule(f"obs:{obs.uscc}")
        out.append(outputs.observation_ended(obs, cause))
