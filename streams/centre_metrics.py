"""The warning centre's metrics, beside the worker's (:mod:`streams.metrics`, whose rules they
follow: an injected registry, closed label sets created at zero, state gauges at scrape time):
regions and industries (the worker's area ticker) and delivery to webhooks and Alertmanager
(the console's delivery, ``jobs/deliver.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

from schemas.classes import CLASSES

__all__ = ["DELIVERY_OUTCOMES", "AreaCounts", "AreaMetrics", "DeliveryMetrics"]


#: (kind, code, enterprises per class) of every area, for ``riskmon_area_enterprises``.
AreaCounts = Iterable[tuple[str, str, Mapping[str, int]]]


class _AreasCollector:
    """``riskmon_area_enterprises{kind,code,class}`` at scrape time from the ticker's cached
    snapshot (every worker exports the same: aggregate with ``max``). ``code`` is a county
    division (GB/T 2260), an industry section or division (GB/T 4754) or ``unknown``: closed
    lists, never an enterprise."""

    _NAME: Final = "riskmon_area_enterprises"
    _HELP: Final = "Enterprises per division or industry and credit-risk class (cached)."

    def __init__(self, source: Callable[[], AreaCounts]) -> None:
        self._areas = source

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self._NAME, self._HELP, labels=["kind", "code", "class"])

    def describe(self) -> Iterable[Metric]:
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        family = self._family()
        for kind, code, by_class in self._areas():
            for cls in CLASSES:
                family.add_metric([kind, code, cls], float(by_class.get(cls, 0)))
        yield family


@dataclass(frozen=True, slots=True)
class AreaMetrics:
    """Regions and industries (streams/ticker.py ``AreaTicker``): the gauge above, and
    ``warnings`` → ``riskmon_area_warnings_total{rule,kind}``: area warnings sent, each id
    once per worker (``rule``: an ``[[area]]`` id of the warnings file)."""

    warnings: Counter

    @classmethod
    def create(
        cls, registry: CollectorRegistry, areas: Callable[[], AreaCounts], rules: Iterable[str]
    ) -> AreaMetrics:
        registry.register(_AreasCollector(areas))
        m = cls(
            Counter(
                "riskmon_area_warnings",
                "Regional and industry warnings sent, by rule and area kind.",
                ["rule", "kind"],
                registry=registry,
            )
        )
        for rule in rules:
            for kind in ("division", "industry"):
                m.warnings.labels(rule=rule, kind=kind)
        return m


#: ``outcome`` of a delivery attempt: delivered, failed and retried, or failed for good.
DELIVERY_OUTCOMES: Final = ("delivered", "retried", "dead")


@dataclass(frozen=True, slots=True)
class DeliveryMetrics:
    """Webhook and Alertmanager delivery (jobs/deliver.py), on an injected registry:
    ``riskmon_webhook_deliveries_total{subscriber,outcome}`` (``subscriber``: an id of the
    webhooks file or ``alertmanager``), ``riskmon_webhook_outbox{state}`` (outbox entries,
    refreshed by the sender), ``riskmon_webhook_delivery_seconds`` (one HTTP attempt) and
    ``riskmon_alertmanager_posts_total{outcome}``."""

    deliveries: Counter
    outbox: Gauge
    seconds: Histogram
    alertmanager_posts: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry, subscribers: Iterable[str]) -> DeliveryMetrics:
        """Register the delivery metrics on ``registry``, every label set at zero."""
        r, seconds = registry, (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
        m = cls(
            Counter("riskmon_webhook_deliveries", "Delivery attempts by subscriber and outcome.",
                    ["subscriber", "outcome"], registry=r),
            Gauge("riskmon_webhook_outbox", "Outbox entries by state.", ["state"], registry=r),
            Histogram("riskmon_webhook_delivery_seconds", "One delivery attempt, answered or not.",
                      buckets=seconds, registry=r),
            Counter("riskmon_alertmanager_posts", "Alertmanager posts by outcome.", ["outcome"],
                    registry=r),
        )  # fmt: skip
        for outcome in DELIVERY_OUTCOMES:
            m.alertmanager_posts.labels(outcome=outcome)
            for s in {*subscribers, "alertmanager"}:
                m.deliveries.labels(subscriber=s, outcome=outcome)
        for state in ("pending", "delivered", "dead"):
            m.outbox.labels(state=state)
        return m
