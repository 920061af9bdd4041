"""Scale-out over a Redis Cluster and over Sentinel, with real servers started here.

Every server listens on a free 127.0.0.1 port (a cluster node also on a free bus port),
keeps nothing on disk that outlives the test, and is stopped by its fixture, also when
the test fails. Failovers kill a primary with SIGKILL while lines flow.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests import test_redis as single
from tests.conftest import append, free_port, system_program
from tests.test_redis import (
    BASE,
    Stream,
    api,
    lines,
    open_stream,
    start_node,
    texts,
    until,
)

redis = pytest.importorskip("redis", reason="the redis package is not installed (pip install -e '.[test]')")

from tailsse.redis_streams.agent import Agent  # noqa: E402
from tailsse.redis_streams.keys import checkpoint_key, stream_key  # noqa: E402

cleanup = single.cleanup  # the fixture: what a test started, closed after it

NODE_TIMEOUT_MS = 1000  # how long a primary may be silent before its replica takes over


def wait(check, seconds: float, what: str):
    """Poll ``check()`` until it returns something true (Redis errors count as not yet)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = check()
            if value:
                return value
        except (redis.RedisError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds:g}s")
        time.sleep(0.02)


async def wait_async(check, seconds: float, what: str):
    """``wait`` in a thread, so that the agents and web nodes on this loop keep running."""
    return await asyncio.to_thread(wait, check, seconds, what)


class Servers:
    """redis-server processes on loopback ports; each one stopped by ``stop``, whatever happened."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.binary = system_program("redis-server")
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, port: int, *options: str, conf: str = "") -> None:
        home = self.directory / str(port)
        home.mkdir(parents=True)
        cmd = [self.binary, *([conf, "--sentinel"] if conf else ["--save", "", "--appendonly", "no"])]
        cmd += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(home), *options]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs[port] = proc
        wait(lambda: proc.poll() is None and self.client(port).ping(), 10, f"redis on port {port}")

    def client(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=2)

    def info(self, port: int, section: str) -> dict:
        with self.client(port) as client:
            return client.info(section)

    def kill(self, port: int) -> None:
        proc = self.procs[port]
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Cluster(Servers):
    """A Redis Cluster of ``primaries``, each with ``replicas`` replicas."""

    def __init__(self, directory: Path, primaries: int = 3, replicas: int = 0) -> None:
        super().__init__(directory)
        self.ports = [free_port() for _ in range(primaries * (1 + replicas))]
        self.replicas = replicas

    def form(self) -> None:
        """Start every node and make them one cluster."""
        for port in self.ports:
            options = ["--cluster-enabled", "yes", "--cluster-port", str(free_port())]
            options += ["--cluster-config-file", "nodes.conf", "--cluster-node-timeout", str(NODE_TIMEOUT_MS)]
            self.start(port, *options)
        create = [system_program("redis-cli"), "--cluster", "create"]
        create += [f"127.0.0.1:{port}" for port in self.ports]
        create += ["--cluster-replicas", str(self.replicas), "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=60)
        wait(self._formed, 20, "the cluster forming")

    def _formed(self) -> bool:
        for port in self.ports:
            with self.client(port) as client:
                info = client.cluster("info")
                if info["cluster_state"] != "ok" or int(info["cluster_known_nodes"]) != len(self.ports):
                    return False
                role = client.info("replication")
                if role["role"] == "slave" and role["master_link_status"] != "up":
                    return False
        return True

    def url(self, *seeds: int) -> str:
        """A cluster URL naming some of its nodes (the client finds the others)."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in seeds or self.ports)

    def live(self) -> int:
        """A node that runs."""
        return next(port for port in self.ports if self.procs[port].poll() is None)

    def primary_of(self, key: str) -> int:
        """The port of the primary that serves ``key`` now."""
        with self.client(self.live()) as client:
            slot = client.cluster("keyslot", key)
            for start, end, primary, *_ in client.cluster("slots"):
                if start <= slot <= end:
                    return int(primary[1])
        raise AssertionError(f"no node serves {key}")

    def replica_of(self, port: int) -> int:
        with self.client(self.live()) as client:
            nodes = client.cluster("nodes")
        primary = nodes[f"127.0.0.1:{port}"]["node_id"]
        return next(int(addr.rsplit(":", 1)[1]) for addr, n in nodes.items() if n["master_id"] == primary)


