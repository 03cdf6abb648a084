"""The console's metrics, against an injected registry (``docs/style.md`` §10).

=================================== ========= ================================================
name                                kind      what
=================================== ========= ================================================
riskmon_console_alerts{state}       gauge     kept alerts (``console/index.py``), ``open`` or
                                              ``acknowledged``, counted at scrape time
riskmon_console_ack_seconds         histogram time from an alert's ``time`` to its first
                                              acknowledgement, once per alert and console run
                                              (a restarted console counts the log's again)
riskmon_console_stream_clients      gauge     open ``GET /alerts/stream`` connections
=================================== ========= ================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ConsoleMetrics"]

#: Minutes to days: a warning centre acknowledges within the hour, or the next working day.
_ACK_BUCKETS = (60.0, 300.0, 900.0, 1_800.0, 3_600.0, 14_400.0, 28_800.0, 86_400.0, 259_200.0)


class _AlertStates(Collector):
    def __init__(self, counts: Callable[[], tuple[int, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        opened, acked = self._counts()
        g = GaugeMetricFamily(
            "riskmon_console_alerts", "alerts the console keeps, by state", labels=["state"]
        )
        g.add_metric(["open"], opened)
        g.add_metric(["acknowledged"], acked)
        yield g


class ConsoleMetrics:
    """Registers the console's metrics on ``registry``; ``counts`` gives (open,
    acknowledged) at scrape time."""

    def __init__(self, registry: CollectorRegistry, counts: Callable[[], tuple[int, int]]) -> None:
        self.registry = registry
        registry.register(_AlertStates(counts))
        self.ack_seconds = Histogram(
            "riskmon_console_ack_seconds",
            "time from an alert to its acknowledgement",
            buckets=_ACK_BUCKETS,
            registry=registry,
        )
        self.stream_clients = Gauge(
            "riskmon_console_stream_clients",
            "open Server-Sent Events connections of GET /alerts/stream",
            registry=registry,
        )
