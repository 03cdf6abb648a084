"""The HTTP API: framework-free request handlers, the route table that names them, and the
adapter that mounts that table on a web server (the worker's today).

A new endpoint is a handler in a module here and one line in :mod:`api.routes`; no handler
imports a web framework or the stream processor, so the same table can be served by the worker
and, later, by the console, with authentication in front of all of it.
"""

__all__ = [
    "aiohttp_adapter",
    "audit",
    "enterprises",
    "guard",
    "health",
    "http",
    "metrics",
    "routes",
]
