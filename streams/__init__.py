"""The worker's runtime: settings, the Faust app and its wiring, the handler, the intake buffer,
the Kafka transport, the ticker, topics and metrics."""

__all__ = [
    "app",
    "eager",
    "event_loop",
    "handler",
    "intake",
    "kafka_transport",
    "lifetime",
    "metrics",
    "settings",
    "topics",
]
