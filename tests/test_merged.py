"""Merged streams: several files in one event stream, resumed exactly, ordered by time."""

from __future__ import annotations

import asyncio
import os
import re
import time
import urllib.request
from dataclasses import replace

import pytest
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from tailsse.config import Config
from tailsse.webapp.app import make_app
from tests.conftest import TEST_CONFIG, EventReader, append, open_stream

NAMES = ("a.log", "b.log", "c.log")
ID_CHARS = re.compile(r"\Am\.[A-Za-z0-9._-]+\Z")


def stamp(second: int) -> bytes:
    return b"2026-12-01T10:%02d:%02dZ" % divmod(second, 60)


@pytest.fixture
def logs(tmp_path):
    paths = {name: tmp_path / name for name in NAMES}
    for path in paths.values():
        path.write_bytes(b"")
    return paths


@pytest.fixture
def app_config(logs) -> Config:
    return replace(TEST_CONFIG, paths=tuple(str(path) for path in logs.values()))


def split(event: dict[str, str]) -> tuple[str, str]:
    """A merged line event's data: the file's name, a newline, the line."""
    name, _, text = event["data"].partition("\n")
    return name, text


async def lines(reader: EventReader, count: int) -> list[tuple[str, str]]:
    out = []
    while len(out) < count:
        event = await reader.next()
        if event.get("event", "message") == "message":
            assert ID_CHARS.match(event["id"]), event["id"]
            out.append(split(event))
    return out


def write_interleaved(logs, start: int, stop: int) -> list[tuple[str, str]]:
    """Timestamped lines spread over the files, seconds start..stop-1; returns them in time order."""
    expected = []
    for second in range(start, stop):
        name = NAMES[(second * 7) % 3]
        text = (stamp(second) + b" %s line %d" % (name.encode(), second)).decode()
        append(logs[name], text.encode() + b"\n")
        expected.append((name, text))
    return expected


async def test_backlog_is_the_last_lines_of_the_merged_timeline(http_server_client, logs):
    # Written out of time order across files: the backlog is merged by the lines' own times.
    for name, seconds in (("a.log", (1, 4, 7)), ("b.log", (2, 5, 8)), ("c.log", (3, 6, 9))):
        append(logs[name], b"".join(stamp(s) + b" %s %d\n" % (name.encode(), s) for s in seconds))
    reader, _ = open_stream(http_server_client, "/events?file=a.log&file=b.log&file=c.log&lines=5")
    got = await lines(reader, 5)
    assert [text.split()[-1] for _, text in got] == ["5", "6", "7", "8", "9"]
    assert [name for name, _ in got] == ["b.log", "c.log", "a.log", "b.log", "c.log"]
    await reader.nothing_more(0.2)


async def test_live_lines_of_every_file_in_one_stream(http_server_client, logs):
    reader, _ = open_stream(http_server_client, "/events?file=*&lines=0")
    await reader.ready()
    for name, text in (("b.log", "first"), ("a.log", "second"), ("b.log", "third")):
        append(logs[name], text.encode() + b"\n")
        assert await lines(reader, 1) == [(name, text)]


async def test_live_lines_read_in_one_turn_are_merged_by_their_own_times(http_server_client, logs):
    """The live reordering window: the files read in one turn of the IOLoop go out by time."""
    reader, _ = open_stream(http_server_client, "/events?file=*&lines=0")
    await reader.ready()
    for rnd in range(5):
        base = 10 * rnd
        # c.log is written first with the latest lines, a.log last with the earliest, and the
        # IOLoop is held meanwhile (as a busy server is): one turn reads all three files.
        append(logs["c.log"], stamp(base + 3) + b" c\n" + stamp(base + 6) + b" c\n")
        append(logs["b.log"], stamp(base + 2) + b" b\n" + stamp(base + 5) + b" b\n")
        append(logs["a.log"], stamp(base + 1) + b" a\n" + stamp(base + 4) + b" a\n")
        time.sleep(0.05)  # on the IOLoop's thread: every file's event waits for the same turn
        got = await lines(reader, 6)
        assert [t for _, t in got] == [
            (stamp(base + i) + b" " + b"abc"[(i - 1) % 3 : (i - 1) % 3 + 1]).decode() for i in range(1, 7)
        ]


async def test_resume_after_a_disconnect_is_exact_in_every_file(http_server_client, logs):
    expected = write_interleaved(logs, 0, 30)
    reader, _ = open_stream(http_server_client, "/events?file=*&lines=10")
    first = []
    while len(first) < 4:
        event = await reader.next()
        first.append(event)
    last_id = first[-1]["id"]
    expected += write_interleaved(logs, 30, 60)
    resumed, _ = open_stream(http_server_client, "/events?file=*", headers={"Last-Event-ID": last_id})
    got = [split(e) for e in first] + await lines(resumed, 10 - 4 + 30)
    assert got == expected[20:]
    await resumed.nothing_more(0.2)


