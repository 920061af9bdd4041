"""Every line exactly once, in order, only from served files: the edges where that is hard."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time

import pytest

from tests.conftest import CaptureTransport, append, open_stream


def _read_until(sock: socket.socket, needle: bytes, timeout: float = 5.0) -> bytes:
    deadline = time.monotonic() + timeout
    data = b""
    while needle not in data:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            chunk = b""
        if not chunk and time.monotonic() > deadline:
            break
        data += chunk
    return data


def test_a_line_written_as_soon_as_the_stream_answers_is_delivered(tmp_path, server_process):
    """A client that writes the moment it sees the 200 gets that line, every time."""
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    server = server_process(str(log), "--lines", "0", "--heartbeat", "0")
    missed = []
    for i in range(20):
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /events/app.log?lines=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            _read_until(sock, b"\r\n\r\n")
            line = b"right after the headers %d" % i
            append(log, line + b"\n")
            if line not in _read_until(sock, line, timeout=3):
                missed.append(i)
    assert missed == []


async def test_an_id_inside_a_line_is_not_a_position(http_server_client, log_file):
    first_line = "first " + "x" * 100  # past the fingerprinted bytes: the check alone cannot tell
    append(log_file, first_line.encode() + b"\nsecond line\nthird line\n")
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=3")
    _first, second, _third = await reader.take(3)
    ino, end, check = second["id"].split("-")
    inside = f"{ino}-{int(end) - 4}-{check}"  # the same file and fingerprint, mid-line
    resumed, _ = open_stream(http_server_client, "/events/app.log", headers={"Last-Event-ID": inside})
    event = await resumed.next()
    assert event["event"] == "lost"
    assert [e["data"] for e in await resumed.take(3)] == [first_line, "second line", "third line"]


async def test_a_read_error_while_catching_up_ends_the_stream_instead_of_skipping(
    http_server_client, log_file, monkeypatch
):
    append(log_file, b"".join(b"old %d\n" % i for i in range(50)))
    real_pread = os.pread
    failing = {"on": True}

    def pread(fd, n, offset):
        if failing["on"] and offset > 0:
            raise OSError(5, "Input/output error")
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", pread)
    reader, done = open_stream(http_server_client, "/events/app.log?lines=10")
    response = await asyncio.wait_for(done, 5)  # the server ended the stream
    failing["on"] = False
    assert response.code == 200
    assert [e for e in reader.events._queue if "id" in e] == []  # nothing, rather than a gap
    # The client's reconnect (EventSource does it by itself) gets the backlog it asked for.
    again, _ = open_stream(http_server_client, "/events/app.log?lines=10")
    assert [e["data"] for e in await again.take(10)] == [f"old {i}" for i in range(40, 50)]


@pytest.fixture
def app_config(log_file):
    from dataclasses import replace

    from tests.conftest import TEST_CONFIG

    return replace(TEST_CONFIG, paths=(str(log_file),))


async def test_resuming_after_a_piece_of_an_over_long_line_continues_with_the_next_piece(
    http_server_client, log_file
):
    long_line = "".join(chr(ord("a") + i % 26) for i in range(200_000))  # cut into pieces of 64 KiB
    append(log_file, long_line.encode() + b"\nshort\n")
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=10")
    events = await reader.take(5)
    assert [e["id"].endswith("-p") for e in events] == [True, True, True, False, False]
    resumed, _ = open_stream(
        http_server_client, "/events/app.log", headers={"Last-Event-ID": events[1]["id"]}
    )
    assert [e["data"] for e in await resumed.take(3)] == [events[2]["data"], events[3]["data"], "short"]
    # A "piece" id inside a short line is no position either.
    ino, end, check = events[4]["id"].split("-")
    forged = f"{ino}-{int(end) - 2}-{check}-p"
    again, _ = open_stream(http_server_client, "/events/app.log", headers={"Last-Event-ID": forged})
    assert (await again.next())["event"] == "lost"


async def test_a_forged_id_cannot_open_a_file_next_to_the_log(io_loop, tmp_path):
    """Only rotated generations of a served file are ever opened from an id."""
    from dataclasses import replace

    from tailsse.following.lines import Position
    from tailsse.webapp.app import make_app
    from tests.conftest import TEST_CONFIG, CaptureTransport

    log = tmp_path / "app.log"
    log.write_bytes(b"served\n")
    private = tmp_path / "app.log.private"
    private.write_bytes(b"secret line\n")
    rotated = tmp_path / "app.log.1"
    rotated.write_bytes(b"older generation\n")
    app = make_app(replace(TEST_CONFIG, paths=(str(log),)))
    app.catalog.start()
    try:
        channel = app.catalog.channels["app.log"]
        for path, wanted in ((private, False), (rotated, True)):
            capture = CaptureTransport()
            forged = Position(os.stat(path).st_ino, 0, 0).event_id().decode()  # offset 0: CRC of no bytes
            channel.subscribe(capture, forged, 0)
            deadline = time.monotonic() + 3
            while b"served" not in b"".join(capture.sent) and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            text = capture.text
            assert "secret line" not in text
            assert ("older generation" in text) == wanted
            # A first-byte id cannot tell a file from one that reused its inode: always `lost`.
            assert "event: lost" in text
    finally:
        app.catalog.close()


def test_hard_links_in_a_served_directory_are_not_served(tmp_path):
    from tailsse.following.paths import expand

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow").write_bytes(b"root:x:0:0\n")
    served = tmp_path / "logs"
    served.mkdir()
    (served / "app.log").write_bytes(b"ok\n")
    os.link(outside / "shadow", served / "innocent.log")
    found = {os.path.basename(p) for p in expand([str(served)])}
    assert found == {"app.log"}
    assert {os.path.basename(p) for p in expand([str(served / "*.log")])} == {"app.log"}
    # Named outright, it is served: the operator chose it.
    assert expand([str(served / "innocent.log")]) == [str(served / "innocent.log")]


async def test_a_hard_link_renamed_over_a_file_of_a_served_directory_is_not_read(io_loop, tmp_path):
    from dataclasses import replace

    from tailsse.webapp.app import make_app
    from tests.conftest import TEST_CONFIG, CaptureTransport

    served = tmp_path / "logs"
    served.mkdir()
    (served / "app.log").write_bytes(b"")
    secret = tmp_path / "secret"
    secret.write_bytes(b"secret line\n")
    app = make_app(replace(TEST_CONFIG, paths=(str(served),)))
    app.catalog.start()
    try:
        capture = CaptureTransport()
        app.catalog.channels["app.log"].subscribe(capture, None, 10)
        os.link(secret, served / "tmp")
        os.rename(served / "tmp", served / "app.log")  # the served name now links outside
        deadline = time.monotonic() + 3
        while "event: unreadable" not in capture.text and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        fol = app.catalog.sources["app.log"].follower
        assert "event: unreadable" in capture.text, (
            fol.state,
            fol.error,
            fol.segment,
            fol.wait,
            list(fol.queue),
        )
        assert "secret line" not in capture.text
    finally:
        app.catalog.close()


def _get(port: int, path: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
        return response.read()


def _stream_until(port: int, path: str, needle: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        return _read_until(sock, needle)


def _wait_until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.parametrize("stdout", ["/dev/full", "closed pipe"])
def test_serve_survives_a_stdout_it_cannot_write(tmp_path, stdout):
    import subprocess
    import sys

    from tests.conftest import free_port

    log = tmp_path / "app.log"
    log.write_bytes(b"a line\n")
    port = free_port()
    cmd = [sys.executable, "-m", "tailsse", "serve", str(log), "--port", str(port)]
    if stdout == "/dev/full":
        out = open("/dev/full", "w")
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE, text=True)
        out.close()
    else:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        proc.stdout.close()  # nobody will ever read what it prints
    try:
        assert b'"status": "ok"' in _wait_until(lambda: _get(port, "/healthz"))
        assert b"data: a line" in _stream_until(port, "/events/app.log?lines=1", b"data: a line")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err and "stdout cannot be written" in err


def test_an_empty_served_directory_waits_for_its_files(tmp_path, server_process):
    (tmp_path / "logs").mkdir()
    server = server_process(str(tmp_path / "logs"), "--check-interval", "0.1")
    assert b'"files": []' in _get(server.port, "/api/files")
    (tmp_path / "logs" / "new.log").write_bytes(b"")
    _wait_until(lambda: b"new.log" in _get(server.port, "/api/files"))
    append(tmp_path / "logs" / "new.log", b"first\n")
    assert b"data: first" in _stream_until(server.port, "/events/new.log", b"data: first")
    assert server.stop() == 0
    assert "no file matches" in server.stderr and "Traceback" not in server.stderr


@pytest.mark.parametrize(
    ("allowed", "host", "served"),
    [
        ((), "127.0.0.1:8080", True),
        ((), "[::1]:8080", True),
        ((), "192.0.2.7", True),
        ((), "localhost:8080", True),
        ((), "app.localhost", True),
        ((), "attacker.example", False),
        ((), "attacker.example:8080", False),
        (("logs.example.com",), "logs.example.com", True),
        (("logs.example.com",), "LOGS.example.com.:443", True),
        (("logs.example.com",), "evil.example.com", False),
        ((".example.com",), "a.b.example.com", True),
        ((".example.com",), "example.com", True),
        ((".example.com",), "badexample.com", False),
        (("*",), "anything.test", True),
    ],
)
async def test_only_this_server_s_host_names_are_answered(
    http_server_client, app_config, allowed, host, served
):
    """DNS rebinding: a page whose name re-resolves to 127.0.0.1 gets nothing."""
    app = http_server_client._http_server.request_callback
    from tailsse.webapp.security import HostCheck

    app.hosts = HostCheck(app_config.host, allowed)
    for path in ("/api/files", "/", "/view/app.log", "/healthz"):
        response = await http_server_client.fetch(path, headers={"Host": host}, raise_error=False)
        assert (response.code != 403) == served, (path, response.code)
    if served:
        reader, _ = open_stream(http_server_client, "/events/app.log?lines=0", headers={"Host": host})
        await reader.ready()
    else:
        response = await http_server_client.fetch(
            "/events/app.log", headers={"Host": host}, raise_error=False
        )
        assert response.code == 403 and b"--allowed-host" in response.body


def test_allowed_host_option_is_checked():
    from tailsse.config import Config

    assert Config(allowed_host=("Logs.Example.com, .corp.test", "*")).allowed_host == (
        "logs.example.com",
        ".corp.test",
        "*",
    )
    with pytest.raises(ValueError, match="--allowed-host"):
        Config(allowed_host=("not a name",))


class PacedTransport(CaptureTransport):
    """A connection that takes each write only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[asyncio.Future[None]] = []
        self.free = False

    def send(self, data: bytes):
        super().send(data)
        if self.free:
            return None
        future = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        return future

    def take_one(self) -> None:
        while self.waiting:
            future = self.waiting.pop(0)
            if not future.done():
                future.set_result(None)
                return

    def take_all(self) -> None:
        self.free = True
        for future in self.waiting:
            if not future.done():
                future.set_result(None)


