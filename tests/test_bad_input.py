"""Every bad input gets a clear answer: HTTP requests, odd files, and the command line."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from dataclasses import replace

import pytest
from tornado.httpserver import HTTPServer
from tornado.testing import bind_unused_port

from tailsse.cli import main as cli
from tailsse.cli import serve as cli_serve
from tailsse.config import cli_options, option_name
from tailsse.webapp.app import make_app
from tailsse.webapp.security import server_options
from tests.conftest import TEST_CONFIG, ServerProcess, append, open_stream, run_tailsse

# ---- HTTP


@pytest.mark.parametrize(
    "path",
    ["/nope", "/events/", "/events/nope.log", "/view/", "/view/nope.log", "/api/files/x", "/static/nope.js",
     "/static/", "/healthz/x", "/index.html", "/%00", "/" + "x" * 10000],
)  # fmt: skip
async def test_unknown_paths_are_404(http_server_client, path, caplog):
    response = await http_server_client.fetch(path, raise_error=False)
    assert response.code == 404
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize(
    "path", ["/events/app.log", "/", "/view/app.log", "/embed/app.log", "/api/files", "/healthz"]
)
async def test_wrong_methods_are_405(http_server_client, method, path):
    body = None if method == "DELETE" else b"x"
    response = await http_server_client.fetch(
        path, method=method, body=body, allow_nonstandard_methods=True, raise_error=False
    )
    assert response.code == 405


async def test_options_on_the_stream_without_cors_is_405(http_server_client):
    response = await http_server_client.fetch("/events/app.log", method="OPTIONS", raise_error=False)
    assert response.code == 405


@pytest.mark.parametrize(
    "path",
    ["/", "/view/app.log", "/embed/app.log", "/view?file=app.log", "/api/files", "/healthz",
     "/static/viewer.js", "/static/viewer.css", "/api/lines/app.log?before=end",
     "/api/search/app.log?q=one", "/api/time/app.log?t=2026-01-01T00:00:00Z",
     "/view/nope.log", "/embed/nope.log", "/api/files/x", "/static/nope.js", "/api/lines/app.log?count=x"],
)  # fmt: skip
async def test_head_is_answered_wherever_get_is(http_server_client, log_file, path):
    append(log_file, b"one\ntwo\n")
    got = await http_server_client.fetch(path, raise_error=False)
    head = await http_server_client.fetch(path, method="HEAD", raise_error=False)
    assert head.code == got.code
    assert head.body == b""
    assert head.headers.get("Content-Type") == got.headers.get("Content-Type")
    if got.code == 200 and "Content-Length" in got.headers:
        assert head.headers["Content-Length"] == got.headers["Content-Length"]


@pytest.mark.parametrize("path", ["/events/app.log", "/events/app.log?lines=5", "/events?file=app.log"])
async def test_head_on_the_stream_is_its_headers_without_a_body(http_server_client, app, path):
    response = await http_server_client.fetch(path, method="HEAD", raise_error=False)
    assert response.code == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    assert "Content-Length" not in response.headers  # a stream has no length
    assert response.body == b""
    assert app.catalog.subscriber_count() == 0  # no stream was opened


@pytest.mark.parametrize(
    ("path", "code"), [("/events/nope.log", 404), ("/events/app.log?lines=x", 400), ("/events", 400)]
)
async def test_head_on_the_stream_checks_what_get_checks(http_server_client, path, code):
    response = await http_server_client.fetch(path, method="HEAD", raise_error=False)
    assert response.code == code
    assert response.body == b""


@pytest.mark.parametrize(
    "lines", ["abc", "-1", "1.5", "1e3", "0x10", "", "%20", "100001", "99999999999999999999999999999"]
)
async def test_bad_lines_are_400(http_server_client, lines):
    response = await http_server_client.fetch(f"/events/app.log?lines={lines}", raise_error=False)
    assert response.code == 400
    assert b"lines must be a whole number" in response.body


@pytest.mark.parametrize(
    "last_id",
    [
        "garbage",
        "../../etc/passwd",
        "ffffffffffffffffff-1-1",
        "1-2",
        "-",
        "1-99999999999999999999-0",
        "1" * 4000,
        " ",
    ],
)
async def test_malformed_last_event_id_is_a_fresh_connection(http_server_client, log_file, last_id):
    append(log_file, b"one\ntwo\nthree\n")
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=2", headers={"Last-Event-ID": last_id})
    assert [e["data"] for e in await reader.take(2)] == ["two", "three"]


@pytest.fixture
def real_server(io_loop, app_config):
    """The app behind an HTTPServer configured as the CLI does (header limits, timeouts)."""
    servers = []

    def start(**changes):
        config = replace(app_config, **changes)
        application = make_app(config)
        application.catalog.start()
        sock, port = bind_unused_port()
        server = HTTPServer(application, **server_options(config))
        server.add_sockets([sock])
        servers.append((server, application))
        return port

    yield start
    for server, application in servers:
        server.stop()
        application.catalog.close()
        io_loop.run_sync(server.close_all_connections)


async def exchange(port: int, data: bytes, timeout: float = 5) -> bytes:
    """Send raw bytes, read until the server closes or ``timeout``; returns what came back."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        out = b""
        try:
            while chunk := await asyncio.wait_for(reader.read(65536), timeout):
                out += chunk
        except (asyncio.TimeoutError, ConnectionError):
            pass
        return out
    finally:
        writer.close()