def formed(directory: Path, replicas: int = 0):
    servers = Cluster(directory, replicas=replicas)
    try:
        servers.form()
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Three primaries, no replicas, shared by this module's tests (each uses sources of its own)."""
    yield from formed(tmp_path_factory.mktemp("cluster"))


@pytest.fixture
def cluster_with_replicas(tmp_path):
    """Three primaries with a replica each, for one test that kills a primary."""
    yield from formed(tmp_path / "cluster", replicas=1)


@pytest.fixture
def sentinel(tmp_path):
    """A primary, its replica and one Sentinel watching them as service 'logs'."""
    servers = Servers(tmp_path)
    primary, replica, watcher = free_port(), free_port(), free_port()
    try:
        servers.start(primary)
        servers.start(replica, "--replicaof", "127.0.0.1", str(primary))
        wait(lambda: servers.info(replica, "replication")["master_link_status"] == "up", 10, "replication")
        conf = tmp_path / "sentinel.conf"  # Sentinel rewrites its file: one per test
        conf.write_text(
            f"sentinel monitor logs 127.0.0.1 {primary} 1\n"
            "sentinel down-after-milliseconds logs 400\n"
            "sentinel failover-timeout logs 5000\n"
        )
        servers.start(watcher, conf=str(conf))
        with servers.client(watcher) as client:
            wait(lambda: client.sentinel_slaves("logs"), 15, "the Sentinel finding the replica")
        servers.roles = {"primary": primary, "replica": replica, "sentinel": watcher}
        yield servers
    finally:
        servers.stop()


async def agent_for(cleanup, url: str, source: str, *paths: Path) -> Agent:
    agent = Agent(replace(BASE, redis=url), {p.name: str(p) for p in paths}, source=source)
    cleanup.append(agent)
    await agent.start()
    return agent


async def test_cluster_two_agents_two_nodes_exact_delivery_and_node_switching(
    io_loop, cluster, cleanup, tmp_path
):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    log_a, log_b = tmp_path / "a" / "app.log", tmp_path / "b" / "app.log"
    log_a.write_bytes(b"")
    log_b.write_bytes(b"")
    # The two streams live on different primaries; each checkpoint in its stream's slot.
    key_a, key_b = stream_key("alpha/app.log"), stream_key("beta/app.log")
    assert cluster.primary_of(key_a) != cluster.primary_of(key_b)
    with cluster.client(cluster.ports[0]) as client:
        for name in ("alpha/app.log", "beta/app.log"):
            assert client.cluster("keyslot", checkpoint_key(name)) == client.cluster(
                "keyslot", stream_key(name)
            )
    await agent_for(cleanup, cluster.url(cluster.ports[1]), "alpha", log_a)
    agent_b = await agent_for(cleanup, cluster.url(), "beta", log_b)
    node_a = start_node(cleanup, cluster.url(cluster.ports[0]))  # one seed node is enough
    node_b = start_node(cleanup, cluster.url(cluster.ports[2], cluster.ports[1]))

    code, body = await node_b.get("/api/files")
    assert code == 200 and body["redis"]["ok"] is True
    assert [(f["name"], f["agent"], f["state"]) for f in body["files"]] == [
        ("alpha/app.log", "up", "following"),
        ("beta/app.log", "up", "following"),
    ]

    first = await open_stream(cleanup, node_a, "/events/alpha/app.log")
    append(log_b, lines("beta", 0, 3))
    append(log_a, lines("x", 0, 10))
    got = await first.lines(10)
    assert texts(got) == [f"x {i}" for i in range(10)]
    await first.close()
    append(log_a, lines("x", 10, 20))  # while the viewer is between nodes
    second = await open_stream(cleanup, node_b, "/events/alpha/app.log", last_id=got[-1]["id"])
    assert texts(await second.lines(10)) == [f"x {i}" for i in range(10, 20)]
    await second.reader.nothing_more(0.3)
    append(log_a, lines("x", 20, 22))
    assert texts(await second.lines(2)) == ["x 20", "x 21"]
    # And back to the first node, from the middle.
    third = await open_stream(cleanup, node_a, "/events/alpha/app.log", last_id=got[4]["id"])
    assert texts(await third.lines(17)) == [f"x {i}" for i in range(5, 22)]
    await third.reader.nothing_more(0.3)

    other = await open_stream(cleanup, node_a, "/events/beta%2Fapp.log?lines=2")
    assert texts(await other.lines(2)) == ["beta 1", "beta 2"]
    # An agent restarted sends what was written while it was down, once.
    await agent_b.close()
    append(log_b, lines("beta", 3, 6))
    await agent_for(cleanup, cluster.url(), "beta", log_b)
    assert texts(await other.lines(3)) == ["beta 3", "beta 4", "beta 5"]
    await other.reader.nothing_more(0.3)


