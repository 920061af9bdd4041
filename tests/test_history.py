"""The history API in process: /api/lines, /api/search and /api/time over a file and its generations."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import pickle
import signal
import socket
import threading
import time
from dataclasses import replace

import pytest
from tornado.log import access_log

from tailsse.history import scanner, search
from tailsse.history.local import FileHistory
from tailsse.history.query import Query, QueryError
from tailsse.history.timestamps import line_time, parse_time
from tailsse.webapp.base import PIECE, BaseHandler
from tailsse.webapp.direct import ChunkOut
from tests.conftest import TEST_CONFIG, append, open_stream


async def get(client, path: str, status: int = 200) -> dict:
    response = await client.fetch(path, raise_error=False)
    assert response.code == status, (response.code, response.body)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


def numbered(prefix: str, start: int, stop: int) -> bytes:
    return b"".join(b"%s %d\n" % (prefix.encode(), i) for i in range(start, stop))


def texts(lines: list[dict]) -> list[str]:
    return [line["text"] for line in lines]


async def caught_up(client, last: str) -> None:
    """Wait until the head has read everything appended (its last line is ``last``)."""
    deadline = time.monotonic() + 10
    while texts((await get(client, "/api/lines/app.log?count=1"))["lines"]) != [last]:
        assert time.monotonic() < deadline, "the head never reached the end of the file"
        await asyncio.sleep(0.02)


@pytest.fixture
def generations(log_file):
    """app.log.2 (oldest), app.log.1, then app.log, 10 lines each."""
    base = str(log_file)
    now = time.time()
    for age, gen in ((2, "g2"), (1, "g1")):
        path = f"{base}.{age}"
        with open(path, "wb") as f:
            f.write(numbered(gen, 0, 10))
        os.utime(path, (now - 100 * age, now - 100 * age))
    append(log_file, numbered("cur", 0, 10))
    return log_file


async def test_lines_carry_the_stream_s_own_ids(http_server_client, log_file):
    append(log_file, numbered("line", 0, 10))
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=10")
    streamed = [{"id": e["id"], "text": e["data"]} for e in await reader.take(10)]
    last = await get(http_server_client, "/api/lines/app.log?count=3")
    assert last == {"lines": streamed[-3:], "more": True}
    fifth = streamed[4]["id"]
    page = await get(http_server_client, f"/api/lines/app.log?before={fifth}&count=2")
    assert page == {"lines": streamed[3:5], "more": True}  # the line the id names is included
    page = await get(http_server_client, f"/api/lines/app.log?after={fifth}&count=3")
    assert page == {"lines": streamed[5:8], "more": True}  # and after it, it is not
    page = await get(http_server_client, f"/api/lines/app.log?after={fifth}&count=100")
    assert page == {"lines": streamed[5:], "more": False}
    page = await get(http_server_client, f"/api/lines/app.log?before={fifth}&count=100")
    assert page == {"lines": streamed[:5], "more": False}


async def test_history_reaches_through_the_rotated_generations_in_order(http_server_client, generations):
    page = await get(http_server_client, "/api/lines/app.log?after=start&count=12")
    assert texts(page["lines"]) == [f"g2 {i}" for i in range(10)] + ["g1 0", "g1 1"]
    assert page["more"]
    # Back from the end, across both boundaries, to the very first line.
    collected: list[str] = []
    before = "end"
    while True:
        page = await get(http_server_client, f"/api/lines/app.log?before={before}&count=7")
        got = texts(page["lines"])
        if before != "end":
            # An id names where its line ends, so that line comes back too: the overlap.
            assert page["lines"][-1]["id"] == before
            got.pop()
        collected[:0] = got
        if not page["more"]:
            break
        before = page["lines"][0]["id"]
    expected = [f"g{g} {i}" for g in (2, 1) for i in range(10)] + [f"cur {i}" for i in range(10)]
    assert collected == expected
    # Forward from the first line to the head, page by page, ids chaining.
    forward: list[str] = []
    after = "start"
    while True:
        page = await get(http_server_client, f"/api/lines/app.log?after={after}&count=6")
        forward += texts(page["lines"])
        if not page["more"]:
            break
        after = page["lines"][-1]["id"]
    assert forward == expected


async def test_history_stops_at_the_head_the_streams_have_reached(http_server_client, log_file):
    append(log_file, b"done\nhalf a li")
    page = await get(http_server_client, "/api/lines/app.log?after=start")
    assert texts(page["lines"]) == ["done"] and not page["more"]


async def test_a_line_in_a_generation_that_is_gone_is_410(http_server_client, generations):
    first = (await get(http_server_client, "/api/lines/app.log?after=start&count=1"))["lines"][0]
    assert first["text"] == "g2 0"
    os.unlink(f"{generations}.2")
    body = await get(http_server_client, f"/api/lines/app.log?before={first['id']}", 410)
    assert "no longer" in body["error"]
    body = await get(http_server_client, f"/api/search/app.log?q=x&before={first['id']}", 410)
    assert "no longer" in body["error"]


async def test_a_line_survives_the_rotation_of_its_file(http_server_client, log_file):
    """A permalink taken before a rotation still opens the same line after it."""
    append(log_file, numbered("before", 0, 5))
    reader, _ = open_stream(http_server_client, "/events/app.log?lines=5")
    third = (await reader.take(5))[2]
    os.rename(log_file, f"{log_file}.1")
    append(log_file, numbered("after", 0, 3))
    assert (await reader.next())["event"] == "rotated"
    await reader.take(3)
    page = await get(http_server_client, f"/api/lines/app.log?before={third['id']}&count=1")
    assert page["lines"] == [{"id": third["id"], "text": third["data"]}]
    page = await get(http_server_client, f"/api/lines/app.log?after={third['id']}&count=5")
    assert texts(page["lines"]) == ["before 3", "before 4", "after 0", "after 1", "after 2"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("before=nonsense", "not an event id"),
        ("after=1-2", "not an event id"),
        ("count=0", "count must be"),
        ("count=10001", "count must be"),
        ("count=ten", "count must be"),
        ("before=end&after=start", "not both"),
    ],
)
async def test_bad_lines_requests_are_400(http_server_client, log_file, query, message):
    append(log_file, b"x\n")
    body = await get(http_server_client, f"/api/lines/app.log?{query}", 400)
    assert message in body["error"]


async def test_an_id_that_is_not_at_a_line_start_or_of_another_file_is_410(http_server_client, log_file):
    append(log_file, b"first line\nsecond\n")
    line = (await get(http_server_client, "/api/lines/app.log?count=1"))["lines"][0]
    ino, offset, check = line["id"].split("-")
    await get(http_server_client, f"/api/lines/app.log?before={ino}-{int(offset) - 2}-{check}", 410)
    other = os.stat(log_file).st_ino + 1
    await get(http_server_client, f"/api/lines/app.log?before={other:x}-{offset}-{check}", 410)


async def test_unknown_file_is_404(http_server_client):
    for api in ("lines", "search", "time"):
        response = await http_server_client.fetch(f"/api/{api}/other.log?q=x&t=0", raise_error=False)
        assert response.code == 404


async def test_search_newest_first_across_generations(http_server_client, generations):
    page = await get(http_server_client, "/api/search/app.log?q=+5")
    assert texts(page["matches"]) == ["cur 5", "g1 5", "g2 5"]
    assert page["next"] is None
    sizes = sum(os.path.getsize(f"{generations}{suffix}") for suffix in ("", ".1", ".2"))
    assert page["scanned"] == page["size"] == sizes
    page = await get(http_server_client, "/api/search/app.log?q=G1&case=1")
    assert page["matches"] == []  # case=1 is case-sensitive
    page = await get(http_server_client, "/api/search/app.log?q=G1")
    assert len(page["matches"]) == 10


async def test_search_pages_with_next_until_the_beginning(http_server_client, generations):
    seen: list[str] = []
    before = "end"
    pages = 0
    while before is not None:
        page = await get(
            http_server_client, f"/api/search/app.log?q=[02468]$&regex=1&limit=4&before={before}"
        )
        seen += texts(page["matches"])
        before = page["next"]
        pages += 1
    expected = [f"{f} {i}" for f in ("cur", "g1", "g2") for i in (8, 6, 4, 2, 0)]
    assert seen == expected
    assert pages == 4


async def test_search_of_a_file_larger_than_one_answer_covers(http_server_client, log_file, monkeypatch):
    """Each request scans a bounded amount; ``next`` continues where it stopped, nothing twice."""
    monkeypatch.setattr(search, "SEARCH_BYTES", 64 * 1024)
    monkeypatch.setattr(search, "BLOCK_MIN", 4096)
    append(
        log_file,
        b"".join(
            b"%s %06d filler filler filler\n" % (b"hit" if i % 500 == 0 else b"row", i) for i in range(20000)
        ),
    )
    size = os.path.getsize(log_file)
    found: list[str] = []
    before = "end"
    requests = 0
    scanned = 0
    while before is not None:
        page = await get(http_server_client, f"/api/search/app.log?q=hit&before={before}")
        assert page["scanned"] <= 64 * 1024 + 4096
        found += texts(page["matches"])
        scanned += page["scanned"]
        before = page["next"]
        requests += 1
    assert requests > 5
    assert scanned == size
    assert found == [f"hit {i:06d} filler filler filler" for i in range(19500, -1, -500)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("q=", "must not be empty"),
        ("q=(a&regex=1", "not a valid regular expression"),
        ("q=x&regex=maybe", "regex"),
    ],
)
async def test_bad_searches_are_400(http_server_client, log_file, query, message):
    body = await get(http_server_client, f"/api/search/app.log?{query}", 400)
    assert message in body["error"]


def test_regular_expressions_take_linear_time():
    """A pattern that makes a backtracking engine run for ages is matched in linear time."""
    evil = Query("(a+)+$", regex=True)
    sizes = []
    for n in (20_000, 40_000, 80_000):
        text = b"a" * n + b"!"
        began = time.perf_counter()
        assert evil.find(text, 0, len(text)) == -1
        sizes.append(time.perf_counter() - began)
    # Python's re needs 2**n steps for "a"*n+"!"; here each doubling at most ~doubles the time.
    assert max(sizes) < 0.5


def test_regular_expressions_match_within_one_line():
    q = Query(r"a\sb", regex=True)
    text = b"xa\nb\nyy a b\n"
    assert q.find(text, 0, len(text)) == text.index(b"a b")
    anchored = Query("^foo$", regex=True)
    text = b"xfoo\nfoo\nfooy\n"
    assert anchored.find(text, 0, len(text)) == 5
    with pytest.raises(QueryError):
        Query("(?P<x>a)(?P=x)", regex=True)  # backreferences are not linear: refused


async def test_live_lines_keep_flowing_while_a_search_runs(http_server_client, log_file):
    """The search runs in a scanner process beside the server: the IOLoop stays free."""
    append(log_file, b"".join(b"row %07d some text to search through\n" % i for i in range(800_000)))
    await caught_up(http_server_client, "row 0799999 some text to search through")
    await get(http_server_client, "/api/search/app.log?q=warmup")  # the scanner is started
    (pid,) = scanner.scanners.pids()[:1]
    assert pid != os.getpid()
    loop = asyncio.get_running_loop()
    gaps: list[float] = []
    done = False

    async def tick() -> None:
        # CPU time of this thread between two turns of the loop: what the search held it
        # for, whatever else the machine is doing.
        last = time.thread_time()
        while not done:
            await asyncio.sleep(0)
            now = time.thread_time()
            gaps.append(now - last)
            last = now

    ticker = asyncio.ensure_future(tick())
    began = loop.time()
    scanner_cpu = _cpu_seconds(pid)
    page = await get(http_server_client, "/api/search/app.log?q=(x|y|z)[0-9]+q&regex=1")
    took = loop.time() - began
    scanner_cpu = _cpu_seconds(pid) - scanner_cpu
    done = True
    await ticker
    assert page["scanned"] > 20_000_000 and page["matches"] == []
    # The loop ran all along, and was never held for more than a few milliseconds.
    assert len(gaps) >= took / 0.05
    assert max(gaps) < 0.02, max(gaps)
    # The scanning was done by the scanner process (RE2 on 20 MB takes tens of ms of CPU).
    assert scanner_cpu >= 0.02, scanner_cpu


async def test_io_that_comes_during_a_search_step_goes_before_the_next_step(
    http_server_client, app, log_file, monkeypatch, caplog
):
    """A live line's write wakes the loop while a search request is on it: the loop handles
    that before the request's next step (bringing the head up to date; opening the
    timeline; looking up the place, sending the answer's head and asking the scanner; the
    scanner's answer; finishing the answer; writing the access log and sending its end)."""
    caplog.set_level(logging.INFO, logger=access_log.name)
    append(log_file, numbered("find me", 0, 30))
    await caught_up(http_server_client, "find me 29")
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    order: list[str] = []

    def woken() -> None:
        ours.recv(16)
        order.append("io")

    def step(name: str) -> None:
        order.append(name)
        theirs.send(b"x")  # ready now: handled at the loop's next turn

    loop.add_reader(ours.fileno(), woken)
    history = app.catalog.channels["app.log"].history
    refreshed, opened, placed = history.refresh, FileHistory._timeline, FileHistory._place
    run, finished, corked, logged = scanner.scanners.run, ChunkOut.finish, ChunkOut._cork, access_log.log

    def refresh():
        step("refresh")
        return refreshed()

    def timeline(self, *args, **kwargs):
        step("timeline")
        return opened(self, *args, **kwargs)

    def place(self, timeline, event_id):
        step("place")
        return placed(self, timeline, event_id)

    async def scanned(fds, req):
        answer = await run(fds, req)
        step("scanned")
        return answer

    def finish(self, rest):
        step("finish")
        return finished(self, rest)

    def cork(self, on):
        if not on:
            step("sent")
        return corked(self, on)

    def log(level, msg, *args):
        if " /api/search/" in msg % args:
            step("logged")
        return logged(level, msg, *args)

    monkeypatch.setattr(history, "refresh", refresh)
    monkeypatch.setattr(FileHistory, "_timeline", timeline)
    monkeypatch.setattr(FileHistory, "_place", place)
    monkeypatch.setattr(scanner.scanners, "run", scanned)
    monkeypatch.setattr(ChunkOut, "finish", finish)
    monkeypatch.setattr(ChunkOut, "_cork", cork)
    monkeypatch.setattr(access_log, "log", log)
    try:
        first = await get(http_server_client, "/api/search/app.log?q=me+2&limit=3")
        del order[:]
        page = await get(http_server_client, f"/api/search/app.log?q=me+1&limit=3&before={first['next']}")
        deadline = time.monotonic() + 5
        while not ("logged" in order and order[-1] == "io") and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    finally:
        loop.remove_reader(ours.fileno())
        ours.close()
        theirs.close()
    assert texts(page["matches"]) == ["find me 19", "find me 18", "find me 17"]
    steps = ["refresh", "timeline", "place", "scanned", "finish"]
    # (the access log line and the answer's end go out in one turn, after that I/O too)
    assert order == [*(x for name in steps for x in (name, "io")), "logged", "sent", "io"]


