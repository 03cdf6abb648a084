"""Local infrastructure: the embedded broker and Redis, the worker as a child process, the
district's feeder and the demo that puts them together. Nothing here runs in production."""

__all__ = [
    "broker",
    "demo",
    "embedded",
    "feed",
    "redis_server",
    "server",
    "worker_process",
]