async def test_cluster_history_and_search(io_loop, cluster, cleanup, tmp_path):
    log = tmp_path / "app.log"
    append(log, lines("old", 0, 6))
    agent = Agent(replace(BASE, redis=cluster.url(), lines=6), {"app.log": str(log)}, source="hist")
    cleanup.append(agent)
    await agent.start()
    node = start_node(cleanup, cluster.url())
    stream = await open_stream(cleanup, node, "/events/hist/app.log")
    streamed = [{"id": e["id"], "text": e["data"]} for e in await stream.lines(6)]
    assert await api(node, "/api/lines/hist/app.log?count=2") == {"lines": streamed[-2:], "more": True}
    page = await api(node, f"/api/lines/hist/app.log?before={streamed[2]['id']}&count=2")
    assert page == {"lines": streamed[1:3], "more": True}
    page = await api(node, f"/api/lines/hist/app.log?after={streamed[2]['id']}&count=10")
    assert page == {"lines": streamed[3:], "more": False}
    page = await api(node, "/api/search/hist/app.log?q=OLD+[135]&regex=1&limit=2")
    assert page["matches"] == [streamed[5], streamed[3]]
    page = await api(node, f"/api/search/hist/app.log?q=OLD+[135]&regex=1&before={page['next']}")
    assert page["matches"] == [streamed[1]] and page["next"] is None
    first_ms = int(streamed[0]["id"].split("-")[0])
    assert (await api(node, f"/api/time/hist/app.log?t={first_ms / 1000}"))["id"] == streamed[0]["id"]


class Flow:
    """Lines appended to a file at a steady pace, in the background, until stopped."""

    def __init__(self, path: Path, interval: float = 0.01) -> None:
        self.path = path
        self.interval = interval
        self.count = 0
        self.running = True
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while self.running:
            append(self.path, b"n %d\n" % self.count)
            self.count += 1
            await asyncio.sleep(self.interval)

    async def stop(self) -> list[str]:
        self.running = False
        await self.task
        return [f"n {i}" for i in range(self.count)]


async def received(stream: Stream, last: str, seconds: float = 20) -> list[dict[str, str]]:
    """Every event of a stream up to the line ``last``."""
    events: list[dict[str, str]] = []
    deadline = time.monotonic() + seconds
    while not events or events[-1].get("data") != last:
        events.append(await stream.reader.next(max(0.1, deadline - time.monotonic())))
    return events


async def stream_lines(url: str, key: str) -> list[str]:
    """Every line the stream holds now."""
    from tailsse.redis_streams.connect import close_client, redis_client

    client = redis_client(url)
    deadline = time.monotonic() + 10
    try:
        while True:
            try:
                entries = await client.xrange(key, "-", "+")
                break
            except redis.ConnectionError:  # a Sentinel may still be reconnecting to the new primary
                assert time.monotonic() < deadline, "Redis did not answer"
                await asyncio.sleep(0.05)
    finally:
        await close_client(client)
    return [fields[b"d"].decode() for _, fields in entries if b"d" in fields]


