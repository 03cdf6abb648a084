"""The Redis client of a URL: one server, or a Redis Cluster through redis-py's cluster client.

=========================================== ====================================================
``RISKMON_REDIS_URL``                       client
=========================================== ====================================================
``redis://[user:password@]host:port/db``    one server (``rediss://``: TLS)
``redis+cluster://[user:password@]host:port a Redis Cluster: any reachable nodes, comma
[,host:port...]``                           separated; the client learns the rest from them and
                                            follows MOVED and ASK replies (``rediss+cluster://``:
                                            TLS, with the same ``RISKMON_REDIS_SSL_*`` files)
=========================================== ====================================================

Every key riskmon writes in one call (a Lua script, a transaction) carries one hash tag, so one
call touches one slot; a call that would cross slots fails with CROSSSLOT on a cluster, and the
suite runs its stores and fault scenarios on a real one (``tests/cluster/``) to catch it.
Pipelines without a transaction may mix slots: the cluster client splits them by node.

Both clients are typed as the single-server client: riskmon uses only commands the cluster
client offers too (the tests on a real cluster hold it to that).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import ClusterNode as AsyncClusterNode
from redis.cluster import ClusterNode

__all__ = ["ClusterUrl", "check_url", "connect", "connect_async", "is_cluster", "parse_cluster"]

_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def is_cluster(url: str) -> bool:
    """Whether ``url`` names a Redis Cluster (``redis+cluster://`` or ``rediss+cluster://``)."""
    return url.split("://", 1)[0].lower() in _CLUSTER_SCHEMES


@dataclass(frozen=True, slots=True)
class ClusterUrl:
    """A cluster URL taken apart: the first node as a plain URL (it carries the user, the
    password and TLS for every node) and every node named."""

    first: str
    nodes: tuple[tuple[str, int], ...]


def parse_cluster(url: str) -> ClusterUrl:
    """``redis+cluster://[user:password@]host:port[,host:port...][/]`` taken apart. Raises
    ValueError saying what is wrong (the message never repeats the password)."""
    parts = urlsplit(url)
    scheme = _CLUSTER_SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ValueError("a cluster URL starts with redis+cluster:// or rediss+cluster://")
    if parts.path not in ("", "/", "/0"):
        raise ValueError("a Redis Cluster has only database 0: drop the path after the nodes")
    auth, _, hosts = parts.netloc.rpartition("@")
    nodes: list[tuple[str, int]] = []
    for node in hosts.split(","):
        name, sep, number = node.strip().rpartition(":")
        if not (sep and name and number.isdigit() and 0 < int(number) < 65536):
            raise ValueError(f"cluster node {node.strip()!r} is not host:port")
        nodes.append((name.strip("[]"), int(number)))
    host, port = nodes[0]
    netloc = (auth + "@" if auth else "") + (f"[{host}]" if ":" in host else host) + f":{port}"
    return ClusterUrl(urlunsplit((scheme, netloc, "", parts.query, "")), tuple(nodes))


def check_url(url: str) -> None:
    """Raises ValueError unless ``url`` is a Redis URL of the module's table (the message never
    repeats the password)."""
    if is_cluster(url):
        parse_cluster(url)
    elif not url.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(
            "start it with redis://, rediss://, unix://, redis+cluster:// or rediss+cluster://"
        )


def connect_async(
    url: str, options: Mapping[str, Any] | None = None, **kwargs: Any
) -> aioredis.Redis:
    """An asyncio client of ``url`` (see the module's table), with ``options``
    (``streams.connections.redis_options``: TLS files) and ``kwargs`` (timeouts)."""
    both = {**(options or {}), **kwargs}
    if not is_cluster(url):
        return aioredis.Redis.from_url(url, **both)
    c = parse_cluster(url)
    nodes = [AsyncClusterNode(h, p) for h, p in c.nodes[1:]]
    return cast(
        aioredis.Redis, aioredis.RedisCluster.from_url(c.first, startup_nodes=nodes, **both)
    )


def connect(url: str, options: Mapping[str, Any] | None = None, **kwargs: Any) -> redis.Redis:
    """A blocking client of ``url``: as :func:`connect_async`."""
    both = {**(options or {}), **kwargs}
    if not is_cluster(url):
        return redis.Redis.from_url(url, **both)
    c = parse_cluster(url)
    nodes = [ClusterNode(h, p) for h, p in c.nodes[1:]]  # type: ignore[no-untyped-call]
    client = redis.RedisCluster.from_url(c.first, startup_nodes=nodes, **both)
    return cast(redis.Redis, client)