async def test_a_large_answer_is_written_a_piece_at_a_time(http_server_client, log_file, monkeypatch):
    """A page of 1,500 lines (about 100 KB) goes out in pieces, a turn of the IOLoop
    between two, not in one write that holds the loop; it arrives whole."""
    append(log_file, numbered("a line, long enough to fill a page of answers", 0, 1500))
    await caught_up(http_server_client, "a line, long enough to fill a page of answers 1499")
    flushes = 0
    real_flush = BaseHandler.flush

    def counted(self, *args, **kwargs):
        nonlocal flushes
        flushes += 1
        return real_flush(self, *args, **kwargs)

    monkeypatch.setattr(BaseHandler, "flush", counted)
    response = await http_server_client.fetch("/api/lines/app.log?count=1500")
    page = json.loads(response.body)
    assert len(page["lines"]) == 1500
    assert texts(page["lines"])[-1] == "a line, long enough to fill a page of answers 1499"
    assert len(response.body) > 3 * PIECE and flushes >= len(response.body) // PIECE
    assert "Etag" not in response.headers  # made for this request: nothing to hash


async def raw_get(port: int, path: str, version: str = "HTTP/1.1") -> tuple[bytes, bytes]:
    """A GET over a plain socket; the answer's head and its body as sent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        host = f"127.0.0.1:{port}"
        writer.write(f"GET {path} {version}\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def chunks(body: bytes) -> list[bytes] | None:
    """The chunks of a chunked body; None if it does not end with the last chunk."""
    out = []
    while body:
        size, _, body = body.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            return out
        out.append(body[:n])
        body = body[n + 2 :]
    return None


def count_writes(monkeypatch) -> list[bytes]:
    """What handlers hand to tornado to send, from now on."""
    written: list[bytes] = []
    real_write = BaseHandler.write

    def write(self, chunk):
        written.append(bytes(chunk) if isinstance(chunk, (bytes, bytearray, memoryview)) else b"?")
        return real_write(self, chunk)

    monkeypatch.setattr(BaseHandler, "write", write)
    return written


async def test_the_matches_go_from_the_scanner_to_the_client(
    http_server_client, http_server_port, log_file, monkeypatch
):
    """The scanner process writes a page's matches to the client's socket itself, as one
    chunk of the answer: the server sends only the start and the end of the document."""
    append(log_file, numbered("a matching line, long enough to fill a page of answers", 0, 1500))
    await caught_up(http_server_client, "a matching line, long enough to fill a page of answers 1499")
    written = count_writes(monkeypatch)
    path = "/api/search/app.log?q=matching&limit=1000"
    head, body = await raw_get(http_server_port[1], path)
    assert head.startswith(b"HTTP/1.1 200") and b"Transfer-Encoding: chunked" in head
    assert b"application/json" in head
    parts = chunks(body)
    assert parts is not None and len(parts) == 3
    assert parts[0] == b'{"matches": ' and len(parts[1]) > 3 * PIECE
    assert sum(map(len, written)) == len(parts[0]) + len(parts[2]) < 200
    page = json.loads(b"".join(parts))
    assert len(page["matches"]) == 1000 and page["next"] and page["scanned"] > 0
    assert texts(page["matches"])[0] == "a matching line, long enough to fill a page of answers 1499"
    # An HTTP/1.0 client (no chunks) gets the same answer from the server itself.
    head, body = await raw_get(http_server_port[1], path, "HTTP/1.0")
    assert b"chunked" not in head and json.loads(body) == page
    assert sum(map(len, written)) > len(body)


@pytest.mark.parametrize("failure", ["client gone", "scanner died writing", "scanner died before"])
async def test_an_answer_the_scanner_could_not_finish(
    http_server_client, http_server_port, log_file, monkeypatch, failure
):
    """If the matches could not all be written (the client stopped taking them, or the
    scanner died while writing them), the connection ends: the client sees a broken
    answer, never a wrong one. A scanner that died before it wrote anything costs nothing:
    the search runs on a thread and the answer is whole. The server goes on."""
    append(log_file, numbered("find me", 0, 30))
    await caught_up(http_server_client, "find me 29")
    expected = await get(http_server_client, "/api/search/app.log?q=me&limit=5")

    async def cut(fds, req):
        assert req.out
        if failure == "client gone":
            raise scanner.ClientGone("the client went away")
        if failure == "scanner died writing":
            os.write(fds[-1], b"400\r\n[{")
        raise scanner.ScannerGone("the scanner went away", asked=True)

    real_run = scanner.scanners.run
    monkeypatch.setattr(scanner.scanners, "run", cut)
    head, body = await raw_get(http_server_port[1], "/api/search/app.log?q=me&limit=5")
    assert head.startswith(b"HTTP/1.1 200")
    parts = chunks(body)
    if failure == "scanner died before":
        assert parts is not None and json.loads(b"".join(parts)) == expected
    else:
        assert parts is None
    monkeypatch.setattr(scanner.scanners, "run", real_run)
    assert await get(http_server_client, "/api/search/app.log?q=me&limit=5") == expected


def test_a_scanner_tells_of_a_client_gone_and_goes_on(log_file):
    """The scanner's half: a client that closed its socket is told as "gone", not fatal."""
    append(log_file, numbered("find me", 0, 30))
    size = os.path.getsize(log_file)
    ours, theirs = socket.socketpair()
    client, server_side = socket.socketpair()
    client.close()  # the client went away
    worker = threading.Thread(target=scanner.serve, args=(theirs,), daemon=True)
    worker.start()

    def ask(out: bool) -> tuple[str, object]:
        req = search.Request((size,), "me", False, False, 0, size, 5, 1000, 1 << 20, 1.0, out=out)
        fds = [os.open(log_file, os.O_RDONLY)] + ([server_side.fileno()] if out else [])
        payload = pickle.dumps(req)
        socket.send_fds(ours, [scanner.FRAME.pack(len(payload)) + payload], fds)
        os.close(fds[0])
        (n,) = scanner.FRAME.unpack(ours.recv(4, socket.MSG_WAITALL))
        return pickle.loads(ours.recv(n, socket.MSG_WAITALL))

    try:
        status, why = ask(out=True)
        assert status == "gone" and "client" in str(why)
        status, answer = ask(out=False)  # and the next request is answered
        assert status == "ok" and b"find me 29" in answer.matches
    finally:
        ours.close()
        server_side.close()
        worker.join(5)
    assert not worker.is_alive()