def check_delivery(events: list[dict[str, str]], written: list[str], kept: list[str]) -> None:
    """Each line once and in order; a line missing only where Redis lost it, and said so there."""
    assert len(kept) == len(set(kept)), "a line was written twice to the stream"
    data = [e["data"] for e in events if "event" not in e]
    assert len(data) == len(set(data)), "a viewer got a line twice"
    assert data == [line for line in written if line in data], "out of order"
    missing = [line for line in written if line not in data]
    if not missing:
        return
    assert not set(missing) & set(kept), "a line that Redis has was not delivered"
    # The gap is right before a lost event, and it is all that Redis lost.
    marks = [i for i, e in enumerate(events) if e.get("event") == "lost"]
    assert marks, f"lines missing without a lost event: {missing[:5]}"
    after = next(e["data"] for e in events[marks[0] :] if "event" not in e)
    assert written.index(after) == written.index(missing[-1]) + 1


async def test_cluster_failover_while_lines_flow_loses_and_repeats_nothing(
    io_loop, cluster_with_replicas, cleanup, tmp_path, caplog
):
    servers = cluster_with_replicas
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    key = stream_key("f/app.log")
    doomed = servers.primary_of(key)
    heir = servers.replica_of(doomed)
    others = [port for port in servers.ports if port not in (doomed, heir)]
    await agent_for(cleanup, servers.url(*others), "f", log)
    node_a, node_b = start_node(cleanup, servers.url(others[0])), start_node(cleanup, servers.url(others[1]))
    watching = await open_stream(cleanup, node_a, "/events/f/app.log?lines=0")
    flow = Flow(log)
    before = await watching.lines(20)

    servers.kill(doomed)
    killed_at = flow.count
    await wait_async(
        lambda: servers.info(heir, "replication")["role"] == "master", 15, "the replica taking over"
    )
    await wait_async(lambda: servers.primary_of(key) == heir, 10, "the cluster naming the new primary")
    mark = flow.count
    await until(lambda: asyncio.sleep(0, flow.count >= mark + 30), 10)
    written = await flow.stop()

    events = before + await received(watching, written[-1])
    kept = await stream_lines(servers.url(*others), key)
    check_delivery(events, written, kept)
    assert "redis unavailable or refusing writes" in caplog.text  # the agent did wait it out
    assert mark - killed_at > 10  # and lines went on being written meanwhile
    # A viewer that comes back on the other node with an id from before the failover.
    back = await open_stream(cleanup, node_b, "/events/f/app.log", last_id=before[9]["id"])
    check_delivery(before[:10] + await received(back, written[-1]), written, kept)


async def test_sentinel_failover_while_lines_flow_loses_and_repeats_nothing(
    io_loop, sentinel, cleanup, tmp_path
):
    url = f"redis+sentinel://127.0.0.1:{free_port()},127.0.0.1:{sentinel.roles['sentinel']}/logs"
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    await agent_for(cleanup, url, "s", log)
    node_a, node_b = start_node(cleanup, url), start_node(cleanup, url)
    watching = await open_stream(cleanup, node_a, "/events/s/app.log?lines=0")
    flow = Flow(log)
    before = await watching.lines(20)

    sentinel.kill(sentinel.roles["primary"])
    replica = sentinel.roles["replica"]
    await wait_async(
        lambda: sentinel.info(replica, "replication")["role"] == "master", 15, "the replica taking over"
    )
    mark = flow.count
    await until(lambda: asyncio.sleep(0, flow.count >= mark + 30), 10)
    written = await flow.stop()

    events = before + await received(watching, written[-1])
    kept = await stream_lines(url, stream_key("s/app.log"))
    check_delivery(events, written, kept)
    back = await open_stream(cleanup, node_b, "/events/s/app.log", last_id=before[9]["id"])
    check_delivery(before[:10] + await received(back, written[-1]), written, kept)
    code, files = await node_b.get("/api/files")
    assert code == 200 and [f["name"] for f in files["files"]] == ["s/app.log"]


