"""The worker runtime's own error.

::

    Exception
     └── FatalError   processing cannot go on safely: stop the worker without committing

Errors of the edges are not here: a bad record is ``schemas.exceptions.InvalidEventError``
(dead-lettered), Redis unavailable is ``scoring.exceptions.StoreUnavailableError`` and Kafka
not taking a record is ``alerts.delivery.SinkUnavailableError`` (both retried).
"""

from __future__ import annotations

__all__ = ["FatalError"]


class FatalError(Exception):
    """Processing cannot go on safely; stop the worker without committing."""