async def test_a_scanner_runs_at_the_lowest_priority(http_server_client, log_file):
    """nice 19: the server (or anything else, in any session) goes first when a search runs."""
    append(log_file, b"one line\n")
    await get(http_server_client, "/api/search/app.log?q=line")
    pids = scanner.scanners.pids()
    assert pids
    with open(scanner.AUTOGROUPS) as f:
        grouped = f.read().strip() == "1"
    for pid in pids:
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 19)
        assert os.sched_getscheduler(pid) == os.SCHED_OTHER
        if grouped:  # and against other sessions too: a session of its own, its group at nice 19
            assert os.getsid(pid) == pid != os.getsid(0)
            with open(f"/proc/{pid}/autogroup") as f:
                assert f.read().split()[-2:] == ["nice", "19"]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def test_a_search_goes_on_when_the_scanner_process_is_gone(http_server_client, log_file):
    """A scanner that died is started again; a search never fails for it."""
    append(log_file, numbered("find me", 0, 30))
    await caught_up(http_server_client, "find me 29")
    first = await get(http_server_client, "/api/search/app.log?q=me+2&limit=3")
    killed = scanner.scanners.pids()
    assert killed
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    for _ in range(3):  # (the first may find the socket closed, and answer from a thread)
        again = await get(http_server_client, "/api/search/app.log?q=me+2&limit=3")
        assert again == first
    assert texts(first["matches"]) == ["find me 29", "find me 28", "find me 27"]
    assert scanner.scanners.pids() and not set(scanner.scanners.pids()) & set(killed)


