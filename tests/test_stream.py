"""The event stream and the small endpoints, in process (pytest-tornasync)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest

from tailsse.config import Config
from tailsse.webapp.app import make_app
from tests.conftest import TEST_CONFIG, append, open_stream


async def test_headers_and_retry_first(http_server_client, log_file):
    append(log_file, b"one\n")
    reader, _ = open_stream(http_server_client, "/events/app.log")
    event = await reader.next()
    assert event["data"] == "one"
    raw = bytes(reader.raw)
    assert raw.startswith(b"retry: 1000\n\n")
    assert b"\r" not in raw and not raw.startswith(b"\xef\xbb\xbf")


async def test_response_headers(http_server_client, log_file):
    headers = {}

    def header(line):
        key, _, value = line.partition(":")
        if value:
            headers[key.strip().lower()] = value.strip()

    append(log_file, b"x\n")
    seen = asyncio.get_running_loop().create_future()
    response = http_server_client.fetch(
        "/events/app.log",
        header_callback=header,
        streaming_callback=lambda chunk: seen.done() or seen.set_result(chunk),
        headers={"Accept-Encoding": "gzip"},
        decompress_response=False,
        request_timeout=60,
        raise_error=False,
    )
    await asyncio.wait_for(seen, 5)
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    assert "content-length" not in headers
    assert "content-encoding" not in headers
    assert response is not None


async def test_backlog_then_live_lines(http_server_client, log_file):
    append(log_file, b"".join(b"old %d\n" % i for i in range(150)))
    reader, _ = open_stream(http_server_client, "/events/app.log")
    backlog = await reader.take(100)
    assert [e["data"] for e in backlog] == [f"old {i}" for i in range(50, 150)]
    append(log_file, b"new 1\nnew 2\n")
    assert [e["data"] for e in await reader.take(2)] == ["new 1", "new 2"]
    await reader.nothing_more()


@pytest.mark.parametrize(("query", "count"), [("?lines=0", 0), ("?lines=3", 3), ("?lines=1000", 10)])
async def test_lines_parameter(http_server_client, log_file, query, count):
    append(log_file, b"".join(b"l%d\n" % i for i in range(10)))
    reader, _ = open_stream(http_server_client, "/events/app.log" + query)
    await reader.ready()
    got = await reader.take(count)
    assert [e["data"] for e in got] == [f"l{i}" for i in range(10 - count, 10)]
    append(log_file, b"after\n")
    assert (await reader.next())["data"] == "after"


@pytest.mark.parametrize("bad", ["-1", "abc", "1.5", "99999999999", "%D9%A1%D9%A2", "%EF%BC%93"])
async def test_bad_lines_parameter_is_400(http_server_client, bad):
    response = await http_server_client.fetch(f"/events/app.log?lines={bad}", raise_error=False)
    assert response.code == 400
    assert b"lines" in response.body


async def test_live_line_arrives_in_milliseconds(http_server_client, log_file):
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=0")
    await reader.ready()
    start = time.monotonic()
    append(log_file, b"quick\n")
    assert (await reader.next(2))["data"] == "quick"
    # The safety-net check runs every 0.2 s here; watchdog must be faster than that.
    assert time.monotonic() - start < 0.15


async def test_partial_line_sent_once_whole(http_server_client, log_file):
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=0")
    await reader.ready()
    append(log_file, b"half a ")
    await reader.nothing_more(0.3)
    append(log_file, b"line\r\n")
    event = await reader.next()
    assert event["data"] == "half a line"
    await reader.nothing_more()


async def test_cr_cannot_inject_an_event_type(http_server_client, log_file):
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=0")
    await reader.ready()
    append(log_file, b"a\revent: x\rid: evil\n")
    event = await reader.next()
    assert "event" not in event
    assert event["data"] == "a\nevent: x\nid: evil"
    assert event["id"] != "evil"
    assert b"\r" not in bytes(reader.raw)


async def test_invalid_utf8_and_split_characters(http_server_client, log_file):
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=0")
    await reader.ready()
    append(log_file, b"bad \xff\xfe byte\n")
    assert (await reader.next())["data"] == "bad \ufffd\ufffd byte"
    coffee = "☕".encode()
    append(log_file, b"cup " + coffee[:2])
    await asyncio.sleep(0.1)
    append(log_file, coffee[2:] + b"\n")
    assert (await reader.next())["data"] == "cup ☕"
    append(log_file, b"nul\x00byte\n")
    assert (await reader.next())["data"] == "nul\x00byte"


async def test_every_line_has_an_id_and_resume_is_exact(http_server_client, log_file):
    append(log_file, b"a\nb\nc\n")
    reader, _ = open_stream(http_server_client, "/events/app.log")
    events = await reader.take(3)
    assert all(e.get("id") for e in events)
    append(log_file, b"d\ne\n")
    events += await reader.take(2)
    # Reconnect after "b": exactly c, d, e follow, no backlog before them.
    again, _ = open_stream(http_server_client, "/events/app.log", {"Last-Event-ID": events[1]["id"]})
    assert [e["data"] for e in await again.take(3)] == ["c", "d", "e"]
    await again.nothing_more()
    append(log_file, b"f\n")
    assert (await again.next())["data"] == "f"
    # Resuming after the newest line sends nothing until a new line.
    last, _ = open_stream(http_server_client, "/events/app.log", {"Last-Event-ID": events[-1]["id"]})
    assert (await last.next())["data"] == "f"


@pytest.mark.parametrize("bad_id", ["nonsense", "", "1-2", "zz-1-1"])
async def test_unintelligible_id_is_a_fresh_connection(http_server_client, log_file, bad_id):
    append(log_file, b"a\nb\n")
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=1", {"Last-Event-ID": bad_id})
    assert (await reader.next())["data"] == "b"


async def test_resume_survives_a_new_app_over_the_same_file(io_loop, log_file):
    """Ids name file positions, so a fresh server (no shared memory) resumes exactly."""
    from tornado.httpclient import AsyncHTTPClient
    from tornado.httpserver import HTTPServer
    from tornado.testing import bind_unused_port

    append(log_file, b"1\n2\n3\n")
    config = replace(TEST_CONFIG, paths=(str(log_file),))
    ids = []
    for round_ in range(2):
        app = make_app(config)
        sock, port = bind_unused_port()
        server = HTTPServer(app)
        server.add_socket(sock)
        got = []
        done = asyncio.get_running_loop().create_future()

        def feed(chunk, got=got, done=done):
            got.append(chunk)
            if b"data: 5" in b"".join(got) and not done.done():
                done.set_result(None)

        headers = {"Last-Event-ID": ids[-1]} if ids else {}
        client = AsyncHTTPClient(force_instance=True)
        client.fetch(
            f"http://127.0.0.1:{port}/events/app.log",
            headers=headers,
            streaming_callback=feed,
            request_timeout=60,
            raise_error=False,
        )
        if round_ == 0:
            await asyncio.sleep(0.1)
            text = b"".join(got).decode()
            ids.append([ln[4:] for ln in text.splitlines() if ln.startswith("id: ")][1])  # after "2"
            append(log_file, b"4\n5\n")  # written while "disconnected"
            client.close()
            server.stop()
            app.catalog.close()
            continue
        await asyncio.wait_for(done, 5)
        text = b"".join(got).decode()
        data = [ln[6:] for ln in text.splitlines() if ln.startswith("data: ")]
        assert data == ["3", "4", "5"]
        client.close()
        server.stop()
        app.catalog.close()


async def test_unknown_name_is_404_plain(http_server_client):
    # (/view/nope.log is the viewer's own 404 page, saying so: tests/test_viewer.py)
    for path in ["/events/nope.log", "/events/..%2Fetc%2Fpasswd", "/nothing"]:
        response = await http_server_client.fetch(path, raise_error=False)
        assert response.code == 404, path
        assert response.headers["Content-Type"].startswith("text/plain")
        assert len(response.body) < 100


async def test_healthz_and_files(http_server_client, log_file):
    append(log_file, b"12345\n")
    response = await http_server_client.fetch("/healthz")
    assert response.code == 200
    response = await http_server_client.fetch("/api/files")
    assert json.loads(response.body) == {
        "files": [{"name": "app.log", "size": 6, "exists": True, "state": "following"}]
    }


class TestTwoFilesWithHeartbeat:
    @pytest.fixture
    def app_config(self, log_file, tmp_path):
        missing = tmp_path / "later.log"
        return replace(TEST_CONFIG, paths=(str(log_file), str(missing)), heartbeat=0.1)

    async def test_files_lists_missing_ones(self, http_server_client):
        body = json.loads((await http_server_client.fetch("/api/files")).body)
        by_name = {f["name"]: f for f in body["files"]}
        assert by_name["later.log"] == {
            "name": "later.log",
            "size": None,
            "exists": False,
            "state": "missing",
        }

    async def test_heartbeat_comment_when_idle(self, http_server_client, log_file):
        reader, _ = open_stream(http_server_client, "/events/app.log")
        deadline = time.monotonic() + 3
        while b"\n:\n" not in bytes(reader.raw) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        raw = bytes(reader.raw)
        assert raw.startswith(b"retry: 1000\n\n:\n")  # a comment line, no blank line after it
        # A line resets the idle clock; the next comment comes only after another quiet spell.
        append(log_file, b"line\n")
        await reader.next()
        after = len(reader.raw)
        await asyncio.sleep(0.02)
        assert b":" not in bytes(reader.raw[after:])


async def test_page_is_served(http_server_client):
    response = await http_server_client.fetch("/")
    assert response.code == 200
    assert b'<base href="/">' in response.body
    assert b"static/viewer.js" in response.body
    js = await http_server_client.fetch("/static/viewer.js")
    assert b"textContent" in js.body and b"innerHTML" not in js.body


def test_config_rejects_bad_values():
    with pytest.raises(ValueError):
        Config(lines=-1)
    assert Config(base_path="logs").base_path == "/logs/"
    assert Config(base_path="/logs/").base_path == "/logs/"


async def test_after_in_the_url_resumes_like_last_event_id(http_server_client, log_file):
    append(log_file, b"a\nb\nc\n")
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=3")
    first = await reader.take(3)
    append(log_file, b"d\n")
    resumed, _ = open_stream(http_server_client, f"/events/app.log?after={first[0]['id']}")
    assert [e["data"] for e in await resumed.take(3)] == ["b", "c", "d"]
    # The header, which EventSource sends on its own reconnects, wins over the URL.
    both, _ = open_stream(
        http_server_client,
        f"/events/app.log?after={first[0]['id']}",
        headers={"Last-Event-ID": first[1]["id"]},
    )
    assert [e["data"] for e in await both.take(2)] == ["c", "d"]
