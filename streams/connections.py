"""How riskmon reaches Kafka and Redis (TLS, SASL) and serves HTTPS: the settings turned into
each client library's own configuration, in one place.

=========================== ==================================================================
setting                     what it does
=========================== ==================================================================
RISKMON_KAFKA_SECURITY_     PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL
PROTOCOL
RISKMON_KAFKA_SASL_*        MECHANISM (SCRAM-SHA-512 default, SCRAM-SHA-256, PLAIN),
                            USERNAME, PASSWORD
RISKMON_KAFKA_SSL_*         CAFILE (the brokers' CA), CERTFILE and KEYFILE (mutual TLS)
RISKMON_REDIS_URL           ``rediss://user:password@host:port/0`` for TLS with an ACL user
RISKMON_REDIS_SSL_*         CA_CERTS, CERTFILE and KEYFILE
RISKMON_WEB_TLS_*           CERTFILE and KEYFILE: the API serves HTTPS
=========================== ==================================================================

A file that does not exist fails at start, naming its setting; so does a certificate without
its key, or SASL without a user and password.
"""

from __future__ import annotations

import ssl
from typing import Any

import redis.asyncio as aioredis

from streams.redis_client import connect_async
from streams.settings import Settings

__all__ = [
    "aiokafka_config",
    "confluent_config",
    "faust_credentials",
    "kafka_python_config",
    "kafka_ssl_context",
    "redis_async",
    "redis_options",
    "web_ssl_context",
]


def _uses_ssl(s: Settings) -> bool:
    return s.kafka_security_protocol in ("SSL", "SASL_SSL")


def kafka_ssl_context(s: Settings) -> ssl.SSLContext | None:
    """The client TLS context for Kafka (None: plaintext). Verifies the brokers' names."""
    if not _uses_ssl(s):
        return None
    ctx = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(s.kafka_ssl_cafile) if s.kafka_ssl_cafile else None
    )
    if s.kafka_ssl_certfile and s.kafka_ssl_keyfile:
        ctx.load_cert_chain(str(s.kafka_ssl_certfile), str(s.kafka_ssl_keyfile))
    return ctx


def _password(s: Settings) -> str | None:
    return s.kafka_sasl_password.get_secret_value() if s.kafka_sasl_password else None


def faust_credentials(s: Settings) -> Any:
    """Faust's ``broker_credentials`` (None: plaintext)."""
    import faust

    ctx = kafka_ssl_context(s)
    if s.kafka_security_protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=s.kafka_sasl_username,
            password=_password(s),
            ssl_context=ctx,
            mechanism=s.kafka_sasl_mechanism,
        )
    if ctx is not None:
        return faust.SSLCredentials(ctx)
    return None


def _sasl_kwargs(s: Settings) -> dict[str, Any]:
    # aiokafka and kafka-python name SASL's arguments alike.
    if not s.kafka_security_protocol.startswith("SASL_"):
        return {}
    return {
        "sasl_mechanism": s.kafka_sasl_mechanism,
        "sasl_plain_username": s.kafka_sasl_username,
        "sasl_plain_password": _password(s),
    }


def aiokafka_config(s: Settings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's clients."""
    out: dict[str, Any] = {"security_protocol": s.kafka_security_protocol}
    if _uses_ssl(s):
        out["ssl_context"] = kafka_ssl_context(s)
    return out | _sasl_kwargs(s)


def kafka_python_config(s: Settings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's clients (admin, producer, consumer)."""
    out: dict[str, Any] = {"security_protocol": s.kafka_security_protocol}
    if _uses_ssl(s):
        out["ssl_check_hostname"] = True
        if s.kafka_ssl_cafile:
            out["ssl_cafile"] = str(s.kafka_ssl_cafile)
        if s.kafka_ssl_certfile and s.kafka_ssl_keyfile:
            out |= {"ssl_certfile": str(s.kafka_ssl_certfile)}
            out |= {"ssl_keyfile": str(s.kafka_ssl_keyfile)}
    return out | _sasl_kwargs(s)


def confluent_config(s: Settings) -> dict[str, str]:
    """librdkafka's properties (confluent-kafka's producer)."""
    out = {"security.protocol": s.kafka_security_protocol.lower()}
    if _uses_ssl(s):
        out["ssl.endpoint.identification.algorithm"] = "https"
        if s.kafka_ssl_cafile:
            out["ssl.ca.location"] = str(s.kafka_ssl_cafile)
        if s.kafka_ssl_certfile and s.kafka_ssl_keyfile:
            out["ssl.certificate.location"] = str(s.kafka_ssl_certfile)
            out["ssl.key.location"] = str(s.kafka_ssl_keyfile)
    if s.kafka_security_protocol.startswith("SASL_"):
        out["sasl.mechanisms"] = s.kafka_sasl_mechanism
        out["sasl.username"] = s.kafka_sasl_username or ""
        out["sasl.password"] = _password(s) or ""
    return out


def redis_options(s: Settings) -> dict[str, Any]:
    """Keyword arguments for redis-py's ``from_url`` besides the URL (which carries
    ``rediss://``, the ACL user and password): the CA and the client certificate."""
    out: dict[str, Any] = {}
    if s.redis_ssl_ca_certs:
        out["ssl_ca_certs"] = str(s.redis_ssl_ca_certs)
    if s.redis_ssl_certfile and s.redis_ssl_keyfile:
        out["ssl_certfile"] = str(s.redis_ssl_certfile)
        out["ssl_keyfile"] = str(s.redis_ssl_keyfile)
    return out


def redis_async(s: Settings, url: str | None = None, **kwargs: Any) -> aioredis.Redis:
    """An asyncio client of ``url`` (default ``RISKMON_REDIS_URL``: one server or a cluster,
    :mod:`streams.redis_client`) with the TLS files of ``s`` and ``kwargs`` (timeouts)."""
    target = url or s.redis_url
    if target is None:
        raise ValueError("RISKMON_REDIS_URL is not set")
    return connect_async(target, redis_options(s), **kwargs)


def web_ssl_context(s: Settings) -> ssl.SSLContext | None:
    """The API's server TLS context (None: plain HTTP, e.g. behind a TLS proxy)."""
    if not (s.web_tls_certfile and s.web_tls_keyfile):
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(s.web_tls_certfile), str(s.web_tls_keyfile))
    return ctx
