"""POST /tasks/{task_id}/assign, /start and /cancel against a real Redis: what is published,
404, 409, 400, and the answer once the worker applied the event (200), refused it (409) or has
not got to it yet (202).

The worker is not running here: ``publish`` records the event and, where a test says so, plays
the worker's part by writing the task as the worker would after applying it. The real worker
and broker are in tests/e2e/test_tasks_api.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Literal

import orjson
import pytest

from api.http import Request
from api.task_commands import API_SOURCE, Action, task_command
from schemas.codec import decode_event
from security.exceptions import UnavailableError
from security.roles import Principal, Role
from streams.redis_client import connect, connect_async
from supervision.records import Transition, decode_task, encode_task
from supervision.store.keys import SupervisionKeys
from supervision.store.readers import SupervisionReader
from tests.support.tasks import partition_of, put_task, task, usccs

PARTS = 4
USCC = usccs(1, "610112", seed=3)[0]
NOW = dt.datetime(2026, 3, 10, 9, 30, tzinfo=dt.UTC)
Worker = Literal["applies", "refuses", "absent", "broker down"]
#: Who posts: the actor of every event is theirs, from the credentials.
CLERK = Principal("wang.li", Role.SUPERVISOR, "token")
#: What the handler recorded in the audit log: (actor, action, task, event id).
AUDITED: list[tuple[str, str, str, str]] = []


@pytest.fixture
def tasks(redis_url: str, key_prefix: str) -> None:
    client = connect(redis_url)
    try:
        put_task(client, key_prefix, PARTS, task("open", USCC))
        put_task(client, key_prefix, PARTS, task("done", USCC, state="completed", result="ok"))
        put_task(client, key_prefix, PARTS, task("gone", USCC, state="cancelled"))
    finally:
        client.close()


def _post(
    redis_url: str,
    prefix: str,
    task_id: str,
    action: Action,
    body: Any,
    worker: Worker = "applies",
    headers: dict[str, str] | None = None,
    principal: Principal | None = CLERK,
) -> tuple[int, Any, list[tuple[bytes, bytes]]]:
    """The handler's status and JSON, and every (key, value) it published."""
    published: list[tuple[bytes, bytes]] = []
    raw = body if isinstance(body, bytes) else orjson.dumps(body)

    async def audit(who: Principal, action: str, target: str, details: Mapping[str, Any]) -> None:
        if who.subject == "audit-down":
            raise UnavailableError("Redis: connection refused")
        AUDITED.append((who.actor, action, target, details["event_id"]))

    async def go() -> tuple[int, Any]:
        conn = connect_async(redis_url)
        tasks_key = SupervisionKeys(prefix).tasks(partition_of(USCC, PARTS))

        async def publish(key: bytes, value: bytes) -> None:
            if worker == "broker down":
                raise ConnectionError("broker unreachable")
            published.append((key, value))
            if worker in ("applies", "refuses"):  # the worker's part, as it would do it
                ev = decode_event(value)
                t = decode_task(await conn.hget(tasks_key, task_id))
                state = {"assign": "assigned", "start": "in_progress", "cancel": "cancelled"}
                step = Transition(
                    state[action], int(ev.time.timestamp()), "x", "", ev.id, worker == "refuses"
                )
                if worker == "applies":
                    t = dataclasses.replace(t, state=step.state)
                    t.inspectors = body.get("inspectors") or t.inspectors
                t.history.append(step)
                await conn.hset(tasks_key, task_id, encode_task(t))

        try:
            reader = SupervisionReader(conn, prefix=prefix, partitions=PARTS)
            r = await task_command(
                Request(
                    method="POST",
                    path_params={"task_id": task_id},
                    headers=headers or {},
                    body=raw,
                    principal=principal,
                ),
                action=action,
                reader=reader,
                publish=publish,
                audit=audit,
                wait_seconds=0.3,
                now=lambda: NOW,
            )
        finally:
            await conn.aclose()
        return r.status, orjson.loads(r.body)

    status, doc = asyncio.run(go())
    return status, doc, published


