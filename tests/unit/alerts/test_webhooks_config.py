"""The webhook subscribers file: the shipped example loads, a bad file fails at start naming
the field (and never its secret), a subscriber's filter takes what it asked for."""

from __future__ import annotations

from pathlib import Path

import pytest

from alerts.webhooks_config import (
    ALERTMANAGER,
    WebhooksConfig,
    WebhooksConfigError,
    load,
)

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "webhooks.toml"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the Standard Webhooks spec's example


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "webhooks.toml"
    path.write_text(text, "utf-8")
    return path


def one(extra: str = "", secret: str = SECRET, sid: str = "desk") -> str:
    return (
        f'[[subscriber]]\nid = "{sid}"\nurl = "https://hooks.example.org/x"\n'
        f'secret = "{secret}"\ntypes = ["riskmon.alert.warning"]\n{extra}'
    )


def test_the_example_file_loads_with_its_subscribers_and_limits() -> None:
    cfg = load(EXAMPLE)
    assert [s.id for s in cfg.subscribers] == ["duty-desk", "district-analysts"]
    desk = cfg.subscribers[0]
    assert desk.min_severity == "warning"
    assert desk.types == {"riskmon.alert.warning", "riskmon.alert.class_changed"}
    assert desk.max_age_seconds == 86_400 and desk.max_attempts == 60
    assert cfg.limits(ALERTMANAGER) == cfg.alertmanager
    assert cfg.limits("duty-desk") is desk and cfg.limits("nobody") is None


def test_no_file_means_no_subscribers() -> None:
    assert load(None) == WebhooksConfig()
    assert load(None).subscribers == ()


def test_defaults_are_a_day_of_retries(tmp_path: Path) -> None:
    (sub,) = load(write(tmp_path, one())).subscribers
    assert (sub.timeout_seconds, sub.max_age_seconds, sub.max_attempts) == (10, 86_400, 60)
    assert sub.min_severity == "info"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (one('min_severity = "urgent"\n'), "subscriber.0.min_severity"),
        (one("timeout_seconds = 0\n"), "subscriber.0.timeout_seconds"),
        (one("max_age_seconds = -5\n"), "subscriber.0.max_age_seconds"),
        (one("max_attempts = 0\n"), "subscriber.0.max_attempts"),
        (one("first_retry_seconds = 10\nmax_retry_seconds = 1\n"), "subscriber.0"),
        (one("colour = 'red'\n"), "subscriber.0.colour"),
        (one(secret="not-a-secret"), "subscriber.0.secret"),
        (one(secret="whsec_c2hvcnQ="), "subscriber.0.secret"),  # 5 bytes
        (one(secret="whsec_***notbase64***"), "subscriber.0.secret"),
        (one(sid="alertmanager"), "subscriber.0.id"),
        (one(sid="Has Spaces"), "subscriber.0.id"),
        (
            one().replace('["riskmon.alert.warning"]', '["riskmon.alert.nope"]'),
            "subscriber.0.types.0",
        ),
        (one().replace('["riskmon.alert.warning"]', "[]"), "subscriber.0.types"),
        (one().replace("https://hooks.example.org/x", "ftp://x"), "subscriber.0.url"),
        (one() + one(), "(root)"),
        ("[alertmanager]\ntimeout_seconds = 'soon'\n", "alertmanager.timeout_seconds"),
    ],
)
def test_a_bad_file_fails_naming_the_field(tmp_path: Path, text: str, names: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(WebhooksConfigError) as err:
        load(path)
    message = str(err.value)
    assert message.startswith(f"webhooks file {path}: ")
    assert f"{names}: " in message


@pytest.mark.parametrize(
    "secret", ["whsec_c2hvcnQ=", "whsec_***notbase64***", "whsec_" + "QUFB" * 30]
)
def test_an_invalid_secret_is_never_echoed(tmp_path: Path, secret: str) -> None:
    with pytest.raises(WebhooksConfigError) as err:
        load(write(tmp_path, one(secret=secret)))
    assert secret not in str(err.value)
    assert secret.removeprefix("whsec_") not in str(err.value)


def test_a_valid_secret_is_not_in_the_config_repr(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, one()))
    assert SECRET not in repr(cfg) and SECRET not in str(cfg)
    assert cfg.subscribers[0].secret.get_secret_value() == SECRET


def test_unreadable_and_not_toml_files_fail_with_the_path(tmp_path: Path) -> None:
    with pytest.raises(WebhooksConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
    with pytest.raises(WebhooksConfigError, match="not valid TOML"):
        load(write(tmp_path, "[[subscriber]\n"))


@pytest.mark.parametrize(
    ("minimum", "severity", "wanted"),
    [
        ("info", "info", True),
        ("warning", "info", False),
        ("warning", "warning", True),
        ("warning", "critical", True),
        ("critical", "warning", False),
        ("critical", None, True),  # a class change or a task has no severity
    ],
)
def test_the_severity_filter_is_a_minimum(
    tmp_path: Path, minimum: str, severity: str | None, wanted: bool
) -> None:
    (sub,) = load(write(tmp_path, one(f'min_severity = "{minimum}"\n'))).subscribers
    assert sub.wants_severity(severity) is wanted  # type: ignore[arg-type]