async def test_after_in_the_url_resumes_and_the_order_of_file_arguments_does_not_matter(
    http_server_client, logs
):
    write_interleaved(logs, 0, 9)
    reader, _ = open_stream(http_server_client, "/events?file=c.log&file=a.log&file=b.log&lines=9")
    events = [await reader.next() for _ in range(9)]
    expected = write_interleaved(logs, 9, 12)
    resumed, _ = open_stream(
        http_server_client, f"/events?file=a.log&file=b.log&file=c.log&after={events[-1]['id']}"
    )
    assert await lines(resumed, 3) == expected


async def test_resume_across_a_rotation_of_one_file_while_away(http_server_client, logs):
    expected = write_interleaved(logs, 0, 6)
    reader, _ = open_stream(http_server_client, "/events?file=*&lines=6")
    got = await lines(reader, 6)
    assert got == expected
    ids = re.findall(rb"id: (m\.[^\n]+)", bytes(reader.raw))
    last_id = ids[-1].decode()
    expected = write_interleaved(logs, 6, 9)
    os.rename(logs["b.log"], str(logs["b.log"]) + ".1")  # b.log rotated while the viewer is away
    expected += write_interleaved(logs, 9, 15)
    resumed, _ = open_stream(http_server_client, "/events?file=*", headers={"Last-Event-ID": last_id})
    received = []
    while len(received) < len(expected):
        event = await resumed.next()
        if event.get("event", "message") == "message":
            received.append(split(event))
        else:
            assert event["event"] in ("rotated", "missing", "appeared")
    assert sorted(received) == sorted(expected)
    for name in NAMES:  # every file's lines in its own order
        assert [t for n, t in received if n == name] == [t for n, t in expected if n == name]


def read_events(url: str, count: int, last_id: str | None = None) -> list[tuple[str, str, str]]:
    """(id, file, text) of the first ``count`` line events of a stream, read with urllib."""
    request = urllib.request.Request(url, headers={"Last-Event-ID": last_id} if last_id else {})
    out: list[tuple[str, str, str]] = []
    with urllib.request.urlopen(request, timeout=10) as response:
        event: dict[str, str] = {}
        while len(out) < count:
            line = response.readline().decode().rstrip("\n")
            if not line:
                if "data" in event and "event" not in event:
                    name, _, text = event["data"].partition("\n")
                    out.append((event["id"], name, text))
                event = {}
                continue
            key, _, value = line.partition(": ")
            event[key] = event[key] + "\n" + value if key == "data" and "data" in event else value
    return out


def test_resume_after_a_server_restart(logs, server_process):
    paths = [str(path) for path in logs.values()]
    expected = write_interleaved(logs, 0, 12)
    server = server_process(*paths)
    seen = read_events(server.url + "events?file=*&lines=12", 5)
    assert [(n, t) for _, n, t in seen] == expected[:5]
    server.stop()
    expected += write_interleaved(logs, 12, 20)
    again = server_process(*paths)
    rest = read_events(again.url + "events?file=*", 15, last_id=seen[-1][0])
    assert [(n, t) for _, n, t in rest] == expected[5:]


async def test_catching_up_merges_by_the_lines_own_times(http_server_client, logs):
    reader, _ = open_stream(http_server_client, "/events?file=*&lines=0")
    await reader.ready()
    append(logs["a.log"], stamp(0) + b" start\n")
    start = await reader.next()
    # While away: a.log got its lines first, then b.log and c.log theirs, timestamps interleaved.
    rows = {name: [] for name in NAMES}
    for second in range(1, 61):
        rows[NAMES[second % 3]].append(stamp(second) + b" %d" % second)
    for name in NAMES:
        append(logs[name], b"\n".join(rows[name]) + b"\n")
    resumed, _ = open_stream(http_server_client, "/events?file=*", headers={"Last-Event-ID": start["id"]})
    got = await lines(resumed, 60)
    assert [int(text.split()[-1]) for _, text in got] == list(range(1, 61))


async def test_files_without_timestamps_keep_their_order(http_server_client, logs):
    append(logs["a.log"], b"a1\na2\na3\n")
    append(logs["c.log"], b"c1\nc2\n")
    reader, _ = open_stream(http_server_client, "/events?file=a.log&file=c.log&lines=5")
    got = await lines(reader, 5)
    assert [t for n, t in got if n == "a.log"] == ["a1", "a2", "a3"]
    assert [t for n, t in got if n == "c.log"] == ["c1", "c2"]


