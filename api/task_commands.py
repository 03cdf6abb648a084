"""``POST /tasks/{task_id}/assign``, ``/start`` and ``/cancel``: an operator changes a task.

The API never writes a task. It publishes the change as an event (``riskmon.task.assigned``,
``started`` or ``cancelled``) on the events topic, keyed by the task's USCC so that it lands on
the enterprise's partition: the log holds every change, a replay rebuilds every task, and the
worker applies it exactly once, in log order with everything else about the enterprise. The
handler then waits (``wait_seconds``) for the task's history to show the event: 200 with the
task as it now is; 409 if the worker refused it after all (another change came first); 202
with the event id if it has not been applied yet (it will be).

A client that may retry sends an ``Idempotency-Key`` header (1-128 visible ASCII characters):
the event id is then derived from the task, the action and the key, so a retried POST is the
same event (the worker's ledger applies it once), and one the worker has already applied is
answered from the task's history without publishing again. Without the header every POST is a
new event.

The body is a JSON object: for ``assign`` optional ``inspectors`` (empty: keep the task's) and
``note``, for ``start`` an optional ``note``, for ``cancel`` a ``reason`` (required). The
event's ``actor`` is whoever the credentials name (``token:<name>`` or ``oidc:<sub>``); a body
that names another actor is refused, so the log never credits a change to someone who did not
make it. Each request is recorded in the audit log (``task.<action>``, the task, the event id)
before its event is published; if it cannot be recorded, nothing is published (503).

Answers: 400 for a body it cannot take (naming the field), 404 for an unknown task, 409 for a
transition the task's state does not allow (``supervision.tasks.can``), 503 when the store or
the broker cannot answer.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Final, Literal

import orjson
from pydantic import BaseModel, ValidationError

from alerts.rules import derived_id
from api.http import Audit, Request, Response, json_response
from api.tasks import task_json, task_or_answer
from schemas.codec import CreditEvent, encode_event
from schemas.events import EventType, TaskAssigned, TaskCancelled, TaskStarted
from scoring.exceptions import StoreUnavailableError
from security.exceptions import UnavailableError
from supervision.records import TaskRecord, Transition
from supervision.store.readers import SupervisionReader
from supervision.tasks import can

__all__ = ["ACTIONS", "API_SOURCE", "Action", "Publish", "command_event", "task_command"]

#: ``source`` of the events the API publishes.
API_SOURCE: Final = "/riskmon/api"

Action = Literal["assign", "start", "cancel"]
#: Every action, in the order the routes list them.
ACTIONS: Final[tuple[Action, ...]] = ("assign", "start", "cancel")

#: Publishes one event on the events topic: (Kafka key, value); returns once the broker has
#: acked it, raises if it did not take it.
Publish = Callable[[bytes, bytes], Awaitable[None]]

_COMMANDS: Final[dict[str, tuple[EventType, type[BaseModel]]]] = {
    "assign": (EventType.TASK_ASSIGNED, TaskAssigned),
    "start": (EventType.TASK_STARTED, TaskStarted),
    "cancel": (EventType.TASK_CANCELLED, TaskCancelled),
}
#: What an ``Idempotency-Key`` may be.
_IDEMPOTENCY_KEY: Final = re.compile(r"[\x21-\x7e]{1,128}")
#: How often the handler looks whether the worker has applied the event.
_POLL_SECONDS: Final = 0.05


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def command_event(
    action: Action, task: TaskRecord, data: BaseModel, *, event_id: str, time: dt.datetime
) -> CreditEvent:
    """The event that asks for ``action`` on ``task``: subject its USCC, from the API."""
    etype, _ = _COMMANDS[action]
    return CreditEvent(
        id=event_id, source=API_SOURCE, type=etype, subject=task.uscc, time=time, data=data
    )


def _bad_body(detail: str) -> Response:
    return json_response({"error": "bad request body", "detail": detail}, status=400)


def _data(action: Action, task_id: str, body: bytes, actor: str) -> BaseModel | str:
    # The event's data from the body, or why the body cannot be taken.
    try:
        doc = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return "the body must be a JSON object"
    if not isinstance(doc, dict):
        return "the body must be a JSON object"
    if doc.get("task_id", task_id) != task_id:
        return "task_id is the one in the path; leave it out of the body"
    if doc.get("actor", actor) != actor:
        return f"actor: the credentials say {actor}; leave actor out of the body"
    _, model = _COMMANDS[action]
    try:
        return model.model_validate({**doc, "task_id": task_id, "actor": actor})
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "(body)"
        return f"{where}: {err['msg']}"


def _refused(task: TaskRecord, action: Action) -> Response:
    body = {"error": f"a task {task.state} cannot {action}", "task": task_json(task)}
    return json_response(body, status=409)


def _answer(task: TaskRecord, step: Transition, action: Action) -> Response:
    # The answer once the worker applied the event: 409 if it refused the step.
    return _refused(task, action) if step.rejected else json_response(task_json(task))


def _event_id(task_id: str, action: Action, key: str) -> str | None:
    # The event id for an Idempotency-Key ("" for none: a new one), or None if it is not one.
    if not key:
        return str(uuid.uuid4())
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        return None
    return derived_id(API_SOURCE, task_id, action, key)


def _outcome(task: TaskRecord | None, event_id: str) -> Transition | None:
    # The transition the event made (None: not applied yet).
    if task is None:
        return None
    return next((h for h in task.history if h.event_id == event_id), None)


async def task_command(
    request: Request,
    *,
    action: Action,
    reader: SupervisionReader,
    publish: Publish,
    audit: Audit,
    wait_seconds: float = 5.0,
    now: Callable[[], dt.datetime] = _utcnow,
) -> Response:
    """Publish ``action`` on the task of the path and answer as the module says."""
    task_id = request.path_params["task_id"]
    if request.principal is None:  # served without the guard: nobody to credit
        return json_response({"error": "unauthorized"}, status=401)
    data = _data(action, task_id, request.body, request.principal.actor)
    if isinstance(data, str):
        return _bad_body(data)
    event_id = _event_id(task_id, action, request.headers.get("Idempotency-Key", ""))
    if event_id is None:
        return _bad_body("Idempotency-Key: 1-128 visible ASCII characters")
    found = await task_or_answer(reader, task_id)
    if isinstance(found, Response):
        return found
    task: TaskRecord | None = found
    if (done := _outcome(found, event_id)) is not None:
        return _answer(found, done, action)  # a retry of a request already applied
    if not can(found.state, action):
        return _refused(found, action)

    event = command_event(action, found, data, event_id=event_id, time=now())
    try:
        await audit(request.principal, f"task.{action}", task_id, {"event_id": event_id})
    except UnavailableError:
        return json_response({"error": "cannot record this change in the audit log now"}, 503)
    try:
        await publish(found.uscc.encode(), encode_event(event))
    except Exception as exc:  # the producer's errors: not taken, nothing changed
        return json_response({"error": f"could not publish the change: {exc!r}"}, status=503)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_seconds
    while True:
        try:
            task = await reader.task(task_id)
        except StoreUnavailableError:
            task = None  # published; say so below rather than fail
        step = _outcome(task, event_id)
        if task is not None and step is not None:
            return _answer(task, step, action)
        if loop.time() >= deadline:
            break
        await asyncio.sleep(_POLL_SECONDS)
    pending = {"status": "published", "event_id": event_id, "task_id": task_id}
    return json_response(pending, status=202)
