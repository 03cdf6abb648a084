"""A cluster node's port (local/redis_cluster.py): Redis refuses a cluster node whose bus port
(its port + 10,000) would pass 65,535, and the OS hands out ports up to 60,999; the node picks
again before it starts, but never moves once it has started (the cluster knows it by it)."""

from __future__ import annotations

from local.redis_cluster import ClusterNodeServer

MAX_CLUSTER_PORT = 55_535


def test_a_port_too_high_for_a_cluster_node_is_replaced_before_the_start() -> None:
    node = ClusterNodeServer(node_timeout_ms=1_000)
    try:
        node._port = 60_001
        command = node._command()
        assert node.port <= MAX_CLUSTER_PORT
        assert command[command.index("--port") + 1] == str(node.port)
        node._started_once = True  # a restart after a kill keeps its port
        node._port = 60_001
        node._command()
        assert node.port == 60_001
    finally:
        node.close()