async def test_oversized_headers_get_431(real_server, caplog):
    port = real_server()
    big = (
        b"GET /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
        + b"a" * 100_000
        + b"\r\nConnection: close\r\n\r\n"
    )
    answer = await exchange(port, big)
    assert answer.startswith(b"HTTP/1.1 431 ")
    # Far beyond the limit tornado closes the connection without reading it all.
    huge = b"GET /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    assert await exchange(port, huge) in (b"", b"HTTP/1.1 400 Bad Request\r\n\r\n")
    ok = await exchange(port, b"GET /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200 ")
    assert "Traceback" not in caplog.text


async def test_slow_headers_do_not_hold_a_connection(real_server, log_file):
    port = real_server(header_timeout=1.0)
    reader_, writer = await asyncio.open_connection("127.0.0.1", port)
    # An event stream open longer than the header timeout is not cut by it.
    stream, _ = open_stream_on(port)
    loop = asyncio.get_running_loop()
    start = loop.time()
    closed_after = None
    try:
        for byte in b"GET /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100:
            writer.write(bytes([byte]))
            await writer.drain()
            try:
                if await asyncio.wait_for(reader_.read(1), 0.1) == b"":
                    closed_after = loop.time() - start
                    break
            except asyncio.TimeoutError:
                pass
            except ConnectionError:
                closed_after = loop.time() - start
                break
    finally:
        writer.close()
    assert closed_after is not None and 0.8 < closed_after < 3
    await asyncio.sleep(1.2)  # the stream has now been open for over twice the header timeout
    append(log_file, b"still streaming\n")
    assert (await stream.next())["data"] == "still streaming"


def open_stream_on(port: int):
    """open_stream against a server started by the test."""
    from tornado.httpclient import AsyncHTTPClient

    class Client:
        def fetch(self, path, **kwargs):
            return AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}{path}", **kwargs)

    return open_stream(Client(), "/events/app.log?lines=0")


# ---- files


@pytest.fixture
def app_config(tmp_path, log_file):
    """app.log plus odd files: binary, NUL bytes, a FIFO and an empty directory."""
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe bin \x80\n" + bytes(range(14, 256)) + b"\n\xc3(\n")
    (tmp_path / "zeros.log").write_bytes(b"\0" * 5000 + b"\n")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "empty-dir").mkdir()
    paths = [str(log_file), str(tmp_path / "binary.bin"), str(tmp_path / "zeros.log"), str(tmp_path / "pipe")]
    return replace(TEST_CONFIG, paths=tuple(paths))


async def test_binary_file_streams_valid_events(http_server_client):
    reader, _ = open_stream(http_server_client, "/events/binary.bin?lines=10")
    events = await reader.take(3)
    assert all(e["id"] for e in events)
    assert events[0]["data"] == "\ufffd\ufffd bin \ufffd"
    assert events[1]["data"] == bytes(range(14, 128)).decode() + "\ufffd" * 128
    assert events[2]["data"] == "\ufffd("
    bytes(reader.raw).decode("utf-8")  # everything sent is valid UTF-8


