"""The worker's runtime: settings, the Faust app and its wiring (app, runtime), the scoring loop
and the handler it drives, decoding and planning, the intake buffer, the Kafka transport, the
ticker, the watermark rewind, topics and metrics."""

__all__ = [
    "app",
    "eager",
    "event_loop",
    "exceptions",
    "handler",
    "intake",
    "kafka_transport",
    "lifetime",
    "metrics",
    "planning",
    "rewind",
    "runtime",
    "scoring_loop",
    "settings",
    "ticker",
    "topics",
]
