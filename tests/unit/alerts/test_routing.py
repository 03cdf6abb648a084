"""Routing of published messages: who gets what (type and severity), what goes to
Alertmanager and with which labels, and the backoff schedule."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from alerts.routing import (
    Profile,
    alertmanager_alert,
    backoff_seconds,
    next_attempt,
    routed,
    subscribers_for,
    wants_alertmanager,
)
from alerts.webhooks_config import DeliveryLimits, Subscriber
from tests.support.alert_messages import T0, area_warning, class_changed, warning
from tests.support.tasks import usccs

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
U1, U2 = usccs(2)
CONSOLE = "https://console.example.org/"


def sub(sid: str, types: set[str], min_severity: str = "info") -> Subscriber:
    return Subscriber.model_validate(
        {
            "id": sid,
            "url": "https://x.example.org/h",
            "secret": SECRET,
            "types": types,
            "min_severity": min_severity,
        }
    )


SUBSCRIBERS = [
    sub("warnings-all", {"riskmon.alert.warning"}),
    sub("warnings-critical", {"riskmon.alert.warning"}, "critical"),
    sub("classes", {"riskmon.alert.class_changed"}, "critical"),
    sub("areas", {"riskmon.alert.region", "riskmon.alert.industry"}, "warning"),
]


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        (warning(U1, severity="info")[1], ["warnings-all"]),
        (warning(U1, severity="critical")[1], ["warnings-all", "warnings-critical"]),
        (class_changed(U1)[1], ["classes"]),  # no severity: the minimum does not apply
        (area_warning("division", severity="warning")[1], ["areas"]),
        (area_warning("industry", "F51", severity="info")[1], []),
    ],
)
def test_subscribers_get_the_types_they_asked_for_at_their_severity(
    body: bytes, wanted: list[str]
) -> None:
    assert [s.id for s in subscribers_for(routed(body), SUBSCRIBERS)] == wanted


def test_a_routed_message_keeps_its_id_type_severity_and_bytes() -> None:
    mid, body = warning(U1, severity="warning")
    msg = routed(body)
    assert (msg.id, msg.type, msg.severity, msg.subject, msg.time) == (
        mid,
        "riskmon.alert.warning",
        "warning",
        U1,
        T0,
    )
    assert msg.body == body
    assert routed(class_changed(U1)[1]).severity is None


def test_what_is_not_a_riskmon_message_is_refused() -> None:
    with pytest.raises(ValidationError):
        routed(b'{"id": "x"}')
    with pytest.raises(ValidationError):
        routed(b"not json")


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        (warning(U1, severity="critical")[1], True),
        (warning(U1, severity="warning")[1], False),
        (class_changed(U1, new="D", old="C")[1], True),
        (class_changed(U1, new="D", old=None)[1], True),
        (class_changed(U1, new="C", old="D")[1], False),
        (class_changed(U1, new="C", old="B")[1], False),
        (area_warning("division", severity="info")[1], True),
        (area_warning("industry", "F", severity="warning")[1], True),
    ],
)
def test_alertmanager_gets_critical_warnings_d_entries_and_area_warnings(
    body: bytes, wanted: bool
) -> None:
    assert wants_alertmanager(routed(body)) is wanted


def test_a_critical_warning_posts_with_its_labels_and_a_link_to_the_enterprise() -> None:
    mid, body = warning(U1, severity="critical", rule="penalties", division="610112", industry="C")
    alert = alertmanager_alert(routed(body), CONSOLE)
    assert alert["labels"] == {
        "alertname": "RiskmonWarning",
        "severity": "critical",
        "rule": "penalties",
        "uscc": U1,
        "division": "610112",
        "industry": "C",
        "id": mid,
    }
    assert alert["generatorURL"] == f"https://console.example.org/enterprises/{U1}"
    assert alert["startsAt"] == "2026-11-02T08:30:00Z"
    assert alert["endsAt"] == "2026-11-03T08:30:00Z"
    assert "penalties" in alert["annotations"]["summary"]


def test_a_d_entry_takes_division_and_industry_from_the_stored_profile() -> None:
    msg = routed(class_changed(U2)[1])
    labels = alertmanager_alert(msg, CONSOLE, Profile("110105", "F51"))["labels"]
    assert labels["alertname"] == "RiskmonClassD"
    assert (labels["severity"], labels["uscc"]) == ("critical", U2)
    assert (labels["division"], labels["industry"]) == ("110105", "F51")
    # Without a stored profile the labels are left out, not made up.
    bare = alertmanager_alert(msg, CONSOLE)["labels"]
    assert "division" not in bare and "industry" not in bare


def test_a_warning_without_its_area_falls_back_to_the_profile() -> None:
    msg = routed(warning(U1, division=None, industry="F")[1])
    labels = alertmanager_alert(msg, CONSOLE, Profile("110105", "G"))["labels"]
    assert (labels["division"], labels["industry"]) == ("110105", "F")


@pytest.mark.parametrize(
    ("kind", "code", "alertname", "label", "page"),
    [
        ("division", "610112", "RiskmonRegionalWarning", "division", "regions"),
        ("industry", "F51", "RiskmonIndustryWarning", "industry", "industries"),
    ],
)
def test_an_area_warning_names_its_area_and_links_to_its_page(
    kind: str, code: str, alertname: str, label: str, page: str
) -> None:
    alert = alertmanager_alert(routed(area_warning(kind, code)[1]), CONSOLE)
    assert alert["labels"]["alertname"] == alertname
    assert alert["labels"][label] == code
    assert "uscc" not in alert["labels"]
    assert alert["generatorURL"] == f"https://console.example.org/{page}/{code}"


LIMITS = DeliveryLimits(
    first_retry_seconds=5, max_retry_seconds=60, max_age_seconds=3_600, max_attempts=100
)


def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half() -> None:
    rng = random.Random(7)
    for attempts in range(1, 12):
        step = min(60.0, 5.0 * 2 ** (attempts - 1))
        for _ in range(50):
            wait = backoff_seconds(attempts, LIMITS, rng.random)
            assert step / 2 <= wait <= step
    assert backoff_seconds(1, LIMITS, lambda: 0.0) == 2.5
    assert backoff_seconds(10, LIMITS, lambda: 0.999999) == pytest.approx(60, rel=1e-5)


def test_jitter_spreads_deliveries_that_failed_together() -> None:
    rng = random.Random(1)
    waits = {round(backoff_seconds(3, LIMITS, rng.random), 3) for _ in range(20)}
    assert len(waits) > 10


def test_the_schedule_is_the_same_for_the_same_seed() -> None:
    a, b = random.Random(42), random.Random(42)
    assert [backoff_seconds(n, LIMITS, a.random) for n in range(1, 9)] == [
        backoff_seconds(n, LIMITS, b.random) for n in range(1, 9)
    ]


def test_a_delivery_is_retried_until_its_maximum_age_then_dead() -> None:
    rng = random.Random(3)
    start, now, attempts, times = 1_000.0, 1_000.0, 0, []
    while True:
        attempts += 1
        at = next_attempt(attempts, start, now, LIMITS, rng.random)
        if at is None:
            break
        assert now < at <= start + LIMITS.max_age_seconds
        times.append(at)
        now = at
    assert now == start + LIMITS.max_age_seconds  # a last try at the deadline itself
    assert times == sorted(times) and 40 < attempts < 130


def test_the_attempt_cap_ends_a_delivery_before_its_age() -> None:
    capped = DeliveryLimits(max_attempts=3)
    assert next_attempt(2, 0.0, 10.0, capped, lambda: 0.5) is not None
    assert next_attempt(3, 0.0, 10.0, capped, lambda: 0.5) is None
