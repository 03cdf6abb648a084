"""Delivery into other systems (I/O): the Redis outbox (``outbox``) and one HTTP attempt of a
signed webhook or an Alertmanager post (``http``). What goes where, and when to retry, is
decided by the pure :mod:`alerts.routing`; the runner is ``jobs/deliver.py``."""

__all__ = ["http", "outbox"]
