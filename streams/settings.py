"""Configuration, read once from the environment (``RISKMON_*``) at the composition root.

A bad value fails at start with a message naming the variable (:class:`ConfigError`).
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, FilePath, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from streams.redis_client import check_url

__all__ = [
    "PREFIX_PATTERN",
    "ConfigError",
    "LoopChoice",
    "Settings",
    "load_settings",
    "unknown_variables",
]

ENV_PREFIX = "RISKMON_"
#: Variables the test suite passes to its fixtures; not settings, never read by riskmon.
TEST_PREFIX = "RISKMON_TEST_"
#: What Kubernetes puts in every pod for each Service of its namespace (and Docker for each
#: link), e.g. RISKMON_SERVICE_HOST and RISKMON_PORT_6066_TCP for a Service named riskmon:
#: not settings, and not the operator's to remove.
_SERVICE_LINK = re.compile(
    r"^RISKMON(_[A-Z0-9_]+)?_(SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?"
    r"|PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)$"
)
#: ... and <SERVICE>_PORT=tcp://host:port, told from a misspelt setting by its value.
_SERVICE_LINK_PORT = re.compile(r"^RISKMON(_[A-Z0-9_]+)?_PORT$")
_LINK_URL = ("tcp://", "udp://", "sctp://")
TopicName = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,249}$")]
#: A Redis key prefix: no glob characters, so tools that match keys by pattern stay inside it.
PREFIX_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
#: RISKMON_EVENT_LOOP's values (streams/event_loop.py installs the loop).
LoopChoice = Literal["auto", "uvloop", "asyncio"]


#: Settings whose values never appear in an error message.
_SECRET = frozenset({"token_key", "api_token", "audit_key", "kafka_sasl_password"})


class ConfigError(Exception):
    """Configuration is invalid; the message names each offending environment variable."""


class Settings(BaseSettings):
    """Every setting, its environment variable (``RISKMON_`` + the upper-case name) and default."""

    # VAR= (empty) means unset, as in shells and systemd EnvironmentFiles.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, frozen=True, extra="forbid", env_ignore_empty=True
    )

    kafka_bootstrap: str | None = Field(
        default=None, description="host:port[,host:port]; unset: start an embedded broker"
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db, or redis+cluster://host:port[,host:port] for a Redis"
        " Cluster (rediss: TLS); unset: start an embedded redis-server",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="how every client reaches Kafka"
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (with a SASL_* protocol)"
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL user")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password")
    kafka_ssl_cafile: FilePath | None = Field(
        default=None, description="CA bundle (PEM) that signed the brokers' certificates"
    )
    kafka_ssl_certfile: FilePath | None = Field(
        default=None, description="client certificate (PEM) for mutual TLS"
    )
    kafka_ssl_keyfile: FilePath | None = Field(default=None, description="its private key (PEM)")
    redis_ssl_ca_certs: FilePath | None = Field(
        default=None, description="CA bundle (PEM) for a rediss:// URL"
    )
    redis_ssl_certfile: FilePath | None = Field(
        default=None, description="client certificate (PEM) for Redis's mutual TLS"
    )
    redis_ssl_keyfile: FilePath | None = Field(default=None, description="its private key (PEM)")
    web_tls_certfile: FilePath | None = Field(
        default=None, description="the API's certificate chain (PEM): HTTPS when set"
    )
    web_tls_keyfile: FilePath | None = Field(default=None, description="its private key (PEM)")
    web_host: str = Field(default="127.0.0.1", description="address the API binds to")
    web_port: int = Field(default=6066, ge=1, le=65535, description="API port")
    events_topic: TopicName = "riskmon.events"
    alerts_topic: TopicName = "riskmon.alerts"
    tasks_topic: TopicName = "riskmon.tasks"
    dlq_topic: TopicName = "riskmon.events.dlq"
    #: Risk reminders to enterprises, for the channel that writes to them.
    reminders_topic: TopicName = "riskmon.reminders"
    #: Every spot-check plan drawn, keyed by plan id (``riskmon plan``).
    plans_topic: TopicName = "riskmon.plans"
    #: The audit log (never compacted, never expired; one partition: one chain in order).
    audit_topic: TopicName = "riskmon.audit"
    #: Acknowledgements of alerts by the people on duty (the console's POST /alerts/{id}/ack).
    acks_topic: TopicName = "riskmon.acks"
    partitions: int = Field(
        default=8, ge=1, le=999, description="partitions of the events topic (never change live)"
    )
    replication_factor: int = Field(default=1, ge=1, le=5)
    group_id: str = Field(default="riskmon", min_length=1, description="consumer group / app id")
    instance_id: str | None = Field(
        default=None, description="static group membership id (one per worker) in production"
    )
    redis_prefix: str = Field(default="riskmon", pattern=PREFIX_PATTERN)
    model_path: Path | None = Field(default=None, description="scoring model TOML; unset: default")
    supervision_path: Path | None = Field(
        default=None,
        description="supervision TOML (observation, triggers, task due days); unset: default",
    )
    warnings_path: Path | None = Field(
        default=None,
        description="early-warning rules TOML (enterprises, regions, industries); unset: default",
    )
    webhooks_path: Path | None = Field(
        default=None,
        description="webhook subscribers TOML (URL, secret, filter, retries); unset: none",
    )
    alertmanager_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Alertmanager's base URL (its v2 API gets critical warnings, D entries and"
        " regional warnings); unset: none",
    )
    console_port: int = Field(default=6067, ge=1, le=65535, description="the console's port")
    console_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="the console's address as its users reach it (alert links point there);"
        " unset: http://RISKMON_WEB_HOST:RISKMON_CONSOLE_PORT",
    )
    max_event_bytes: int = Field(default=65_536, ge=1_024, le=10_485_760)
    ledger_window: int = Field(
        default=0,
        ge=0,
        le=1_000_000_000,
        description="per partition, how many offsets back the dedup ledger remembers an event"
        " (between this and twice this; a forgotten duplicate is applied again: no state"
        " changes, but some messages can, docs/reliability.md); 0: every event, for ever",
    )
    batch_max_events: int = Field(default=500, ge=1, le=10_000)
    decode_processes: int = Field(
        default=0,
        ge=0,
        le=1,
        description="0: validate and score inline; 1: in a process of its own, beside Faust's"
        " loop (measured: no faster, and the round trip through the process pool adds latency)",
    )
    pipeline_batches: int = Field(
        default=3,
        ge=1,
        le=16,
        description="batches being planned or applied at once, each after the one before it;"
        " the next is taken only when there is room for it",
    )
    tick_seconds: float = Field(
        default=1.0,
        gt=0,
        le=3_600,
        description="how often the ticker looks for idle partitions and refreshes the class"
        " counts and the lag gauge",
    )
    idle_seconds: float = Field(
        default=60.0,
        ge=0,
        allow_inf_nan=False,
        description="a partition that has had no record for this long (wall clock), whose"
        " records are all read, and one of whose enterprises has a class change due by the"
        " clock, gets one riskmon.reevaluate record from the ticker (at most one per partition"
        " per this long); time-driven changes otherwise follow the partition's event time;"
        " 0: never",
    )
    session_timeout_seconds: float = Field(default=6.0, ge=1, le=300)
    fetch_max_wait_ms: int = Field(
        default=20,
        ge=1,
        le=10_000,
        description="longest a fetch waits for records (Faust fixes 1500 ms; latency bound)",
    )
    gil_switch_seconds: float = Field(
        default=0.005,
        gt=0,
        le=0.1,
        description="longest the event loop holds the GIL while Faust's consumer thread waits"
        " for it with fetched records (Python's default; measured: 1 ms and 10 ms lengthen the"
        " tail and cost CPU)",
    )
    event_loop: LoopChoice = Field(
        default="auto",
        description="the worker's asyncio loop; auto: uvloop where installed (faster: its"
        " bookkeeping is in C), else the standard one",
    )
    retry_max_seconds: float = Field(
        default=5.0, gt=0, le=300, description="cap of the backoff while Redis/Kafka is down"
    )
    stall_seconds: float = Field(
        default=60.0, gt=0, description="/healthz fails when lag stays > 0 this long"
    )
    data_dir: Path = Field(default=Path("riskmon-data"), description="Faust's local data dir")
    log_level: Literal["debug", "info", "warn", "error"] = "info"
    fault_crash_after_batches: int = Field(
        default=0,
        ge=0,
        description="fault injection for tests only: exit after the Redis write of the N-th"
        " batch that owes alerts or tasks, before they are sent and its offsets committed"
        " (0: never)",
    )
    token_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="key of the HMAC that token records keep instead of the tokens; with it"
        " set, write access to Redis is not enough to plant a token (unset: a fixed key)",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="key of the audit records' HMAC chain: without it a chain cannot be"
        " rebuilt after an edit (unset: a fixed key; anyone can recompute the chain)",
    )
    audit_anchor_seconds: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="how often (at most) a worker binds the partition audit chains' heads into"
        " the ops chain with an anchor record, when one has moved",
    )
    api_token: SecretStr | None = Field(
        default=None,
        description="the bearer token riskmon's commands send to the API; unset: the run"
        " file's local admin token",
    )
    local_token: bool = Field(
        default=True,
        description="`riskmon run` makes an admin token for the local user, writes it to the"
        " run file (mode 0600) and revokes it when it stops; false where operators issue tokens",
    )
    metrics_public: bool = Field(
        default=True, description="whether /metrics answers without credentials"
    )
    oidc_issuer: str | None = Field(default=None, description="OIDC: the issuer (iss) to accept")
    oidc_audience: str | None = Field(
        default=None, description="OIDC: the audience (aud) to accept"
    )
    oidc_jwks: str | None = Field(
        default=None, description="OIDC: the issuer's JWKS, a file path or an http(s) URL"
    )
    oidc_role_claim: str = Field(
        default="riskmon_role",
        pattern=r"^[A-Za-z0-9_:-]+(\.[A-Za-z0-9_:-]+)*$",
        description="OIDC: the claim (a dotted path) naming the role, or a list of role names",
    )
    oidc_algorithms: str = Field(
        default="RS256,ES256",
        pattern=r"^(RS|PS|ES)(256|384|512)(,(RS|PS|ES)(256|384|512))*$|^EdDSA$",
        description="OIDC: the signature algorithms accepted (asymmetric only)",
    )
    rate_limit_per_second: float = Field(
        default=50.0,
        ge=0,
        le=100_000,
        description="API requests a second each principal may make, per worker, after its burst"
        " (429 beyond); 0: no limit",
    )
    rate_limit_burst: int = Field(
        default=200, ge=1, le=100_000, description="API requests a principal may make at once"
    )
    max_request_bytes: int = Field(
        default=65_536, ge=1_024, le=10_485_760, description="largest request body the API takes"
    )
    run_file: Path = Field(
        default_factory=lambda: Path.home() / ".riskmon" / "run.json",
        description="where `riskmon run` writes the addresses it serves, for the other commands:"
        " beside this name, keyed by the API port (run.json: run-6066.json)",
    )

    @model_validator(mode="after")
    def _oidc_whole(self) -> Settings:
        parts = {"oidc_issuer": self.oidc_issuer, "oidc_audience": self.oidc_audience}
        parts["oidc_jwks"] = self.oidc_jwks
        missing = [ENV_PREFIX + k.upper() for k, v in parts.items() if not v]
        if 0 < len(missing) < len(parts):
            raise ValueError(f"{', '.join(missing)} unset: OIDC needs issuer, audience and JWKS")
        return self

    @model_validator(mode="after")
    def _transport_whole(self) -> Settings:
        pairs = (
            ("kafka_ssl_certfile", "kafka_ssl_keyfile"),
            ("redis_ssl_certfile", "redis_ssl_keyfile"),
            ("web_tls_certfile", "web_tls_keyfile"),
        )
        for cert, key in pairs:
            if (getattr(self, cert) is None) != (getattr(self, key) is None):
                a, b = ENV_PREFIX + cert.upper(), ENV_PREFIX + key.upper()
                raise ValueError(f"{a} and {b}: set both, or neither")
        if self.redis_url is not None:
            try:
                check_url(self.redis_url)
            except ValueError as exc:  # the message never repeats the password
                raise ValueError(f"RISKMON_REDIS_URL: {exc}") from None
        tls_files = (self.redis_ssl_ca_certs, self.redis_ssl_certfile)
        if any(tls_files) and not (self.redis_url or "").startswith(("rediss://", "rediss+")):
            raise ValueError(
                "RISKMON_REDIS_SSL_CA_CERTS / _CERTFILE need RISKMON_REDIS_URL=rediss://..."
            )
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"RISKMON_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs"
                " RISKMON_KAFKA_SASL_USERNAME and RISKMON_KAFKA_SASL_PASSWORD"
            )
        return self

    @property
    def oidc_enabled(self) -> bool:
        return self.oidc_issuer is not None


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A problem for each ``RISKMON_*`` variable that is no setting, naming the closest one.

    pydantic-settings reads only the variables of declared fields, so a misspelt one would
    be ignored and its setting left at the default without a word."""
    known = [ENV_PREFIX + name.upper() for name in Settings.model_fields]
    problems = []
    for var in sorted(environ):
        name = var.upper()  # as pydantic-settings matches them
        if not name.startswith(ENV_PREFIX) or name in known or name.startswith(TEST_PREFIX):
            continue
        value = environ[var]
        if _SERVICE_LINK.match(name) or (
            _SERVICE_LINK_PORT.match(name) and value.startswith(_LINK_URL)
        ):
            continue
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{var}: not a setting{hint}")
    return problems


def load_settings(**overrides: object) -> Settings:
    """Read ``RISKMON_*``; ``overrides`` (from CLI flags) win. Raises :class:`ConfigError`,
    naming every variable that is invalid or no setting at all."""
    problems = unknown_variables(os.environ)
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            if not err["loc"]:  # a check across settings: its message names them
                problems.append(err["msg"].removeprefix("Value error, "))
                continue
            name = str(err["loc"][0])
            got = err.get("input")
            if name in _SECRET:
                got = "(secret)"  # never echo a key or a token into a log
            problem = f"{ENV_PREFIX}{name.upper()}: {err['msg']} (got {got!r})"
            if isinstance(got, str) and got.startswith(_LINK_URL):
                # A Service named riskmon-web makes Kubernetes set RISKMON_WEB_PORT=tcp://...
                problem += (
                    "; this looks like a Kubernetes service link: set enableServiceLinks: false"
                    " in the pod spec, or rename the Service"
                )
            problems.append(problem)
    if problems:
        raise ConfigError("invalid configuration: " + "; ".join(problems))
    return settings
