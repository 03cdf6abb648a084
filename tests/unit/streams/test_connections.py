"""TLS and SASL settings: what fails at start (naming the setting), and what each client
library is given."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from streams.connections import (
    aiokafka_config,
    confluent_config,
    faust_credentials,
    kafka_python_config,
    redis_options,
    web_ssl_context,
)
from streams.settings import ConfigError, Settings, load_settings
from tests.support.certs import self_signed


@pytest.fixture
def pem(tmp_path: Path) -> tuple[Path, Path]:
    return self_signed(tmp_path)


def _load(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in list(os.environ):
        if name.startswith("RISKMON_"):
            monkeypatch.delenv(name)
    for k, v in env.items():
        monkeypatch.setenv(f"RISKMON_{k.upper()}", v)
    return load_settings()


def test_plaintext_is_the_default_and_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _load(monkeypatch)
    assert kafka_python_config(s) == {"security_protocol": "PLAINTEXT"}
    assert confluent_config(s) == {"security.protocol": "plaintext"}
    assert aiokafka_config(s) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(s) is None and redis_options(s) == {} and web_ssl_context(s) is None


def test_sasl_over_tls_with_scram(monkeypatch: pytest.MonkeyPatch, pem: tuple[Path, Path]) -> None:
    cert, _ = pem
    s = _load(
        monkeypatch,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="riskmon",
        kafka_sasl_password="s3cret-pass",
        kafka_ssl_cafile=str(cert),
    )
    assert kafka_python_config(s) == {
        "security_protocol": "SASL_SSL",
        "ssl_check_hostname": True,
        "ssl_cafile": str(cert),
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "riskmon",
        "sasl_plain_password": "s3cret-pass",
    }
    assert confluent_config(s) == {
        "security.protocol": "sasl_ssl",
        "ssl.endpoint.identification.algorithm": "https",
        "ssl.ca.location": str(cert),
        "sasl.mechanisms": "SCRAM-SHA-512",
        "sasl.username": "riskmon",
        "sasl.password": "s3cret-pass",
    }
    ai = aiokafka_config(s)
    assert isinstance(ai["ssl_context"], ssl.SSLContext) and ai["sasl_mechanism"] == "SCRAM-SHA-512"
    creds = faust_credentials(s)
    assert (creds.protocol.value, creds.mechanism.value, creds.username) == (
        "SASL_SSL",
        "SCRAM-SHA-512",
        "riskmon",
    )
    assert ai["ssl_context"].verify_mode == ssl.CERT_REQUIRED and ai["ssl_context"].check_hostname


def test_mutual_tls_to_kafka_and_redis(
    monkeypatch: pytest.MonkeyPatch, pem: tuple[Path, Path]
) -> None:
    cert, key = pem
    s = _load(
        monkeypatch,
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=str(cert),
        kafka_ssl_certfile=str(cert),
        kafka_ssl_keyfile=str(key),
        redis_url="rediss://riskmon:pw@redis.internal:6380/0",
        redis_ssl_ca_certs=str(cert),
        redis_ssl_certfile=str(cert),
        redis_ssl_keyfile=str(key),
    )
    assert kafka_python_config(s)["ssl_certfile"] == str(cert)
    assert confluent_config(s)["ssl.key.location"] == str(key)
    assert faust_credentials(s).protocol.value == "SSL"
    assert redis_options(s) == {
        "ssl_ca_certs": str(cert),
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
    }


def test_https_for_the_api(monkeypatch: pytest.MonkeyPatch, pem: tuple[Path, Path]) -> None:
    cert, key = pem
    ctx = web_ssl_context(_load(monkeypatch, web_tls_certfile=str(cert), web_tls_keyfile=str(key)))
    assert isinstance(ctx, ssl.SSLContext) and ctx.minimum_version == ssl.TLSVersion.TLSv1_2


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"kafka_security_protocol": "SASL_SSL"}, "needs RISKMON_KAFKA_SASL_USERNAME and"),
        ({"kafka_security_protocol": "TLS"}, "RISKMON_KAFKA_SECURITY_PROTOCOL: Input should be"),
        ({"kafka_sasl_mechanism": "GSSAPI"}, "RISKMON_KAFKA_SASL_MECHANISM"),
        ({"kafka_ssl_cafile": "/no/such/ca.pem"}, "RISKMON_KAFKA_SSL_CAFILE: Path does not point"),
        ({"web_tls_certfile": "CERT"}, "RISKMON_WEB_TLS_CERTFILE and RISKMON_WEB_TLS_KEYFILE: set"),
        ({"redis_ssl_ca_certs": "CERT"}, "need RISKMON_REDIS_URL=rediss://"),
    ],
)
def test_a_bad_transport_setting_fails_at_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, pem: tuple[Path, Path], env: dict[str, str], says: str
) -> None:
    cert, _ = pem
    with pytest.raises(ConfigError, match="invalid configuration") as exc:
        _load(monkeypatch, **{k: v.replace("CERT", str(cert)) for k, v in env.items()})
    assert says in str(exc.value)


def test_the_sasl_password_never_appears_in_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as exc:
        _load(
            monkeypatch,
            kafka_sasl_password="x" * 5000 + "hunter2",
            kafka_sasl_username="u",
            max_event_bytes="1",
        )
    assert "hunter2" not in str(exc.value)