async def test_a_missing_file_in_a_merged_stream_is_told_and_followed_when_it_appears(
    http_server_client, logs
):
    os.unlink(logs["c.log"])
    reader, _ = open_stream(http_server_client, "/events?file=*&lines=0")
    event = await reader.next()
    assert event["event"] == "missing" and '"c.log"' in event["data"]
    append(logs["c.log"], b"hello\n")
    got = []
    while not got:
        event = await reader.next()
        if event.get("event", "message") == "message":
            got.append(split(event))
    assert got == [("c.log", "hello")]


@pytest.mark.parametrize(
    ("query", "status"),
    [("", 400), ("?file=nope.log", 404), ("?file=a.log&file=nope.log", 404), ("?lines=x&file=a.log", 400)],
)
async def test_bad_merged_requests(http_server_client, query, status):
    response = await http_server_client.fetch("/events" + query, raise_error=False)
    assert response.code == status


async def test_ids_stay_short_and_valid_with_many_files(tmp_path):
    names = [f"service-{i:02d}.log" for i in range(50)]
    for name in names:
        (tmp_path / name).write_bytes(b"x\n")
    app = make_app(replace(TEST_CONFIG, paths=(str(tmp_path),)))
    app.catalog.start()
    sockets = bind_sockets(0, "127.0.0.1")
    server = HTTPServer(app)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    try:

        def first_id() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/events?file=*&lines=1", timeout=5) as r:
                while True:
                    line = r.readline().decode()
                    if line.startswith("id: "):
                        return line[4:].strip()

        event_id = await asyncio.get_running_loop().run_in_executor(None, first_id)
        assert ID_CHARS.match(event_id) and event_id.count(".") == 50
        assert len(event_id) < 1800
        (tmp_path / "one-more.log").write_bytes(b"")
        app.catalog.rescan()
        response = await asyncio.get_running_loop().run_in_executor(
            None, lambda: _status(f"http://127.0.0.1:{port}/events?file=*")
        )
        assert response == 400  # 51 files: more than one merged stream takes
    finally:
        server.stop()
        app.catalog.close()


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_follow_prints_each_line_with_its_file(logs, server_process):
    from tests.test_client import Follow

    server = server_process("--max-line-bytes", "64", *(str(path) for path in logs.values()))
    append(logs["a.log"], b"from a\n")
    append(logs["c.log"], b"from c " + b"x" * 100 + b"\n")  # an over-long line, sent in pieces
    labelled = Follow(server.url + "events?file=*&lines=2")
    bare = Follow("--no-label", server.url + "events?file=a.log&file=c.log&lines=2")
    try:
        assert sorted(labelled.take(2)) == [b"a.log | from a\n", b"c.log | from c " + b"x" * 100 + b"\n"]
        assert sorted(bare.take(2)) == [b"from a\n", b"from c " + b"x" * 100 + b"\n"]
    finally:
        labelled.kill()
        bare.kill()


async def test_a_position_gone_in_one_file_says_lost_for_that_file_only(http_server_client, logs):
    expected = write_interleaved(logs, 0, 6)
    reader, _ = open_stream(http_server_client, "/events?file=*&lines=6")
    assert await lines(reader, 6) == expected
    last_id = re.findall(rb"id: (m\.[^\n]+)", bytes(reader.raw))[-1].decode()
    # The position in a.log names a file that is not there (as after a restart, its file deleted).
    parts = last_id[2:].split(".")
    parts[0] = parts[0][:6] + "fffffff-20-1234"
    gone = "m." + ".".join(parts)
    append(logs["b.log"], stamp(51) + b" more b\n")
    resumed, _ = open_stream(http_server_client, "/events?file=*", headers={"Last-Event-ID": gone})
    events = [await resumed.next() for _ in range(1 + 2 + 1)]
    lost = [e for e in events if e.get("event") == "lost"]
    assert len(lost) == 1 and '"a.log"' in lost[0]["data"] and "id" not in lost[0]
    got = [split(e) for e in events if e.get("event", "message") == "message"]
    # a.log again from its first byte; b.log exactly after its position.
    a_lines = [t for n, t in expected if n == "a.log"]
    assert sorted(got) == sorted([("a.log", t) for t in a_lines] + [("b.log", "2026-12-01T10:00:51Z more b")])
    assert all(e["id"].startswith("m.") for e in events if "id" in e)


async def test_merged_view_pages(http_server_client):
    for path in ("/view?file=a.log&file=b.log", "/embed?file=a.log&file=c.log", "/view?file=*"):
        response = await http_server_client.fetch(path)
        assert response.code == 200 and b"<html" in response.body.lower()
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    response = await http_server_client.fetch("/embed?file=a.log&file=nope.log", raise_error=False)
    assert response.code == 404