@pytest.mark.usefixtures("tasks")
def test_assign_publishes_the_command_and_answers_with_the_task_as_applied(
    redis_url: str, key_prefix: str
) -> None:
    body = {"inspectors": ["i-07", "i-12"], "note": "food team"}
    status, doc, published = _post(redis_url, key_prefix, "open", "assign", body)
    assert len(published) == 1
    key, value = published[0]
    assert key == USCC.encode()  # the enterprise's partition, like every event about it
    ev = decode_event(value)
    assert (str(ev.type), ev.source, ev.subject, ev.time) == (
        "riskmon.task.assigned",
        API_SOURCE,
        USCC,
        NOW,
    )
    assert ev.data.model_dump() == {"task_id": "open", "actor": "token:wang.li", **body}
    assert uuid.UUID(ev.id)
    assert status == 200
    assert (doc["task_id"], doc["state"], doc["inspectors"]) == (
        "open",
        "assigned",
        body["inspectors"],
    )
    assert doc["history"][-1]["event_id"] == ev.id


@pytest.mark.usefixtures("tasks")
def test_each_post_is_a_new_event(redis_url: str, key_prefix: str) -> None:
    ids = set()
    for _ in range(2):
        _, _, published = _post(redis_url, key_prefix, "open", "assign", {}, "absent")
        ids.add(decode_event(published[0][1]).id)
    assert len(ids) == 2


@pytest.mark.usefixtures("tasks")
def test_a_retry_with_the_same_idempotency_key_is_the_same_event(
    redis_url: str, key_prefix: str
) -> None:
    key = {"Idempotency-Key": "console-7f3a"}
    first = _post(redis_url, key_prefix, "open", "assign", {}, "absent", key)
    again = _post(redis_url, key_prefix, "open", "assign", {}, "absent", key)
    other = _post(redis_url, key_prefix, "open", "start", {}, "absent", key)
    ids = [decode_event(r[2][0][1]).id for r in (first, again, other)]
    assert ids[0] == ids[1] != ids[2]  # the same request, then another action


@pytest.mark.usefixtures("tasks")
def test_a_retry_of_an_applied_request_is_answered_from_the_history(
    redis_url: str, key_prefix: str
) -> None:
    key = {"Idempotency-Key": "console-81c2"}
    status, doc, published = _post(redis_url, key_prefix, "open", "start", {}, "applies", key)
    assert (status, doc["state"], len(published)) == (200, "in_progress", 1)
    # in_progress cannot start: without the key a repeat is a 409, with it the same 200
    status, doc, published = _post(redis_url, key_prefix, "open", "start", {}, "applies", key)
    assert (status, doc["state"], published) == (200, "in_progress", [])
    status, _, published = _post(redis_url, key_prefix, "open", "start", {})
    assert (status, published) == (409, [])


@pytest.mark.usefixtures("tasks")
def test_an_idempotency_key_it_cannot_take_is_a_400(redis_url: str, key_prefix: str) -> None:
    for bad in ("has space", "x" * 129, "中文"):
        status, doc, published = _post(
            redis_url, key_prefix, "open", "assign", {}, "absent",
            {"Idempotency-Key": bad},
        )  # fmt: skip
        assert (status, published) == (400, [])
        assert doc["detail"].startswith("Idempotency-Key")


@pytest.mark.usefixtures("tasks")
def test_cancel_carries_its_reason(redis_url: str, key_prefix: str) -> None:
    body = {"reason": "enterprise deregistered"}
    status, doc, published = _post(redis_url, key_prefix, "open", "cancel", body)
    ev = decode_event(published[0][1])
    assert str(ev.type) == "riskmon.task.cancelled"
    assert ev.data.model_dump() == {"task_id": "open", "actor": "token:wang.li", **body}
    assert (status, doc["state"]) == (200, "cancelled")


@pytest.mark.usefixtures("tasks")
def test_not_applied_in_time_is_a_202_with_the_event_id(redis_url: str, key_prefix: str) -> None:
    status, doc, published = _post(redis_url, key_prefix, "open", "assign", {}, "absent")
    assert status == 202
    assert doc == {
        "status": "published",
        "event_id": decode_event(published[0][1]).id,
        "task_id": "open",
    }