async def test_without_a_scanner_process_a_search_runs_on_a_thread(http_server_client, log_file, monkeypatch):
    append(log_file, numbered("find me", 0, 30))
    await caught_up(http_server_client, "find me 29")
    expected = await get(http_server_client, "/api/search/app.log?q=me+1&limit=4")

    async def refuse(fds, req):
        raise scanner.ScannerGone("no scanner here")

    monkeypatch.setattr(scanner.scanners, "run", refuse)
    assert await get(http_server_client, "/api/search/app.log?q=me+1&limit=4") == expected
    assert texts(expected["matches"]) == ["find me 19", "find me 18", "find me 17", "find me 16"]


async def test_a_search_sets_its_json_headers_once_whichever_way_it_is_sent(
    http_server_client, http_server_port, log_file, monkeypatch
):
    """Once as the chunked answer opens (the scanner writing the matches, or a search on a
    thread), once when the server sends a whole answer (to an HTTP/1.0 client)."""
    append(log_file, numbered("find me", 0, 30))
    await caught_up(http_server_client, "find me 29")
    calls: list[str] = []
    headers = BaseHandler._json_headers

    def counted(self):
        calls.append(self.request.version)
        headers(self)

    monkeypatch.setattr(BaseHandler, "_json_headers", counted)
    path = "/api/search/app.log?q=me+2&limit=3"
    expected = ["find me 29", "find me 28", "find me 27"]
    head, body = await raw_get(http_server_port[1], path, "HTTP/1.0")
    assert b"application/json" in head and b"chunked" not in head
    assert texts(json.loads(body)["matches"]) == expected
    assert calls == ["HTTP/1.0"]

    async def refuse(fds, req):
        raise scanner.ScannerGone("no scanner here")

    for on_a_thread in (False, True):
        if on_a_thread:
            monkeypatch.setattr(scanner.scanners, "run", refuse)
        calls.clear()
        assert texts((await get(http_server_client, path))["matches"]) == expected
        assert calls == ["HTTP/1.1"], on_a_thread


