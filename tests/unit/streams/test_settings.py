"""Settings from ``RISKMON_*``: documented defaults, overrides, and a start-up failure that names
the variable an operator must fix."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streams.settings import ConfigError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("RISKMON_"):
            monkeypatch.delenv(name)


def test_defaults() -> None:
    s = load_settings()
    assert s.events_topic == "riskmon.events"
    assert s.alerts_topic == "riskmon.alerts"
    assert s.tasks_topic == "riskmon.tasks"
    assert s.dlq_topic == "riskmon.events.dlq"
    assert s.web_port == 6066
    assert s.kafka_bootstrap is None  # unset: embedded broker
    assert s.redis_url is None  # unset: embedded redis-server
    assert s.model_path is None  # unset: the shipped default model
    assert s.idle_seconds == 60.0  # a partition quiet for a minute gets its due changes


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("RISKMON_WEB_PORT", "7070", "web_port", 7070),
        ("RISKMON_EVENTS_TOPIC", "district.events", "events_topic", "district.events"),
        ("RISKMON_ALERTS_TOPIC", "district.alerts", "alerts_topic", "district.alerts"),
        ("RISKMON_TASKS_TOPIC", "district.tasks", "tasks_topic", "district.tasks"),
        ("RISKMON_DLQ_TOPIC", "district.dlq", "dlq_topic", "district.dlq"),
        ("RISKMON_PARTITIONS", "12", "partitions", 12),
        ("RISKMON_KAFKA_BOOTSTRAP", "k1:9092,k2:9092", "kafka_bootstrap", "k1:9092,k2:9092"),
        ("RISKMON_REDIS_URL", "redis://r:6379/2", "redis_url", "redis://r:6379/2"),
        (
            "RISKMON_MODEL_PATH",
            "/etc/riskmon/model.toml",
            "model_path",
            Path("/etc/riskmon/model.toml"),
        ),
        ("RISKMON_TICK_SECONDS", "0.5", "tick_seconds", 0.5),
        ("RISKMON_IDLE_SECONDS", "0", "idle_seconds", 0.0),
        ("RISKMON_IDLE_SECONDS", "2.5", "idle_seconds", 2.5),
        ("RISKMON_LEDGER_WINDOW", "1000000", "ledger_window", 1_000_000),
        ("RISKMON_LOG_LEVEL", "debug", "log_level", "debug"),
        ("RISKMON_EVENT_LOOP", "asyncio", "event_loop", "asyncio"),
        ("RISKMON_GIL_SWITCH_SECONDS", "0.002", "gil_switch_seconds", 0.002),
        ("riskmon_web_port", "7071", "web_port", 7071),
    ],
)
def test_an_environment_variable_overrides_its_default(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, field: str, expected: object
) -> None:
    monkeypatch.setenv(variable, value)
    assert getattr(load_settings(), field) == expected


def test_a_cli_override_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKMON_WEB_PORT", "7070")
    assert load_settings(web_port=8080).web_port == 8080


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        s.web_port = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RISKMON_WEB_PORT", "abc"),
        ("RISKMON_WEB_PORT", "0"),
        ("RISKMON_WEB_PORT", "65536"),
        ("RISKMON_PARTITIONS", "0"),
        ("RISKMON_EVENTS_TOPIC", "bad topic"),
        ("RISKMON_DLQ_TOPIC", "riskmon/dlq"),
        ("RISKMON_ALERTS_TOPIC", "a" * 250),
        ("RISKMON_REDIS_PREFIX", "risk mon"),
        ("RISKMON_LOG_LEVEL", "verbose"),
        ("RISKMON_TICK_SECONDS", "-1"),
        ("RISKMON_IDLE_SECONDS", "-1"),
        ("RISKMON_IDLE_SECONDS", "inf"),
        ("RISKMON_MAX_EVENT_BYTES", "100"),
        ("RISKMON_LEDGER_WINDOW", "-5"),
        ("RISKMON_EVENT_LOOP", "trio"),
        ("RISKMON_GIL_SWITCH_SECONDS", "0"),
        ("RISKMON_GIL_SWITCH_SECONDS", "1"),
    ],
)
def test_a_bad_value_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings()


def test_every_bad_variable_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKMON_WEB_PORT", "abc")
    monkeypatch.setenv("RISKMON_PARTITIONS", "0")
    monkeypatch.setenv("RISKMON_EVENTS_TOPIC", "bad topic")
    with pytest.raises(ConfigError) as info:
        load_settings()
    for name in ("RISKMON_WEB_PORT", "RISKMON_PARTITIONS", "RISKMON_EVENTS_TOPIC"):
        assert name in str(info.value)


def test_a_misspelt_variable_fails_at_start_naming_it_and_the_setting_meant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Ignored, it would leave the API on the default port without a word.
    monkeypatch.setenv("RISKMON_WEB_PROT", "7070")
    monkeypatch.setenv("RISKMON_NO_SUCH_SETTING", "1")
    monkeypatch.setenv("RISKMON_PARTITIONS", "0")
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert "RISKMON_WEB_PROT: not a setting (did you mean RISKMON_WEB_PORT?)" in message
    assert "RISKMON_NO_SUCH_SETTING: not a setting" in message
    assert "RISKMON_PARTITIONS" in message  # reported together with invalid values


def test_kubernetes_service_links_are_not_taken_for_misspelt_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a pod gets for Services named riskmon and riskmon-redis in its namespace.
    links = {
        "RISKMON_SERVICE_HOST": "10.0.0.7",
        "RISKMON_SERVICE_PORT": "6066",
        "RISKMON_SERVICE_PORT_HTTP": "6066",
        "RISKMON_PORT": "tcp://10.0.0.7:6066",
        "RISKMON_PORT_6066_TCP": "tcp://10.0.0.7:6066",
        "RISKMON_PORT_6066_TCP_PROTO": "tcp",
        "RISKMON_PORT_6066_TCP_PORT": "6066",
        "RISKMON_PORT_6066_TCP_ADDR": "10.0.0.7",
        "RISKMON_REDIS_SERVICE_HOST": "10.0.0.8",
        "RISKMON_REDIS_PORT": "tcp://10.0.0.8:6379",
        "RISKMON_REDIS_PORT_6379_TCP_ADDR": "10.0.0.8",
    }
    for name, value in links.items():
        monkeypatch.setenv(name, value)
    assert load_settings().web_port == 6066
    # Not a link: a port of its own, as someone might guess the variable.
    monkeypatch.setenv("RISKMON_REDIS_PORT", "6380")
    with pytest.raises(ConfigError, match="RISKMON_REDIS_PORT: not a setting"):
        load_settings()


def test_a_service_link_that_lands_on_a_setting_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RISKMON_WEB_PORT", "tcp://10.0.0.9:6066")  # a Service named riskmon-web
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert "RISKMON_WEB_PORT" in str(info.value)
    assert "enableServiceLinks: false" in str(info.value)


def test_the_test_suites_own_variables_and_other_programs_are_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RISKMON_TEST_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    monkeypatch.setenv("RISKMONITOR_HOME", "/elsewhere")
    monkeypatch.setenv("riskmon_web_port", "7070")  # matched case-insensitively, as it is read
    assert load_settings().web_port == 7070


def test_the_environment_is_read_when_loading_not_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert load_settings().web_port == 6066
    monkeypatch.setenv("RISKMON_WEB_PORT", "7070")
    assert load_settings().web_port == 7070


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ("RISKMON_KAFKA_BOOTSTRAP", "kafka_bootstrap"),
        ("RISKMON_REDIS_URL", "redis_url"),
        ("RISKMON_MODEL_PATH", "model_path"),
    ],
)
def test_an_empty_variable_means_unset(
    monkeypatch: pytest.MonkeyPatch, variable: str, field: str
) -> None:
    # `RISKMON_REDIS_URL=` in a compose file or systemd unit: use the default, not "" (an empty
    # redis URL fails at connect time, an empty model path becomes the directory ".").
    monkeypatch.setenv(variable, "")
    assert getattr(load_settings(), field) is None