@pytest.mark.usefixtures("tasks")
def test_a_change_the_worker_refused_is_a_409_with_the_task(
    redis_url: str, key_prefix: str
) -> None:
    # Another operator's change came first in the log: the worker kept ours as rejected.
    status, doc, _ = _post(redis_url, key_prefix, "open", "assign", {}, "refuses")
    assert status == 409
    assert doc["task"]["state"] == "created"
    assert doc["task"]["history"][-1]["rejected"] is True


@pytest.mark.usefixtures("tasks")
@pytest.mark.parametrize(
    ("task_id", "action", "body"),
    [
        ("done", "assign", {}),
        ("done", "start", {}),
        ("done", "cancel", {"reason": "r"}),
        ("gone", "assign", {}),
        ("gone", "cancel", {"reason": "r"}),
    ],
)
def test_a_transition_the_state_does_not_allow_is_a_409_and_publishes_nothing(
    redis_url: str, key_prefix: str, task_id: str, action: Action, body: dict[str, Any]
) -> None:
    status, doc, published = _post(redis_url, key_prefix, task_id, action, body)
    assert published == []
    assert status == 409
    state = "completed" if task_id == "done" else "cancelled"
    assert doc["error"] == f"a task {state} cannot {action}"
    assert doc["task"]["task_id"] == task_id


@pytest.mark.usefixtures("tasks")
def test_an_unknown_task_is_a_404_and_publishes_nothing(redis_url: str, key_prefix: str) -> None:
    status, doc, published = _post(redis_url, key_prefix, "nope", "assign", {})
    assert (status, doc, published) == (404, {"error": "unknown task", "task_id": "nope"}, [])


@pytest.mark.usefixtures("tasks")
@pytest.mark.parametrize(
    ("action", "body", "says"),
    [
        ("assign", {"actor": "zhao.min"}, "actor: the credentials say token:wang.li"),
        ("cancel", {"actor": "token:wang.li"}, "reason: Field required"),
        (
            "assign",
            {"inspectors": "i-07"},
            "inspectors: Input should be a valid list",
        ),
        ("start", {"whence": "x"}, "whence: Extra inputs are not permitted"),
        ("start", {"task_id": "other"}, "task_id is the one in the path"),
        ("start", b"reason=a", "the body must be a JSON object"),
        ("start", [{}], "the body must be a JSON object"),
    ],
)
def test_a_body_it_cannot_take_is_a_400_naming_the_field(
    redis_url: str, key_prefix: str, action: Action, body: Any, says: str
) -> None:
    status, doc, published = _post(redis_url, key_prefix, "open", action, body)
    assert (status, doc["error"], published) == (400, "bad request body", [])
    assert doc["detail"].startswith(says)


@pytest.mark.usefixtures("tasks")
def test_a_broker_that_does_not_take_it_is_a_503(redis_url: str, key_prefix: str) -> None:
    status, doc, _ = _post(redis_url, key_prefix, "open", "assign", {}, "broker down")
    assert status == 503
    assert "could not publish the change" in doc["error"]
    client = connect(redis_url)
    try:
        raw = client.hget(SupervisionKeys(key_prefix).tasks(partition_of(USCC, PARTS)), "open")
    finally:
        client.close()
    assert decode_task(raw).state == "created"


@pytest.mark.usefixtures("tasks")
def test_a_change_no_credentials_stand_behind_is_not_published(
    redis_url: str, key_prefix: str
) -> None:
    # The guard always sets the principal; served without it, the handler still refuses.
    status, doc, published = _post(redis_url, key_prefix, "open", "start", {}, principal=None)
    assert (status, doc, published) == (401, {"error": "unauthorized"}, [])


@pytest.mark.usefixtures("tasks")
def test_each_change_asked_is_audited_first_and_not_published_unless_it_is(
    redis_url: str, key_prefix: str
) -> None:
    AUDITED.clear()
    status, _, published = _post(redis_url, key_prefix, "open", "start", {})
    assert status == 200
    assert [("token:wang.li", "task.start", "open", decode_event(published[0][1]).id)] == AUDITED
    down = Principal("audit-down", Role.SUPERVISOR, "token")
    status, doc, published = _post(
        redis_url, key_prefix, "open", "cancel", {"reason": "r"}, principal=down
    )
    assert (status, published) == (503, [])
    assert "audit log" in doc["error"]