async def test_time_finds_the_first_line_at_or_after_it(http_server_client, log_file):
    base = parse_time("2026-12-01T00:00:00Z")
    rows = []
    for i in range(20000):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i * 2))
        rows.append(f"{stamp}.000Z INFO request {i}\n".encode())
        if i % 7 == 0:
            rows.append(b"    at a continuation line without a time\n")
    append(log_file, b"".join(rows))
    body = await get(http_server_client, "/api/time/app.log?t=2026-12-01T01:00:01Z")
    assert body["text"].endswith(" request 1801")  # 3601 s after midnight: line 1800 is at 3600 s
    assert body["time"] == "2026-12-01T01:00:02.000Z"
    page = await get(http_server_client, f"/api/lines/app.log?before={body['id']}&count=1")
    assert page["lines"][0]["text"] == body["text"]
    first = await get(http_server_client, "/api/time/app.log?t=2020-01-01")
    assert first["text"].endswith(" request 0")
    late = await get(http_server_client, "/api/time/app.log?t=2027-01-01T00:00:00%2B01:00")
    assert late == {"id": None, "text": None, "time": None}


async def test_time_bisects_instead_of_reading(http_server_client, log_file, monkeypatch):
    append(
        log_file,
        b"".join(
            b"2026-12-01T10:%02d:%02dZ line %d %s\n" % (i // 60 % 60, i % 60, i, b"x" * 200)
            for i in range(3600)
        ),
    )
    await caught_up(http_server_client, "2026-12-01T10:59:59Z line 3599 " + "x" * 200)
    reads = []
    real = os.pread

    def counted(fd: int, n: int, at: int) -> bytes:
        data = real(fd, n, at)
        reads.append(len(data))
        return data

    monkeypatch.setattr(os, "pread", counted)
    body = await get(http_server_client, "/api/time/app.log?t=2026-12-01T10:30:00Z")
    assert body["text"].startswith("2026-12-01T10:30:00Z line 1800")
    assert sum(reads) < os.path.getsize(log_file) / 4, sum(reads)


async def test_time_in_a_file_without_timestamps_says_so(http_server_client, log_file):
    append(log_file, b"no time\nat all\n")
    body = await get(http_server_client, "/api/time/app.log?t=2026-12-01T00:00:00Z", 422)
    assert "recognisable timestamp" in body["error"]
    body = await get(http_server_client, "/api/time/app.log?t=yesterday", 400)
    assert "ISO 8601" in body["error"]
    body = await get(http_server_client, "/api/time/app.log", 400)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"2026-12-01T12:03:04.250Z INFO x", "2026-12-01T12:03:04.250Z"),
        (b"2026-12-01 13:03:04,250 +01:00 x", "2026-12-01T12:03:04.250Z"),
        (b'1.2.3.4 - - [01/Dec/2026:13:03:04 +0100] "GET / HTTP/1.1" 200', "2026-12-01T12:03:04.000Z"),
        (b'{"level":"info","time":"2026-12-01T12:03:04Z","msg":"x"}', "2026-12-01T12:03:04.000Z"),
        (b'{"ts":1796126584.25,"msg":"x"}', "2026-12-01T12:03:04.250Z"),
        (b'{"timestamp":1796126584250,"msg":"x"}', "2026-12-01T12:03:04.250Z"),
    ],
)
def test_timestamps_of_common_formats(line, expected):
    from tailsse.history.timestamps import iso

    assert iso(line_time(line)) == expected


