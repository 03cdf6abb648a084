"""Supervision's state in Redis: the one part of ``supervision`` that does I/O."""

from supervision.store.keys import SupervisionKeys

__all__ = ["SupervisionKeys"]
