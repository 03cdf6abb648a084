"""Security's state in Redis: the token records (and the audit log's recent tail)."""

from security.store.tokens import TokenStore

__all__ = ["TokenStore"]