def test_cluster_and_sentinel_urls_are_checked():
    from tests.conftest import run_tailsse

    for url, message in (
        ("redis+cluster://127.0.0.1:x", "not host:port"),
        ("redis+cluster://127.0.0.1:7000/2", "database 0 only"),
        ("redis+sentinel://127.0.0.1:26379", "/SERVICE"),
        ("redis+sentinel://:secret@127.0.0.1:26379", "/SERVICE"),
    ):
        result = run_tailsse("serve", "--redis", url)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "secret" not in result.stderr
    env = {**os.environ, "TAILSSE_REDIS": "redis+cluster://127.0.0.1:1,:2"}
    result = run_tailsse("agent", "x.log", env=env)
    assert result.returncode == 2 and "not host:port" in result.stderr


def test_events_say_lost_in_json(io_loop):
    """The lost notice the script writes reaches viewers as a lost event (checked byte-wise)."""
    from tailsse.redis_streams.keys import LOST_IN_REDIS
    from tailsse.redis_streams.source import encode_entries

    frame = encode_entries("f/app.log", [(b"5-0", {b"k": LOST_IN_REDIS})])
    head, _, body = frame.partition(b"data: ")
    assert head == b"event: lost\nid: 5-0\n" or head == b"id: 5-0\nevent: lost\n"
    assert json.loads(body)["file"] == "f/app.log"


async def test_the_write_script_keeps_ids_across_a_retry_and_says_when_redis_lost_writes(io_loop, cluster):
    """What a primary lost before its replica took over, replayed on the replica's state."""
    from tailsse.redis_streams.connect import close_client, redis_client
    from tailsse.redis_streams.keys import LOST_IN_REDIS, WRITE_SCRIPT

    key, point = stream_key("u/app.log"), checkpoint_key("u/app.log")
    client = redis_client(cluster.url())
    script = client.register_script(WRITE_SCRIPT)

    async def write(expected: str, checkpoint: str, ms: int, *texts: bytes) -> int:
        entries = [item for text in texts for item in (b"d", text)]
        args = [expected, checkpoint, 100, ms, LOST_IN_REDIS, *entries]
        return await script(keys=[key, point], args=args, client=client)

    async def ids() -> list[tuple[str, dict]]:
        return [(i.decode(), f) for i, f in await client.xrange(key, "-", "+")]

    async def as_on_a_replica_without_the_last_write() -> None:
        await client.xdel(key, "1000-2")
        await client.execute_command("XSETID", key, "1000-1")
        await client.set(point, "1 0 0 0")

    try:
        assert await write("", "1 0 0 0", 1000, b"a", b"b") == 3  # a new stream: register it
        assert await write("1 0 0 0", "2 0 0 0", 1000, b"c") == 1
        assert [i for i, _ in await ids()] == ["1000-0", "1000-1", "1000-2"]
        # The reply was lost and the replica never had the write: the retry makes the same id.
        await as_on_a_replica_without_the_last_write()
        assert await write("1 0 0 0", "2 0 0 0", 1000, b"c") == 1
        assert await write("1 0 0 0", "2 0 0 0", 1000, b"c") == 0  # and a second retry adds nothing
        assert [i for i, _ in await ids()] == ["1000-0", "1000-1", "1000-2"]
        # The agent had its answer, then the replica without that write took over: said so.
        await as_on_a_replica_without_the_last_write()
        assert await write("2 0 0 0", "3 0 0 0", 1001, b"d") == 4
        assert await ids() == [
            ("1000-0", {b"d": b"a"}),
            ("1000-1", {b"d": b"b"}),
            ("1001-0", {b"k": LOST_IN_REDIS}),
            ("1001-1", {b"d": b"d"}),
        ]
        assert await client.get(point) == b"3 0 0 0"
        # Another writer's checkpoint (a second agent with this source name): written, status 2.
        assert await write("1 5 5 5", "2 5 5 5", 900, b"e") == 2
        assert (await ids())[-1] == ("1001-2", {b"d": b"e"})  # never an id behind the stream's last
    finally:
        await close_client(client)