def test_syslog_lines_get_the_year_of_the_file():
    mtime = parse_time("2027-01-02T00:00:00Z")
    december = line_time(b"Dec 31 23:59:59 host app[1]: x", mtime)
    january = line_time(b"Jan  1 00:00:01 host app[1]: x", mtime)
    assert time.localtime(december).tm_year == 2026
    assert time.localtime(january).tm_year == 2027
    assert line_time(b"no time here") is None


class TestWithToken:
    """Every history route is behind the same auth as the streams."""

    @pytest.fixture
    def app_config(self, log_file):
        return replace(TEST_CONFIG, paths=(str(log_file),), token="s3cret-token-for-tests")

    async def test_history_routes_need_the_token(self, http_server_client, log_file):
        append(log_file, b"x\n")
        for api in ("lines/app.log", "search/app.log?q=x", "time/app.log?t=0"):
            response = await http_server_client.fetch(f"/api/{api}", raise_error=False)
            assert response.code == 401
            response = await http_server_client.fetch(
                f"/api/{api}", headers={"Authorization": "Bearer s3cret-token-for-tests"}, raise_error=False
            )
            assert response.code in (200, 422)


class TestUnderABasePath:
    @pytest.fixture
    def app_config(self, log_file):
        return replace(TEST_CONFIG, paths=(str(log_file),), base_path="/logs/")

    async def test_history_routes_are_under_the_base_path(self, http_server_client, log_file):
        append(log_file, b"x\n")
        assert texts((await get(http_server_client, "/logs/api/lines/app.log"))["lines"]) == ["x"]
        response = await http_server_client.fetch("/api/lines/app.log", raise_error=False)
        assert response.code == 404


async def test_history_reads_only_the_file_and_its_real_generations(http_server_client, log_file, tmp_path):
    """Names that look like generations but are symlinks or hard links, and other neighbours, are never read."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_bytes(b"SECRET symlinked\n")
    other = tmp_path / "outside" / "other.txt"
    other.write_bytes(b"SECRET hard-linked\n")
    os.symlink(secret, f"{log_file}.1")
    os.link(other, f"{log_file}.2")
    (tmp_path / "app.log.private").write_bytes(b"SECRET neighbour\n")
    append(log_file, b"the served line\n")
    page = await get(http_server_client, "/api/lines/app.log?after=start&count=100")
    assert texts(page["lines"]) == ["the served line"]
    page = await get(http_server_client, "/api/search/app.log?q=SECRET")
    assert page["matches"] == [] and page["size"] == len(b"the served line\n")