async def test_file_of_nul_bytes(http_server_client):
    reader, _ = open_stream(http_server_client, "/events/zeros.log?lines=1")
    assert (await reader.next())["data"] == "\0" * 5000


async def test_fifo_is_a_clear_state_and_never_blocks(http_server_client):
    files = json.loads((await http_server_client.fetch("/api/files")).body)["files"]
    assert {f["name"]: f["state"] for f in files}["pipe"] == "unreadable"
    reader, _ = open_stream(http_server_client, "/events/pipe")
    event = await reader.next()
    assert event["event"] == "unreadable" and json.loads(event["data"])["detail"] == "not a regular file"
    assert (await http_server_client.fetch("/healthz")).code == 200


async def test_permissions_changed_while_followed(http_server_client, log_file, caplog):
    reader, _ = open_stream(http_server_client, "/events/app.log")
    await reader.ready()
    os.chmod(log_file, 0)
    try:
        # The open file stays readable (as with tail -F); nothing breaks either way.
        append(log_file, b"after chmod\n")
        assert (await reader.next())["data"] == "after chmod"
    finally:
        os.chmod(log_file, stat.S_IRUSR | stat.S_IWUSR)
    assert "Traceback" not in caplog.text


async def test_read_errors_are_survived_without_losing_lines(
    http_server_client, log_file, monkeypatch, caplog
):
    reader, _ = open_stream(http_server_client, "/events/app.log")
    await reader.ready()
    real_pread = os.pread
    failing = {"on": True}

    def pread(fd, n, offset):
        if failing["on"]:
            raise OSError(5, "Input/output error")
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", pread)
    append(log_file, b"during the failure\n")
    await reader.nothing_more(0.5)
    # A new viewer can still connect while reads fail; others are untouched.
    other, _ = open_stream(http_server_client, "/events/zeros.log?lines=0")
    await other.ready()
    assert (await http_server_client.fetch("/healthz")).code == 200
    failing["on"] = False
    assert (await reader.next())["data"] == "during the failure"
    assert "Traceback" not in caplog.text


def test_fifo_and_empty_directory_on_the_command_line(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "empty").mkdir()
    server = ServerProcess([str(tmp_path / "pipe")])  # started: opening the FIFO did not block
    server.stop()
    stderr = server.stderr
    assert "not a regular file" in stderr and "Traceback" not in stderr


# ---- the command line: every option, given a wrong value

BAD_VALUES = {
    "host": "not a host!",
    "port": "70000",
    "lines": "-5",
    "heartbeat": "soon",
    "base_path": "/a b/",
    "frame_ancestors": "'self'; script-src *",
    "trusted_proxy": "proxy.example.com",
    "allowed_host": "not a name!",
    "max_line_bytes": "10",
    "max_clients": "0",
    "poll": "=yes",
    "check_interval": "inf",
    "header_timeout": "-1",
    "token_file": "/nonexistent/token",
    "users_file": "/nonexistent/users",
    "certfile": "/nonexistent/cert.pem",
    "keyfile": "/nonexistent/key.pem",
    "cors_origin": "dash.example.com",
    "redis": "not a url",
}


@pytest.mark.parametrize(
    ("name", "meta"), [(name, meta) for name, _, meta in cli_options()], ids=lambda v: str(v)[:20]
)
def test_every_option_with_a_wrong_value_is_one_line_and_exit_2(tmp_path, name, meta, capsys, monkeypatch):
    assert name in BAD_VALUES, f"add a wrong value for {option_name(name)} to BAD_VALUES"
    value = BAD_VALUES[name]
    flag = option_name(name)
    args = [flag + value] if value.startswith("=") else [flag, value]

    async def must_not_serve(*a, **k):
        raise AssertionError("the server started")

    monkeypatch.setattr(cli_serve, "_serve", must_not_serve)
    monkeypatch.delenv("TAILSSE_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", str(tmp_path / "a.log"), *args])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert flag in err and "Traceback" not in err


def test_weak_token_from_the_environment_is_refused(tmp_path):
    env = dict(os.environ, TAILSSE_TOKEN="short")
    result = run_tailsse("serve", str(tmp_path / "a.log"), env=env)
    assert result.returncode == 2 and "TAILSSE_TOKEN" in result.stderr and "short" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