async def test_a_viewer_behind_the_head_is_told_of_a_copytruncate_and_goes_on_from_the_start(
    io_loop, tmp_path
):
    from dataclasses import replace

    from tailsse.webapp.app import make_app
    from tests.conftest import TEST_CONFIG

    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"old %06d\n" % i for i in range(300_000)))  # 3.3 MB: many reads
    app = make_app(replace(TEST_CONFIG, paths=(str(log),), check_interval=0.05))
    app.catalog.start()
    try:
        slow = PacedTransport()
        app.catalog.channels["app.log"].subscribe(slow, None, 100_000)  # the last 1.1 MB
        for _ in range(3):  # the viewer has read a few blocks of its backlog
            await asyncio.sleep(0.01)
            slow.take_one()
        with open(log, "r+b") as f:  # copytruncate: copied elsewhere, emptied, written again
            f.truncate(0)
        append(log, b"".join(b"new %06d\n" % i for i in range(350_000)))  # regrown past the viewer
        follower = app.catalog.channels["app.log"].source.follower
        deadline = time.monotonic() + 5
        while follower.pos != os.path.getsize(log) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)  # the head notices first; the viewer is still behind
        slow.take_all()
        deadline = time.monotonic() + 5
        while "data: new 349999\n" not in slow.text and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        app.catalog.close()
    events = [block for block in slow.text.split("\n\n") if block and not block.startswith("retry:")]
    datas = [line[6:] for block in events for line in block.split("\n") if line.startswith("data: ")]
    cut = next(i for i, block in enumerate(events) if block.startswith("event: truncated"))
    old = [d for d in datas[:cut]]
    assert old == [f"old {i:06d}" for i in range(200_000, 200_000 + len(old))] and len(old) < 100_000
    assert [e.split("data: ")[1] for e in events[cut + 1 :]] == [f"new {i:06d}" for i in range(350_000)]


