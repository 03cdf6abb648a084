"""Every Prometheus metric riskmon exports, defined in one place against an injected registry.

There are no module-level metrics: the composition root builds one :class:`Metrics` per
``CollectorRegistry`` (tests build their own), and ``/metrics`` serves it (api/metrics.py).

Labels take values only from closed sets (below); never an enterprise id, event id or error
text. Every combination of a closed set is created at zero up front, so ``rate()`` and ratios
over these series work from the first scrape instead of appearing only after the first event.

State gauges (enterprises per class) are not pushed: a collector reads them at scrape time.
The warning centre's metrics (areas, delivery) are in :mod:`streams.centre_metrics`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric

from schemas.alerts import (
    ALERT_CLASS_CHANGED,
    ALERT_WARNING,
    OBSERVATION_ENDED,
    OBSERVATION_STARTED,
    TASK_OVERDUE,
    TaskTrigger,
)
from schemas.classes import CLASSES
from schemas.events import EventType, InspectionResult
from schemas.exceptions import DeadLetterReason

__all__ = [
    "BATCH_STAGES",
    "CLASSES",
    "DEAD_LETTER_REASONS",
    "FROM_CLASSES",
    "INSPECTION_RESULTS",
    "OUTCOMES",
    "TASK_TRIGGERS",
    "UNKNOWN_TYPE",
    "BatchStage",
    "Metrics",
    "Outcome",
    "TaskTrigger",
]

Outcome = Literal["applied", "duplicate", "dead_lettered"]

#: ``outcome`` label of ``riskmon_events_total``.
OUTCOMES: Final[tuple[Outcome, ...]] = get_args(Outcome)
#: ``reason`` label of ``riskmon_dead_letters_total`` (the schema edge's closed set).
DEAD_LETTER_REASONS: Final[tuple[DeadLetterReason, ...]] = get_args(DeadLetterReason)
#: ``trigger`` label of ``riskmon_tasks_total``.
TASK_TRIGGERS: Final[tuple[TaskTrigger, ...]] = get_args(TaskTrigger)
#: ``result`` label of ``riskmon_spot_checks_total``.
INSPECTION_RESULTS: Final[tuple[str, ...]] = get_args(InspectionResult)
#: ``type`` label of ``riskmon_alerts_total``: everything sent on riskmon.alerts.
_ALERT_TYPES: Final = (
    ALERT_CLASS_CHANGED,
    ALERT_WARNING,
    TASK_OVERDUE,
    OBSERVATION_STARTED,
    OBSERVATION_ENDED,
)
#: ``from_class`` label: a class, or ``none`` for an enterprise seen for the first time.
FROM_CLASSES: Final = ("none", *CLASSES)
#: ``type`` label of ``riskmon_events_total`` when the record never decoded to a known type.
UNKNOWN_TYPE: Final = "unknown"

#: ``stage`` label of ``riskmon_batch_stage_seconds``, in the order a batch passes them (a
#: type, so that mypy checks the names the scoring loop observes).
BatchStage = Literal["queued", "plan", "order", "apply", "supervise", "acks"]
BATCH_STAGES: Final[tuple[BatchStage, ...]] = get_args(BatchStage)

# Kafka record timestamp → state updated and alerts produced: 1 ms .. 10 s.
_LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# Records per batch, up to the largest allowed ``batch_max_events``.
_BATCH_BUCKETS: Final = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)


class _EnterprisesCollector:
    """``riskmon_enterprises{class}``: computed at scrape time from a cached snapshot.

    The counts are the whole population (all partitions), so every worker exports the same
    numbers: aggregate across instances with ``max``, never ``sum``.
    """

    _NAME: Final = "riskmon_enterprises"
    _HELP: Final = "Enterprises currently in each credit-risk class (cached snapshot)."

    def __init__(self, enterprises_by_class: Callable[[], Mapping[str, int]]) -> None:
        self._source = enterprises_by_class

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self._NAME, self._HELP, labels=["class"])

    def describe(self) -> Iterable[Metric]:
        # Lets the registry detect name clashes without calling the snapshot at registration.
        return [self._family()]

    def collect(self) -> Iterable[Metric]:
        counts = self._source()
        family = self._family()
        for cls in CLASSES:
            family.add_metric([cls], float(counts.get(cls, 0)))
        yield family


_WARNINGS = "Early warnings on enterprises raised (once each), by rule id and severity."


@dataclass(frozen=True, slots=True)
class Metrics:
    """riskmon's metrics on one registry. Build with :meth:`create`; attributes are not rebound.

    Attribute → family (labels):

    * ``events`` → ``riskmon_events_total`` (``type``: CloudEvents type or ``unknown``;
      ``outcome``: :data:`OUTCOMES`)
    * ``dead_letters`` → ``riskmon_dead_letters_total`` (``reason``: :data:`DEAD_LETTER_REASONS`)
    * ``latency`` → ``riskmon_processing_latency_seconds``: Kafka record timestamp to state
      updated and alerts produced
    * ``event_time_lag`` → ``riskmon_event_time_lag_seconds``: wall clock minus the event time
      of the newest applied event
    * ``transitions`` → ``riskmon_class_transitions_total`` (``from_class``: :data:`FROM_CLASSES`,
      ``to_class``: :data:`CLASSES`)
    * ``time_driven_changes`` → ``riskmon_time_driven_changes_total``: class changes made by
      time alone (a penalty fading, a listing's period ending) when a partition's event-time
      watermark passed their due moment; also counted in ``transitions``
    * ``alerts`` → ``riskmon_alerts_total`` (``type``: CloudEvents type of what goes on
      riskmon.alerts: class changes, overdue tasks, observation periods started and ended)
    * ``tasks`` → ``riskmon_tasks_total`` (``trigger``: :data:`TASK_TRIGGERS`)
    * ``reminders`` → ``riskmon_reminders_total``: risk reminders sent to enterprises
    * ``warnings`` → ``riskmon_warnings_total`` (``rule``, ``severity``): :data:`_WARNINGS`
    * ``spot_checks`` → ``riskmon_spot_checks_total`` (``class_at_draw``: :data:`CLASSES`,
      ``result``: :data:`INSPECTION_RESULTS`): random-plan inspections completed, by the class
      the enterprise had when the plan was drawn: the discovery rate per class
    * ``supervision_ignored`` → ``riskmon_supervision_ignored_total``: events supervision
      could not act on (a command for an unknown task, say), each logged with its reason
    * ``supervision_redos`` → ``riskmon_supervision_redos_total``: supervision writes refused
      because another worker wrote the partition first (a zombie during a rebalance) and redone
    * ``batch_size`` → ``riskmon_batch_events``: records per processed batch
    * ``batch_stage`` → ``riskmon_batch_stage_seconds`` (``stage``: :data:`BATCH_STAGES`): where
      a batch's time goes, from its oldest record's Kafka timestamp to Kafka acking its outputs
    * ``redis_retries`` → ``riskmon_redis_retries_total``
    * ``redis_rewinds`` → ``riskmon_redis_rewinds_total``: events partitions sought back to
      Redis' watermark + 1 because Kafka's committed offset was past it (Redis lost writes)
    * ``last_progress`` → ``riskmon_last_progress_timestamp_seconds``: Unix time of the last
      processed batch
    * ``consumer_lag`` → ``riskmon_consumer_lag_records``: records of this worker's events
      partitions not yet processed (high watermark minus the next offset to process), updated
      every tick; with last_progress it tells a stalled consumer from a quiet topic
    * ``info`` → ``riskmon_model_info`` (``version``), see :meth:`set_model_version`
    * ``riskmon_enterprises`` (``class``): a collector, read at scrape time
    * ``process_*`` (start time, CPU, memory, file descriptors; Linux only): the standard
      process collector, which an injected registry would otherwise lack. The stall alert uses
      ``process_start_time_seconds`` to tell "no batch since start" from "no batch for N minutes".
    """

    events: Counter
    dead_letters: Counter
    latency: Histogram
    event_time_lag: Gauge
    transitions: Counter
    time_driven_changes: Counter
    alerts: Counter
    tasks: Counter
    reminders: Counter
    warnings: Counter
    spot_checks: Counter
    supervision_ignored: Counter
    supervision_redos: Counter
    batch_size: Histogram
    batch_stage: Histogram
    redis_retries: Counter
    redis_rewinds: Counter
    last_progress: Gauge
    consumer_lag: Gauge
    info: Info

    @classmethod
    def create(
        cls,
        registry: CollectorRegistry,
        enterprises_by_class: Callable[[], Mapping[str, int]],
    ) -> Metrics:
        """Register every riskmon metric on ``registry`` (once per registry).

        ``enterprises_by_class`` is called on every scrape, on the thread serving the scrape,
        to fill ``riskmon_enterprises{class}``. It must be cheap and non-blocking and must not
        raise: return a cached snapshot (class name → count; missing classes count 0) that
        something else refreshes, never query Redis from it.

        Raises ``ValueError`` (prometheus-client's ``DuplicateTimeseries``) if ``registry``
        already holds any of these names.
        """
        r = registry
        m = cls(
            events=Counter(
                "riskmon_events",
                "Input events processed, by CloudEvents type and outcome.",
                ["type", "outcome"],
                registry=r,
            ),
            dead_letters=Counter(
                "riskmon_dead_letters",
                "Input records sent to the dead-letter topic, by reason.",
                ["reason"],
                registry=r,
            ),
            latency=Histogram(
                "riskmon_processing_latency_seconds",
                "Kafka record timestamp to state updated and alerts produced.",
                buckets=_LATENCY_BUCKETS,
                registry=r,
            ),
            event_time_lag=Gauge(
                "riskmon_event_time_lag_seconds",
                "Wall clock minus the event time of the newest applied event.",
                registry=r,
            ),
            transitions=Counter(
                "riskmon_class_transitions",
                "Credit-risk class changes; from_class is none for a new enterprise.",
                ["from_class", "to_class"],
                registry=r,
            ),
            time_driven_changes=Counter(
                "riskmon_time_driven_changes",
                "Class changes made by time alone, as a partition's event time passed their due"
                " moment (also in riskmon_class_transitions_total).",
                registry=r,
            ),
            alerts=Counter(
                "riskmon_alerts",
                "Alerts published, by CloudEvents type.",
                ["type"],
                registry=r,
            ),
            tasks=Counter(
                "riskmon_tasks",
                "On-site inspection tasks published, by trigger.",
                ["trigger"],
                registry=r,
            ),
            reminders=Counter(
                "riskmon_reminders",
                "Risk reminders published to enterprises.",
                registry=r,
            ),
            warnings=Counter("riskmon_warnings", _WARNINGS, ["rule", "severity"], registry=r),
            spot_checks=Counter(
                "riskmon_spot_checks",
                "Random-plan inspections completed, by the class at draw and the result.",
                ["class_at_draw", "result"],
                registry=r,
            ),
            supervision_ignored=Counter(
                "riskmon_supervision_ignored",
                "Events supervision could not act on (logged with the reason).",
                registry=r,
            ),
            supervision_redos=Counter(
                "riskmon_supervision_redos",
                "Supervision writes redone because another worker wrote the partition first.",
                registry=r,
            ),
            batch_size=Histogram(
                "riskmon_batch_events",
                "Records per processed batch.",
                buckets=_BATCH_BUCKETS,
                registry=r,
            ),
            batch_stage=Histogram(
                "riskmon_batch_stage_seconds",
                "Time a batch spends in each stage: queued (its oldest record's Kafka"
                " timestamp to the scoring loop taking it), plan (validate and score), order (the"
                " batch before it being applied), apply (Redis), acks (Kafka acking its"
                " outputs).",
                ["stage"],
                buckets=_LATENCY_BUCKETS,
                registry=r,
            ),
            redis_retries=Counter(
                "riskmon_redis_retries",
                "Redis calls retried after the store was unavailable.",
                registry=r,
            ),
            redis_rewinds=Counter(
                "riskmon_redis_rewinds",
                "Partitions re-read from Redis' watermark because Redis lost committed writes.",
                registry=r,
            ),
            last_progress=Gauge(
                "riskmon_last_progress_timestamp_seconds",
                "Unix time at which the last batch was processed.",
                registry=r,
            ),
            consumer_lag=Gauge(
                "riskmon_consumer_lag_records",
                "Records of this worker's events partitions not processed yet.",
                registry=r,
            ),
            info=Info(
                "riskmon_model",
                "The scoring model in use.",
                registry=r,
            ),
        )
        r.register(_EnterprisesCollector(enterprises_by_class))
        ProcessCollector(registry=r)
        m._initialise_label_sets()
        return m

    def _initialise_label_sets(self) -> None:
        for etype in EventType:
            for outcome in ("applied", "duplicate"):
                self.events.labels(type=str(etype), outcome=outcome)
        self.events.labels(type=UNKNOWN_TYPE, outcome="dead_lettered")
        for reason in DEAD_LETTER_REASONS:
            self.dead_letters.labels(reason=reason)
        for old in FROM_CLASSES:
            for new in CLASSES:
                if old != new:
                    self.transitions.labels(from_class=old, to_class=new)
        for alert_type in _ALERT_TYPES:
            self.alerts.labels(type=alert_type)
        for cls in CLASSES:
            for result in INSPECTION_RESULTS:
                self.spot_checks.labels(class_at_draw=cls, result=result)
        for stage in BATCH_STAGES:
            self.batch_stage.labels(stage=stage)
        for trigger in TASK_TRIGGERS:
            self.tasks.labels(trigger=trigger)

    def observe_supervision(self, discovery: Mapping[str, int], ignored: int) -> None:
        """Count one supervision write: ``discovery`` maps ``<class at draw>|<result>`` to
        random-plan inspections completed (``sup:disc``'s fields), ``ignored`` the events it
        could not act on."""
        for field, n in discovery.items():
            cls, _, result = field.partition("|")
            if n:
                self.spot_checks.labels(class_at_draw=cls, result=result).inc(n)
        if ignored:
            self.supervision_ignored.inc(ignored)

    def set_model_version(self, v: str) -> None:
        """Export ``riskmon_model_info{version=v} 1`` (replaces any earlier version)."""
        self.info.info({"version": v})
