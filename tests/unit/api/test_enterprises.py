"""GET /enterprises/{uscc} answered by its handler alone: 400, 404, 503 and 200 bodies."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from api.enterprises import enterprise
from api.http import Request, Response
from schemas.codec import decode_event
from scoring.changes import change_for
from scoring.exceptions import StoreUnavailableError
from scoring.fold import EnterpriseState, Params, fold
from scoring.model import load_model
from security.exceptions import UnavailableError
from security.roles import Principal, Role
from supervision.records import ObservationRecord

MODEL = load_model()
STORY = Path(__file__).parents[3] / "examples" / "story.jsonl"
EVENTS = [decode_event(line) for line in STORY.read_bytes().splitlines() if line.strip()]
USCC = EVENTS[0].subject
#: A valid code no one has sent an event about.
UNKNOWN = "91110000600037341L"


def _states() -> dict[str, EnterpriseState]:
    # The story up to its penalty: the enterprise is in B.
    upto = next(i for i, e in enumerate(EVENTS) if str(e.type) == "penalty.imposed")
    state, _ = fold([change_for(e, MODEL) for e in EVENTS[: upto + 1]], Params.of(MODEL))
    return {USCC: state}


async def _none(uscc: str) -> ObservationRecord | None:
    return None


ANALYST = Principal("li.na", Role.ANALYST, "token")
#: What the handler recorded in the audit log: (actor, action, target).
AUDITED: list[tuple[str, str, str]] = []


async def _audit(who: Principal, action: str, target: str, details: Mapping[str, Any]) -> None:
    if who.subject == "audit-down":
        raise UnavailableError("Redis: connection refused")
    AUDITED.append((who.actor, action, target))


def _get(
    uscc: str,
    states: dict[str, EnterpriseState] | None = None,
    principal: Principal | None = ANALYST,
) -> Response:
    known = _states() if states is None else states

    async def read_state(code: str) -> EnterpriseState | None:
        return known.get(code)

    request = Request(path_params={"uscc": uscc}, principal=principal)
    return asyncio.run(
        enterprise(
            request, read_state=read_state, model=MODEL, read_observation=_none, audit=_audit
        )
    )


def _json(r: Response) -> object:
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    return orjson.loads(r.body)


def test_a_known_enterprise_is_explained() -> None:
    r = _get(USCC)
    assert r.status == 200
    body = _json(r)
    assert isinstance(body, dict)
    assert (body["uscc"], body["class"], body["model_version"]) == (USCC, "B", MODEL.version)
    assert any(c["event_type"] == "penalty.imposed" for c in body["contributions"])


def test_an_invalid_code_is_refused_before_the_store_is_asked() -> None:
    async def read_state(code: str) -> EnterpriseState | None:
        raise AssertionError("the store must not be asked about an invalid code")

    r = asyncio.run(
        enterprise(
            Request(path_params={"uscc": "NOTAUSCC"}),
            read_state=read_state,
            model=MODEL,
            read_observation=_none,
            audit=_audit,
        )
    )
    body = _json(r)
    assert (r.status, body["error"], body["uscc"]) == (400, "invalid USCC", "NOTAUSCC")
    assert body["detail"].startswith("'NOTAUSCC' is not a valid USCC")


def test_an_invalid_code_is_echoed_cut_to_64_characters() -> None:
    r = _get("X" * 200)
    body = _json(r)
    assert (r.status, body["uscc"]) == (400, "X" * 64)
    assert "X" * 65 not in body["detail"]


def test_a_lower_case_code_is_told_codes_are_upper_case() -> None:
    r = _get(USCC.lower())
    assert r.status == 400
    assert f"codes are upper case (did you mean {USCC}?)" in _json(r)["detail"]


def test_a_check_character_error_is_an_invalid_code() -> None:
    wrong = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    assert _get(wrong).status == 400


def test_an_enterprise_never_seen_is_not_found() -> None:
    r = _get(UNKNOWN)
    assert (r.status, _json(r)) == (404, {"error": "unknown enterprise", "uscc": UNKNOWN})


def test_the_store_unavailable_is_a_503_with_its_message() -> None:
    async def read_state(code: str) -> EnterpriseState | None:
        raise StoreUnavailableError("redis unavailable: Connection refused")

    r = asyncio.run(
        enterprise(
            Request(path_params={"uscc": USCC}),
            read_state=read_state,
            model=MODEL,
            read_observation=_none,
            audit=_audit,
        )
    )
    assert (r.status, _json(r)) == (503, {"error": "redis unavailable: Connection refused"})


def _with_observation(obs: ObservationRecord | None) -> dict[str, object]:
    known = _states()

    async def read_state(code: str) -> EnterpriseState | None:
        return known.get(code)

    async def read_observation(code: str) -> ObservationRecord | None:
        return obs if code == USCC else None

    request = Request(path_params={"uscc": USCC})
    r = asyncio.run(
        enterprise(
            request,
            read_state=read_state,
            model=MODEL,
            read_observation=read_observation,
            audit=_audit,
        )
    )
    assert r.status == 200
    body = _json(r)
    assert isinstance(body, dict)
    return body


def test_an_enterprise_without_an_observation_period_shows_null() -> None:
    assert _with_observation(None)["observation"] is None


def test_a_running_observation_period_shows_its_span() -> None:
    # Founded 2025-03-01, observed for 730 days.
    obs = ObservationRecord(uscc=USCC, since=1_740_787_200, until=1_803_859_200, active=True)
    assert _with_observation(obs)["observation"] == {
        "active": True,
        "since": "2025-03-01T00:00:00+00:00",
        "until": "2027-03-01T00:00:00+00:00",
        "ended_at": None,
        "ended_reason": None,
    }


def test_an_ended_observation_period_says_when_and_why() -> None:
    obs = ObservationRecord(
        uscc=USCC,
        since=1_740_787_200,
        until=1_803_859_200,
        active=False,
        ended_at=1_772_323_200,
        ended_reason="class_c",
        minor_triggers=[1_770_000_000],
    )
    assert _with_observation(obs)["observation"] == {
        "active": False,
        "since": "2025-03-01T00:00:00+00:00",
        "until": "2027-03-01T00:00:00+00:00",
        "ended_at": "2026-03-01T00:00:00+00:00",
        "ended_reason": "class_c",
    }


def test_a_viewer_sees_the_class_and_score_but_not_why() -> None:
    full = _json(_get(USCC))
    for who in (Principal("desk", Role.VIEWER, "token"), None):
        seen = _json(_get(USCC, principal=who))
        assert isinstance(seen, dict) and isinstance(full, dict)
        assert (seen["class"], seen["score"]) == (full["class"], full["score"])
        assert "contributions" not in seen and "dimensions" not in seen
        assert seen["redacted"] == ["dimensions", "contributions", "next_time_driven_change"]
        assert {k: v for k, v in full.items() if k not in seen["redacted"]} == {
            k: v for k, v in seen.items() if k != "redacted"
        }


def test_who_read_an_explanation_is_recorded_and_without_a_record_there_is_no_read() -> None:
    AUDITED.clear()
    assert _get(USCC).status == 200
    _get(USCC, principal=Principal("desk", Role.VIEWER, "token"))  # no why: nothing to record
    assert AUDITED == [("token:li.na", "enterprise.explain", USCC)]
    r = _get(USCC, principal=Principal("audit-down", Role.ADMIN, "token"))
    assert r.status == 503 and b"contributions" not in r.body