def _capture_lines(text: str) -> list[str]:
    return [ln[6:] for ln in text.splitlines() if ln.startswith("data: ") and not ln.startswith("data: {")]


async def _resume_after_restart(config, last_id: str, until: bytes):
    from tailsse.webapp.app import make_app
    from tests.conftest import CaptureTransport

    fresh = make_app(config)
    fresh.catalog.start()
    try:
        capture = CaptureTransport()
        fresh.catalog.channels["app.log"].subscribe(capture, last_id, 100)
        deadline = time.monotonic() + 5
        while until not in b"".join(capture.sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return capture.text
    finally:
        fresh.catalog.close()


def _first_id(path) -> str:
    from tailsse.following.lines import Position, read_lines
    from tailsse.following.segment import open_segment

    seg = open_segment(str(path))
    try:
        end = read_lines(seg.fd, 0, None, 1 << 16, 1024)[0].ends[0]
        return Position(seg.ino, end, seg.fingerprint(end)).event_id().decode()
    finally:
        seg.close()


async def test_resume_after_a_restart_reads_every_generation_rotated_meanwhile(io_loop, log_file, app_config):
    append(log_file, b"a\nb\n")
    last_id = _first_id(log_file)  # the viewer had "a"
    base = str(log_file)
    # While no server runs: two logrotate rotations (numbered generations), lines in each.
    append(log_file, b"c\n")
    os.rename(base, base + ".1")
    log_file.write_bytes(b"d\n")
    os.rename(base + ".1", base + ".2")
    os.rename(base, base + ".1")
    log_file.write_bytes(b"e\n")
    text = await _resume_after_restart(app_config, last_id, b"data: e")
    assert _capture_lines(text) == ["b", "c", "d", "e"]
    assert text.count("event: rotated") == 2 and "event: lost" not in text


async def test_a_compressed_generation_on_the_way_is_reported_lost(io_loop, log_file, app_config):
    append(log_file, b"a\nb\n")
    last_id = _first_id(log_file)
    base = str(log_file)
    os.rename(base, base + ".2")  # the viewer's generation, still plain
    (log_file.parent / "app.log.1.gz").write_bytes(b"\x1f\x8b compressed")
    log_file.write_bytes(b"e\n")
    now = time.time()
    os.utime(base + ".2", (now - 20, now - 20))
    os.utime(log_file.parent / "app.log.1.gz", (now - 10, now - 10))
    text = await _resume_after_restart(app_config, last_id, b"data: e")
    assert _capture_lines(text) == ["b", "e"]
    assert "app.log.1.gz is compressed" in text and "event: lost" in text


def _collect(port: int, path: str, stop: threading.Event, out: list[bytes]) -> None:
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                break
            out.append(chunk)


@pytest.mark.parametrize("style", ["rename over", "rename away", "delete and recreate"])
def test_fifty_rotations_20ms_apart_lose_no_generation(tmp_path, server_process, style):
    """Each generation lives 20 ms: it is opened as soon as it appears, and read to its end."""
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    server = server_process(str(log), "--lines", "0", "--heartbeat", "0")
    stop, received = threading.Event(), []
    reader = threading.Thread(target=_collect, args=(server.port, "/events/app.log", stop, received))
    reader.start()
    try:
        _read_until_text(received, b"retry:")
        for i in range(50):
            if style == "rename over":
                fresh = tmp_path / "next"
                fresh.write_bytes(b"")
                os.rename(fresh, log)
            elif style == "rename away":
                os.rename(log, f"{log}.{i}")
                log.write_bytes(b"")
            else:
                os.remove(log)
                log.write_bytes(b"")
            append(log, b"generation %d\n" % i)
            time.sleep(0.02)
        _read_until_text(received, b"data: generation 49\n")
    finally:
        stop.set()
        reader.join()
    text = b"".join(received).decode()
    got = [ln[6:] for ln in text.split("\n") if ln.startswith("data: generation")]
    assert got == [f"generation {i}" for i in range(50)]


def _read_until_text(received: list[bytes], needle: bytes, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while needle not in b"".join(received):
        assert time.monotonic() < deadline, f"{needle!r} did not arrive"
        time.sleep(0.01)


# -- positions in files the follower closed, or that are gone -----------------------------


async def _followed(follower, path) -> None:
    """Wait until the follower reads ``path``'s current file to its end."""
    deadline = time.monotonic() + 5
    while True:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        seg = follower.segment
        if st is not None and seg is not None and seg.ino == st.st_ino and follower.pos == st.st_size:
            return
        assert time.monotonic() < deadline, "the follower did not catch up"
        await asyncio.sleep(0.01)


async def _watching(client):
    """The follower of app.log, and a viewer at its head."""
    fol = client._http_server.request_callback.catalog.channels["app.log"].source.follower
    reader, _ = open_stream(client, "/events/app.log?lines=0")
    await reader.ready()
    return fol, reader


async def _truncate(follower, path) -> None:
    """Empty the file (as copytruncate does) and wait until the follower noticed."""
    epoch = follower.segment.epoch
    os.truncate(path, 0)
    deadline = time.monotonic() + 5
    while follower.segment.epoch == epoch:
        assert time.monotonic() < deadline, "the truncation was not noticed"
        await asyncio.sleep(0.01)


def _notices_and_lines(events) -> list[str]:
    return [e["event"] if "event" in e else e["data"] for e in events]


async def test_resume_in_a_generation_closed_long_ago_reads_or_names_every_later_one(
    http_server_client, log_file
):
    """The viewer's position is in app.log.1, which the follower closed several rotations
    ago. After it: a file deleted (and closed) since, four renamed away, one deleted while
    still open (its lines can still be read), then the current one. Resuming reads the rest
    of app.log.1, says `lost` for the deleted file, and reads every other one, in order."""
    from tailsse.following.follower import Follower

    fol, reader = await _watching(http_server_client)
    append(log_file, b"a1\na2\na3\n")
    mine = (await reader.take(3))[1]  # the viewer stopped after a2
    base = str(log_file)
    os.rename(base, base + ".1")
    log_file.write_bytes(b"c1\n")
    await _followed(fol, log_file)
    os.unlink(log_file)  # deleted: its lines go when the follower closes it
    for i in range(Follower.KEEP_RETIRED + 1):
        log_file.write_bytes(b"d%d\n" % i)
        await _followed(fol, log_file)
        os.rename(base, f"{base}.{i + 2}")
    log_file.write_bytes(b"b1\n")
    await _followed(fol, log_file)
    os.unlink(log_file)  # deleted, still open: the follower keeps the last few
    log_file.write_bytes(b"e1\n")
    await _followed(fol, log_file)
    again, _ = open_stream(http_server_client, "/events/app.log", headers={"Last-Event-ID": mine["id"]})
    got = []
    while "e1" not in got:
        got.append(_notices_and_lines([await again.next()])[0])
    assert [g for g in got if g != "rotated"] == ["a3", "lost", "d0", "d1", "d2", "d3", "b1", "e1"], got


async def test_resume_in_a_file_truncated_and_rotated_since_goes_on_from_its_new_content(
    http_server_client, log_file
):
    """The viewer's position is in app.log before a copytruncate; the file was then written
    again and rotated away (still on disk). Resuming: `lost` (the position is gone), then the
    file's new content from its first byte, then the current file."""
    fol, reader = await _watching(http_server_client)
    append(log_file, b"a1\na2\n")
    mine = (await reader.take(2))[0]
    await _truncate(fol, log_file)
    append(log_file, b"b1\nb2\n")
    await _followed(fol, log_file)
    os.rename(log_file, str(log_file) + ".1")
    log_file.write_bytes(b"c1\n")
    await _followed(fol, log_file)
    again, _ = open_stream(http_server_client, "/events/app.log", headers={"Last-Event-ID": mine["id"]})
    got = _notices_and_lines(await again.take(5))
    assert got == ["lost", "b1", "b2", "rotated", "c1"], got


async def test_a_viewer_reaching_a_file_truncated_before_it_got_there_is_told(http_server_client, log_file):
    """The viewer's position is in app.log.1; the file after it was copytruncated before
    the viewer got there (its first lines are only in the copy, which is not that file).
    Resuming: the rest of app.log.1, `rotated`, `truncated`, then what the file holds now."""
    fol, reader = await _watching(http_server_client)
    append(log_file, b"a1\na2\n")
    mine = (await reader.take(2))[0]
    os.rename(log_file, str(log_file) + ".1")
    log_file.write_bytes(b"b1\n")
    await _followed(fol, log_file)
    await _truncate(fol, log_file)
    append(log_file, b"b2\n")
    await _followed(fol, log_file)
    again, _ = open_stream(http_server_client, "/events/app.log", headers={"Last-Event-ID": mine["id"]})
    assert _notices_and_lines(await again.take(4)) == ["a2", "rotated", "truncated", "b2"]


async def test_a_viewer_catching_up_is_told_the_file_went_missing(io_loop, tmp_path):
    """A notice that names no place in a file (missing) reaches viewers that are not at the head yet."""
    from dataclasses import replace

    from tailsse.webapp.app import make_app
    from tests.conftest import TEST_CONFIG, CaptureTransport

    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"line %d\n" % i for i in range(50)))
    app = make_app(replace(TEST_CONFIG, paths=(str(log),)))
    app.catalog.start()
    try:
        capture = CaptureTransport()
        app.catalog.channels["app.log"].subscribe(capture, None, 50)  # catching up: the backlog
        os.unlink(log)
        app.catalog.sources["app.log"].wake()  # the head learns it before the viewer joins it
        deadline = time.monotonic() + 3
        while (
            not ("event: missing" in capture.text and "line 49" in capture.text)
            and time.monotonic() < deadline
        ):
            await asyncio.sleep(0.01)
        assert "event: missing" in capture.text
        assert "line 49" in capture.text  # and the backlog, read from the file still open
    finally:
        app.catalog.close()
