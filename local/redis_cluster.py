"""A local Redis Cluster on loopback ports, for the tests and the benchmarks: the same
``redis-server`` binary as the embedded Redis, started in cluster mode (three masters, each with
a replica by default), joined with ``redis-cli --cluster create``.

``url`` is what riskmon takes (``redis+cluster://127.0.0.1:P1,...``). :meth:`kill_master` kills
the master that owns a slot and returns once its replica has taken over: the failover that the
fault suite's R13 runs mid-stream. :meth:`migrate_slot` moves one slot, with its keys, to another
master the way ``redis-cli --cluster reshard`` does (IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE),
so the clients see ASK and then MOVED replies.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from typing import Any, Self

import redis

from local.redis_server import EmbeddedRedis
from local.server import HOST, EmbeddedError, free_port

__all__ = ["ClusterNodeServer", "LocalRedisCluster"]

_SETTLE_SECONDS = 60.0


def _cmd(client: redis.Redis, *args: object) -> Any:
    """One command's reply (redis-py's ``execute_command`` carries no types)."""
    return client.execute_command(*args)  # type: ignore[no-untyped-call]


#: A cluster node's bus listens on its port + 10,000, so Redis refuses ports above this.
_MAX_PORT = 55_535
_BUS_OFFSET = 10_000


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


class ClusterNodeServer(EmbeddedRedis):
    """One redis-server in cluster mode (its node id kept in its directory's nodes.conf)."""

    name = "redis-cluster-node"

    def __init__(self, *, node_timeout_ms: int, appendonly: bool = False) -> None:
        super().__init__(appendonly=appendonly)
        self.node_timeout_ms = node_timeout_ms

    def _command(self) -> list[str]:
        # Every start (a retry too) checks its port: the OS picks from a range that goes above
        # what a cluster node may use, and the bus port must be free as well.
        # (A restart keeps its port: the cluster knows the node by it.)
        while not self._started_once and (
            self._port > _MAX_PORT or not _bindable(self._port + _BUS_OFFSET)
        ):
            self._port = free_port()
        return [
            *super()._command(),
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            str(self.node_timeout_ms),
            # A replica takes over however long it was cut off: the tests kill masters at will.
            "--cluster-replica-validity-factor",
            "0",
        ]

    def client(self) -> redis.Redis:
        return redis.Redis(host=HOST, port=self.port, socket_timeout=5, decode_responses=True)


class LocalRedisCluster:
    """``masters`` masters with ``replicas`` replicas each, on free loopback ports."""

    def __init__(
        self, *, masters: int = 3, replicas: int = 1, node_timeout_ms: int = 1_000
    ) -> None:
        if masters < 3:
            raise ValueError("redis-cli --cluster create needs at least three masters")
        self.replicas = replicas
        self.nodes = [
            ClusterNodeServer(node_timeout_ms=node_timeout_ms)
            for _ in range(masters * (1 + replicas))
        ]

    @property
    def url(self) -> str:
        """``redis+cluster://127.0.0.1:P1,127.0.0.1:P2,...``: every node, so the client finds
        the cluster whichever of them is down."""
        return "redis+cluster://" + ",".join(f"{HOST}:{n.port}" for n in self.nodes)

    def start(self) -> Self:
        """Start every node, create the cluster, and return once every slot is served and
        every replica is in sync. Raises EmbeddedError naming what failed."""
        cli = shutil.which("redis-cli")
        if cli is None:
            raise EmbeddedError("no redis-cli on PATH: it creates the cluster (redis-tools)")
        for node in self.nodes:
            node.start()
        done = subprocess.run(
            [
                cli,
                "--cluster",
                "create",
                *(f"{HOST}:{n.port}" for n in self.nodes),
                "--cluster-replicas",
                str(self.replicas),
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise EmbeddedError(f"redis-cli --cluster create failed:\n{done.stdout}{done.stderr}")
        self.wait_settled()
        return self

    def _running(self) -> list[ClusterNodeServer]:
        return [n for n in self.nodes if n.running]

    def wait_settled(self, timeout_seconds: float = _SETTLE_SECONDS) -> None:
        """Until every running node says cluster_state:ok, all agree on who owns each slot's
        range, and each master has its replicas in sync."""
        deadline = time.monotonic() + timeout_seconds
        last = ""
        while time.monotonic() < deadline:
            try:
                if self._settled():
                    return
            except redis.RedisError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise EmbeddedError(f"the cluster did not settle in {timeout_seconds}s {last}".strip())

    def _settled(self) -> bool:
        views = set()
        for node in self._running():
            c = node.client()
            try:
                if "cluster_state:ok" not in str(_cmd(c, "CLUSTER", "INFO")):
                    return False
                views.add(tuple(sorted(str(s[:3]) for s in _cmd(c, "CLUSTER", "SLOTS"))))
                role = _cmd(c, "ROLE")
                if role[0] == "slave" and role[3] != "connected":
                    return False
            finally:
                c.close()
        return len(views) == 1

    def master_of(self, slot: int) -> ClusterNodeServer:
        """The running node that serves ``slot`` as master."""
        for node in self._running():
            c = node.client()
            try:
                for start, end, master, *_ in _cmd(c, "CLUSTER", "SLOTS"):
                    if start <= slot <= end:
                        return self._by_port(int(master[1]))
            finally:
                c.close()
        raise EmbeddedError(f"no running node serves slot {slot}")

    def _by_port(self, port: int) -> ClusterNodeServer:
        return next(n for n in self.nodes if n.port == port)

    def kill_master(self, slot: int) -> ClusterNodeServer:
        """SIGKILL the master of ``slot``; return once a replica serves it (the dead node is
        returned, so a test can start it again: it rejoins as a replica)."""
        dead = self.master_of(slot)
        dead.kill()
        deadline = time.monotonic() + _SETTLE_SECONDS
        while time.monotonic() < deadline:
            try:
                if self.master_of(slot) is not dead:
                    self.wait_settled()
                    return dead
            except (redis.RedisError, EmbeddedError):
                pass
            time.sleep(0.2)
        raise EmbeddedError(f"no replica took over slot {slot} in {_SETTLE_SECONDS}s")

    def migrate_slot(self, slot: int, *, batch: int = 1_000) -> ClusterNodeServer:
        """Move ``slot`` and its keys to another master, ``batch`` keys per MIGRATE (between
        batches a client asking for a moved key gets ASK); returns the new owner. One riskmon
        partition's keys (one slot) are about seventy, so the default moves them at once."""
        source = self.master_of(slot)
        masters = {self.master_of(s) for s in (0, 8_000, 16_383)} | {source}
        target = next(m for m in sorted(masters, key=lambda m: m.port) if m is not source)
        src, dst = source.client(), target.client()
        try:
            src_id, dst_id = (
                _cmd(src, "CLUSTER", "MYID"),
                _cmd(dst, "CLUSTER", "MYID"),
            )
            _cmd(dst, "CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
            _cmd(src, "CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
            while keys := _cmd(src, "CLUSTER", "GETKEYSINSLOT", slot, batch):
                _cmd(src, "MIGRATE", HOST, target.port, "", 0, 10_000, "REPLACE", "KEYS", *keys)
            for node in self._running():  # the new owner first, as redis-cli does
                c = node.client()
                try:
                    _cmd(c, "CLUSTER", "SETSLOT", slot, "NODE", dst_id)
                except redis.ResponseError:
                    pass  # a replica refuses SETSLOT; it learns the move from its master
                finally:
                    c.close()
        finally:
            src.close()
            dst.close()
        self.wait_settled()
        return target

    def replica_of(self, master: ClusterNodeServer) -> ClusterNodeServer:
        """A running replica of ``master``."""
        c = master.client()
        try:
            role = _cmd(c, "ROLE")
        finally:
            c.close()
        if role[0] != "master" or not role[2]:
            raise EmbeddedError(f"node {master.port} is not a master with a replica")
        return self._by_port(int(role[2][0][1]))

    def cut_replica(self, replica: ClusterNodeServer) -> None:
        """Cut ``replica`` off its master's stream of writes, as a network partition would: it
        can no longer authenticate (a user its master does not have) and its link is closed.
        It stays in the cluster and can still be elected: it then lacks the master's latest
        writes, which Redis had acknowledged (asynchronous replication)."""
        c = replica.client()
        try:
            _cmd(c, "CONFIG", "SET", "masteruser", "riskmon-cut-off", "masterauth", "cut-off")
            _cmd(c, "CLIENT", "KILL", "TYPE", "master")
            deadline = time.monotonic() + 10
            while _cmd(c, "ROLE")[3] == "connected":
                if time.monotonic() > deadline:
                    raise EmbeddedError(f"replica {replica.port} is still linked to its master")
                _cmd(c, "CLIENT", "KILL", "TYPE", "master")
                time.sleep(0.05)
        finally:
            c.close()

    def close(self) -> None:
        """Stop every node and delete their directories."""
        for node in self.nodes:
            node.close()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()
