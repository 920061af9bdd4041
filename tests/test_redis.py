"""Scale-out over Redis: agents write streams, web nodes serve them (a real redis-server)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from tailsse.config import Config
from tailsse.webapp.app import make_app
from tests.conftest import EventReader, append, env_without_pythonpath, free_port, run_tailsse, system_program

redis = pytest.importorskip("redis", reason="the redis package is not installed (pip install -e '.[test]')")

from tailsse.redis_streams.agent import Agent  # noqa: E402
from tailsse.redis_streams.keys import stream_key  # noqa: E402

BASE = Config(heartbeat=0, check_interval=0.1)


class RedisServer:
    """A throw-away redis-server on a loopback port; it can be stopped and started again."""

    def __init__(self, directory: str) -> None:
        self.binary = system_program("redis-server")
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self.directory,
            "--stream-node-max-entries",
            "10",  # small nodes, so approximate trimming bites in small tests
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture
def redis_server(tmp_path):
    """A running redis-server, stopped after the test."""
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(str(directory))
    server.start()
    yield server
    server.stop()


class Node:
    """A web node (``serve --redis``) in this process, on its own port."""

    def __init__(self, config: Config) -> None:
        self.app = make_app(config)
        sockets = bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self.server = HTTPServer(self.app)
        self.server.add_sockets(sockets)
        self.app.catalog.start()

    async def get(self, path: str) -> tuple[int, dict]:
        response = await AsyncHTTPClient().fetch(f"http://127.0.0.1:{self.port}{path}", raise_error=False)
        return response.code, json.loads(response.body)

    async def close(self) -> None:
        self.server.stop()
        await self.app.catalog.aclose()


class Stream:
    """One raw event-stream connection (HTTP/1.0: no chunk framing), closable at will."""

    def __init__(self) -> None:
        self.reader = EventReader()
        self._task: asyncio.Task | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self, port: int, path: str, last_id: str | None = None) -> Stream:
        r, w = await asyncio.open_connection("127.0.0.1", port)
        self._writer = w
        extra = f"Last-Event-ID: {last_id}\r\n" if last_id else ""
        w.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 200"), head
        self._task = asyncio.ensure_future(self._pump(r))
        await self.reader.ready()
        return self

    async def _pump(self, r: asyncio.StreamReader) -> None:
        while True:
            chunk = await r.read(65536)
            if not chunk:
                return
            self.reader.feed(chunk)

    async def lines(self, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
        return await self.reader.take(count, timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._writer is not None:
            self._writer.close()


async def until(predicate, timeout: float = 5.0) -> None:
    """Poll a coroutine-returning predicate until it is true."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def lines(prefix: str, start: int, stop: int) -> bytes:
    return b"".join(b"%s %d\n" % (prefix.encode(), i) for i in range(start, stop))


def texts(events: list[dict[str, str]]) -> list[str]:
    return [e["data"] for e in events]


@pytest.fixture
def cleanup(io_loop):
    """Things to close after the test (agents, nodes, streams), newest first."""
    items: list = []
    yield items
    for item in reversed(items):
        io_loop.run_sync(item.close)


async def start_agent(cleanup, server: RedisServer, source: str, path, **options) -> Agent:
    config = replace(BASE, redis=server.url, **options)
    agent = Agent(config, {os.path.basename(path): str(path)}, source=source)
    cleanup.append(agent)
    await agent.start()
    return agent


def start_node(cleanup, server: RedisServer, **options) -> Node:
    node = Node(replace(BASE, redis=server.url, **options))
    cleanup.append(node)
    return node


async def open_stream(cleanup, node: Node, path: str, last_id: str | None = None) -> Stream:
    stream = Stream()
    cleanup.append(stream)
    return await stream.open(node.port, path, last_id)


async def xinfo(server: RedisServer, key: str) -> dict:
    client = redis.asyncio.Redis.from_url(server.url)
    try:
        return await client.xinfo_stream(key)
    finally:
        await client.aclose()


async def xread_calls(server: RedisServer) -> int:
    client = redis.asyncio.Redis.from_url(server.url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return stats.get("cmdstat_xread", {}).get("calls", 0)


async def test_two_agents_two_nodes_switching_node_loses_and_repeats_nothing(
    io_loop, redis_server, cleanup, tmp_path
):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    log_a, log_b = tmp_path / "a" / "app.log", tmp_path / "b" / "app.log"
    log_a.write_bytes(b"")
    log_b.write_bytes(b"")
    await start_agent(cleanup, redis_server, "alpha", log_a)
    await start_agent(cleanup, redis_server, "beta", log_b)
    node_a, node_b = start_node(cleanup, redis_server), start_node(cleanup, redis_server)

    code, body = await node_b.get("/api/files")
    assert code == 200 and body["redis"]["ok"] is True
    assert [(f["name"], f["source"], f["file"], f["agent"]) for f in body["files"]] == [
        ("alpha/app.log", "alpha", "app.log", "up"),
        ("beta/app.log", "beta", "app.log", "up"),
    ]

    first = await open_stream(cleanup, node_a, "/events/alpha/app.log")
    append(log_b, lines("beta", 0, 3))
    append(log_a, lines("x", 0, 10))
    got = await first.lines(10)
    assert texts(got) == [f"x {i}" for i in range(10)]
    assert all(e["id"] and "event" not in e for e in got)
    await first.close()

    append(log_a, lines("x", 10, 20))  # written while the viewer is between nodes
    second = await open_stream(cleanup, node_b, "/events/alpha/app.log", last_id=got[-1]["id"])
    assert texts(await second.lines(10)) == [f"x {i}" for i in range(10, 20)]
    await second.reader.nothing_more(0.3)
    append(log_a, lines("x", 20, 22))
    assert texts(await second.lines(2)) == ["x 20", "x 21"]

    # The other source's stream, through the viewer's escaped name, on the other node.
    other = await open_stream(cleanup, node_a, "/events/beta%2Fapp.log?lines=2")
    assert texts(await other.lines(2)) == ["beta 1", "beta 2"]


async def test_one_xread_per_stream_per_node_feeds_every_viewer(io_loop, redis_server, cleanup, log_file):
    await start_agent(cleanup, redis_server, "h", log_file)
    node = start_node(cleanup, redis_server)
    viewers = [await open_stream(cleanup, node, "/events/h/app.log?lines=0") for _ in range(8)]
    await asyncio.sleep(0.1)
    before = await xread_calls(redis_server)
    append(log_file, lines("l", 0, 50))
    for viewer in viewers:
        assert texts(await viewer.lines(50)) == [f"l {i}" for i in range(50)]
    # Each batch costs one XREAD for all eight viewers (plus the one left blocking).
    assert await xread_calls(redis_server) - before <= 4
    assert len(node.app.catalog.channels["h/app.log"].head) == 8


async def test_a_node_stops_reading_a_busy_stream_when_its_last_viewer_leaves(
    io_loop, redis_server, cleanup, log_file
):
    await start_agent(cleanup, redis_server, "h", log_file)
    node = start_node(cleanup, redis_server)
    viewer = await open_stream(cleanup, node, "/events/h/app.log?lines=0")
    append(log_file, b"one\n")
    assert texts(await viewer.lines(1)) == ["one"]
    await viewer.close()
    source = node.app.catalog.channels["h/app.log"].source
    busy = True

    async def write_on() -> None:
        i = 0
        while busy:
            append(log_file, b"busy %d\n" % i)
            i += 1
            await asyncio.sleep(0.01)

    writer = asyncio.ensure_future(write_on())
    try:

        async def stopped() -> bool:
            return source._reader is None

        await until(stopped)  # within one XREAD of the last viewer leaving, busy or not
        calls = await xread_calls(redis_server)
        await asyncio.sleep(0.3)
        assert await xread_calls(redis_server) == calls
    finally:
        busy = False
        await writer


async def test_backlog_and_file_events_carried_through_the_stream(io_loop, redis_server, cleanup, log_file):
    append(log_file, lines("old", 0, 5))
    await start_agent(cleanup, redis_server, "h", log_file, lines=3)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log")
    assert texts(await stream.lines(3)) == ["old 2", "old 3", "old 4"]  # the agent's first-start backlog
    log_file.write_bytes(b"")
    await asyncio.sleep(0.15)
    append(log_file, b"fresh\r\n")
    event = await stream.reader.next()
    assert event["event"] == "truncated" and json.loads(event["data"])["file"] == "h/app.log"
    assert event["id"]
    assert (await stream.reader.next())["data"] == "fresh"
    short = await open_stream(cleanup, node, "/events/h/app.log?lines=1")
    assert texts(await short.lines(1)) == ["fresh"]


async def api(node: Node, path: str, status: int = 200) -> dict:
    client = AsyncHTTPClient()
    response = await client.fetch(f"http://127.0.0.1:{node.port}{path}", raise_error=False)
    assert response.code == status, (response.code, response.body)
    return json.loads(response.body)


async def test_history_and_search_from_redis_give_the_stream_s_own_ids(
    io_loop, redis_server, cleanup, log_file
):
    append(log_file, lines("old", 0, 6))
    await start_agent(cleanup, redis_server, "h", log_file, lines=6)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log")
    streamed = [{"id": e["id"], "text": e["data"]} for e in await stream.lines(6)]
    assert await api(node, "/api/lines/h/app.log?count=2") == {"lines": streamed[-2:], "more": True}
    third = streamed[2]["id"]
    page = await api(node, f"/api/lines/h/app.log?before={third}&count=2")
    assert page == {"lines": streamed[1:3], "more": True}
    page = await api(node, f"/api/lines/h/app.log?after={third}&count=10")
    assert page == {"lines": streamed[3:], "more": False}
    page = await api(node, "/api/lines/h/app.log?after=start&count=2")
    assert page == {"lines": streamed[:2], "more": True}
    page = await api(node, "/api/search/h/app.log?q=OLD+[135]&regex=1&limit=2")
    assert page["matches"] == [streamed[5], streamed[3]]
    page = await api(node, f"/api/search/h/app.log?q=OLD+[135]&regex=1&before={page['next']}")
    assert page["matches"] == [streamed[1]] and page["next"] is None
    await api(node, "/api/lines/h/app.log?before=nonsense", 400)
    # Lines that arrived after a moment (these have no time of their own): the first of them.
    first_ms = int(streamed[0]["id"].split("-")[0])
    found = await api(node, f"/api/time/h/app.log?t={first_ms / 1000}")
    assert found["id"] == streamed[0]["id"]
    assert (await api(node, "/api/time/h/app.log?t=4102444800"))["id"] is None


async def test_history_older_than_retention_is_410(io_loop, redis_server, cleanup, log_file):
    append(log_file, lines("old", 0, 3))
    await start_agent(cleanup, redis_server, "h", log_file, lines=3)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log")
    first = (await stream.lines(3))[0]["id"]
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        await client.xtrim(stream_key("h/app.log"), maxlen=1, approximate=False)
    finally:
        await client.aclose()
    body = await api(node, f"/api/lines/h/app.log?before={first}", 410)
    assert "older than the lines Redis keeps" in body["error"]


async def test_agent_restart_sends_lines_written_while_it_was_down_once(
    io_loop, redis_server, cleanup, log_file
):
    agent = await start_agent(cleanup, redis_server, "h", log_file)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log?lines=0")
    append(log_file, lines("a", 0, 5))
    assert texts(await stream.lines(5)) == [f"a {i}" for i in range(5)]
    await agent.close()
    append(log_file, lines("a", 5, 10))
    await start_agent(cleanup, redis_server, "h", log_file)
    assert texts(await stream.lines(5)) == [f"a {i}" for i in range(5, 10)]
    await stream.reader.nothing_more(0.3)
    assert (await xinfo(redis_server, stream_key("h/app.log")))["length"] == 10


async def test_agent_restart_after_rotation_finishes_the_old_file(io_loop, redis_server, cleanup, log_file):
    agent = await start_agent(cleanup, redis_server, "h", log_file)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log?lines=0")
    append(log_file, b"r0\n")
    assert texts(await stream.lines(1)) == ["r0"]
    await agent.close()
    append(log_file, b"r1\n")
    os.rename(log_file, str(log_file) + ".1")
    append(log_file, b"r2\n")
    await start_agent(cleanup, redis_server, "h", log_file)
    events = await stream.reader.take(3)
    assert [(e.get("event", "message"), e["data"] if "event" not in e else "") for e in events] == [
        ("message", "r1"),
        ("rotated", ""),
        ("message", "r2"),
    ]
    await stream.reader.nothing_more(0.3)


async def test_rotation_on_the_agent_host(io_loop, redis_server, cleanup, log_file):
    await start_agent(cleanup, redis_server, "h", log_file)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log?lines=0")
    append(log_file, b"before\n")
    assert texts(await stream.lines(1)) == ["before"]
    append(log_file, b"last of old\n")
    os.rename(log_file, str(log_file) + ".1")
    append(log_file, b"first of new\n")
    events = await stream.reader.take(3)
    assert [e.get("event", e["data"]) for e in events] == ["last of old", "rotated", "first of new"]


async def test_redis_restart_is_reported_and_recovered(io_loop, redis_server, cleanup, log_file):
    await start_agent(cleanup, redis_server, "h", log_file)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log?lines=0")
    append(log_file, b"up 1\n")
    assert texts(await stream.lines(1)) == ["up 1"]

    redis_server.stop()
    event = await stream.reader.next()
    assert event["event"] == "unavailable"
    code, health = await node.get("/healthz")
    assert code == 503 and health["redis"]["ok"] is False
    code, files = await node.get("/api/files")
    assert code == 200 and files["redis"]["ok"] is False and files["files"][0]["name"] == "h/app.log"
    append(log_file, b"during 1\nduring 2\n")  # the agent cannot send these yet

    redis_server.start()  # empty: started without persistence
    assert (await stream.reader.next(10))["event"] == "available"
    assert texts(await stream.lines(2, 10)) == ["during 1", "during 2"]
    append(log_file, b"after\n")
    assert texts(await stream.lines(1)) == ["after"]

    async def healthy() -> bool:
        return (await node.get("/healthz"))[0] == 200

    await until(healthy)


async def test_agent_waits_out_a_redis_that_refuses_writes(io_loop, redis_server, cleanup, log_file):
    """READONLY (a primary turned replica during a failover): nothing is dropped, nothing repeated."""
    agent = await start_agent(cleanup, redis_server, "h", log_file)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log?lines=0")
    append(log_file, b"before\n")
    assert texts(await stream.lines(1)) == ["before"]
    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        await client.replicaof("127.0.0.1", free_port())  # a primary that is not there: read-only

        async def refused() -> bool:
            return "read only replica" in agent.error  # redis-py's message for READONLY

        append(log_file, lines("during", 0, 5))
        await until(refused)
        append(log_file, lines("during", 5, 10))
        await client.replicaof("no", "one")
    finally:
        await client.aclose()
    append(log_file, b"after\n")
    assert texts(await stream.lines(11, 10)) == [f"during {i}" for i in range(10)] + ["after"]
    await stream.reader.nothing_more(0.3)


async def test_resume_older_than_retention_says_lost(io_loop, redis_server, cleanup, log_file):
    await start_agent(cleanup, redis_server, "h", log_file, retention=20)
    node = start_node(cleanup, redis_server)
    stream = await open_stream(cleanup, node, "/events/h/app.log?lines=0")
    append(log_file, b"first\n")
    first_id = (await stream.reader.next())["id"]
    for i in range(10):  # several writes, so trimming happens along the way
        append(log_file, lines("t", i * 20, i * 20 + 20))
        await asyncio.sleep(0.02)
    got = await stream.lines(200)
    assert texts(got)[-1] == "t 199"
    info = await xinfo(redis_server, stream_key("h/app.log"))
    assert 20 <= info["length"] < 60
    oldest = info["first-entry"][1][b"d"].decode()

    late = await open_stream(cleanup, node, "/events/h/app.log", last_id=first_id)
    event = await late.reader.next()
    assert event["event"] == "lost"
    rest = await late.lines(info["length"])
    assert texts(rest)[0] == oldest and texts(rest)[-1] == "t 199"
    # A position still retained resumes exactly.
    resumed = await open_stream(cleanup, node, "/events/h/app.log", last_id=got[-2]["id"])
    assert texts(await resumed.lines(1)) == ["t 199"]


def test_command_line_errors():
    result = run_tailsse("agent", "x.log")
    assert result.returncode == 2 and "--redis" in result.stderr
    result = run_tailsse("serve")
    assert result.returncode == 2 and "--redis" in result.stderr
    result = run_tailsse("serve", "--redis", "redis://127.0.0.1:1/0", "x.log")
    assert result.returncode == 2 and "agent" in result.stderr
    result = run_tailsse("agent", "x.log", "--redis", "redis://127.0.0.1:1/0", "--source", "a/b")
    assert result.returncode == 2 and "--source" in result.stderr
    result = run_tailsse("serve", "--redis", "127.0.0.1:6379")
    assert result.returncode == 2 and "not a Redis URL" in result.stderr
    env = {**os.environ, "TAILSSE_REDIS": "127.0.0.1:6379"}  # taken when --redis is not given
    result = run_tailsse("serve", env=env)
    assert result.returncode == 2 and "not a Redis URL" in result.stderr


def test_serving_files_does_not_need_redis(tmp_path):
    path = tmp_path / "app.log"
    path.write_bytes(b"")
    code = (
        "import sys; from tailsse.cli.main import build_parser; from tailsse.webapp.app import make_app;"
        "from tailsse.config import Config;"
        f"make_app(Config(paths=({str(path)!r},))); build_parser();"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'redis'], 'redis imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env_without_pythonpath(), cwd=os.getcwd())


def test_agent_and_serve_processes(redis_server, server_process, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"hello from the agent\n")
    agent = subprocess.Popen(
        [sys.executable, "-m", "tailsse", "agent", str(log), "--redis", redis_server.url, "--source", "web1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "source web1" in agent.stdout.readline()
        server = server_process("--redis", redis_server.url, "--heartbeat", "0")
        deadline = time.monotonic() + 10
        while True:
            with urllib.request.urlopen(server.url + "api/files", timeout=5) as response:
                files = json.loads(response.read())["files"]
            if files and files[0]["lines"]:
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert files[0]["name"] == "web1/app.log" and files[0]["state"] == "following"
        with urllib.request.urlopen(server.url + "events/web1/app.log", timeout=5) as response:
            assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
            assert response.readline() == b"retry: 1000\n"
            seen = b""
            while b"hello from the agent" not in seen:
                seen += response.readline()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(server.url + "events/web1/nothing.log", timeout=5)
        assert missing.value.code == 404
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(10)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        agent.stdout.close()
        agent.stderr.close()
    assert agent.returncode == 0


class SlowTransport:
    """A viewer whose connection stops draining until told to (for hub-level tests)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.backlog = 0
        self.waiters: list[asyncio.Future] = []

    def send(self, data: bytes):
        self.sent.append(data)
        if not self.backlog:
            return None
        waiter = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        return waiter

    def push(self, payload) -> None:
        self.send(payload.data)

    def buffered(self) -> int:
        return self.backlog

    def closed(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def drain(self) -> None:
        self.backlog = 0
        for waiter in self.waiters:
            if not waiter.done():
                waiter.set_result(None)

    @property
    def text(self) -> str:
        return b"".join(self.sent).decode()


async def test_stalled_viewer_holds_nothing_and_catches_up_from_redis(
    io_loop, redis_server, cleanup, log_file
):
    await start_agent(cleanup, redis_server, "h", log_file, retention=20)
    node = start_node(cleanup, redis_server, write_buffer_limit=1000)
    hub = node.app.catalog
    await hub.discover()
    channel = hub.channels["h/app.log"]
    slow = SlowTransport()
    sub = channel.subscribe(slow, None, 0)

    async def at_head() -> bool:
        return sub in channel.head

    await until(at_head)
    append(log_file, lines("a", 0, 5))

    async def got(needle: str) -> bool:
        return needle in slow.text

    await until(lambda: got("a 4\n"))
    slow.backlog = 10**6  # the connection stops draining
    sent = len(slow.sent)
    for i in range(10):
        append(log_file, lines("t", i * 20, i * 20 + 20))
        await asyncio.sleep(0.02)

    async def trimmed() -> bool:
        info = await xinfo(redis_server, stream_key("h/app.log"))
        return info["length"] < 60 and info["last-entry"][1][b"d"] == b"t 199"

    await until(trimmed)
    await asyncio.sleep(0.1)
    assert sub not in channel.head and len(slow.sent) <= sent + 1  # at most the drain probe
    slow.drain()
    await until(lambda: got("t 199\n"))
    await until(at_head)
    later = "".join(s.decode() for s in slow.sent[sent:])
    assert "event: lost\n" in later and "fell further behind" in later
    numbers = [int(line.split()[-1]) for line in later.splitlines() if line.startswith("data: t ")]
    assert numbers == list(range(numbers[0], 200)) and numbers[0] > 0
    append(log_file, b"live\n")
    await until(lambda: got("data: live\n"))
    channel.unsubscribe(sub)


async def test_agent_follows_files_that_appear_in_a_directory(io_loop, redis_server, cleanup, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "one.log").write_bytes(b"")
    config = replace(BASE, redis=redis_server.url, paths=(str(logs),))
    agent = Agent(config, {"one.log": str(logs / "one.log")}, source="h")
    cleanup.append(agent)
    await agent.start()
    node = start_node(cleanup, redis_server)
    (logs / "two.log").write_bytes(b"")

    async def listed() -> bool:
        return "h/two.log" in [f["name"] for f in (await node.get("/api/files"))[1]["files"]]

    await until(listed)
    stream = await open_stream(cleanup, node, "/events/h/two.log?lines=0")
    append(logs / "two.log", b"second file\n")
    assert texts(await stream.lines(1)) == ["second file"]
