"""tail -F semantics end to end: what a client receives while files are rotated, truncated,
removed, retargeted and recreated (real files, a real follower, in-process server)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from dataclasses import replace

import pytest

from tailsse.following import follower, watch
from tailsse.following.lines import Position, read_lines
from tailsse.following.segment import open_segment
from tailsse.webapp.app import make_app
from tests.conftest import TEST_CONFIG, CaptureTransport, append, open_stream


@pytest.fixture(params=["inotify", "poll"])
def mode(request):
    return request.param


@pytest.fixture
def extra_paths(tmp_path):
    """A symlink to a day file and a file in its own directory, made before the app starts."""
    for day in ("day1", "day2"):
        (tmp_path / day).mkdir()
        (tmp_path / day / "d.log").write_bytes(b"")
    os.symlink(tmp_path / "day1" / "d.log", tmp_path / "current.log")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "other.log").write_bytes(b"")
    return [str(tmp_path / "current.log"), str(tmp_path / "logs" / "other.log")]


@pytest.fixture
def app_config(log_file, mode, extra_paths, tmp_path):
    later = [str(tmp_path / "later.log"), str(tmp_path / "not" / "yet" / "deep.log")]
    paths = (str(log_file), *extra_paths, *later)
    return replace(
        TEST_CONFIG,
        paths=paths,
        poll=(mode == "poll"),
        check_interval=0.1,
        max_line_bytes=4096,
        read_chunk=64 * 1024,
        read_budget=256 * 1024,
    )


def datas(events):
    return [e["data"] for e in events if "event" not in e]


async def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def stream(client, path="/events/app.log?lines=0", headers=None):
    reader, _ = open_stream(client, path, headers)
    await reader.ready()
    return reader


async def test_rename_rotation_drains_old_then_follows_new(http_server_client, log_file, mode):
    reader = await stream(http_server_client)
    append(log_file, b"old 1\n")
    assert (await reader.next())["data"] == "old 1"
    append(log_file, b"old 2\nold 3 no newline")
    os.rename(log_file, str(log_file) + ".1")
    append(str(log_file) + ".1", b"\nold 4 after rename\n")  # still written through the old name
    log_file.write_bytes(b"new 1\n")
    got = await reader.take(5)
    assert datas(got) == ["old 2", "old 3 no newline", "old 4 after rename", "new 1"]
    assert [e.get("event") for e in got] == [None, None, None, "rotated", None]
    await reader.nothing_more()


async def test_fifty_rotations_in_a_tight_loop(http_server_client, log_file, mode):
    if mode == "poll":
        pytest.skip("polling cannot see files that came and went between two polls")
    reader = await stream(http_server_client)
    for i in range(50):
        os.rename(log_file, f"{log_file}.{i}")
        with open(log_file, "wb") as f:
            f.write(b"line %d\n" % i)
    got = []
    while len(got) < 50:
        try:
            event = await reader.next()
        except asyncio.TimeoutError:
            raise AssertionError(f"only these arrived: {got}") from None
        if "event" not in event:
            got.append(event["data"])
    assert got == [f"line {i}" for i in range(50)]
    await reader.nothing_more()


async def test_copytruncate(http_server_client, log_file, mode):
    reader = await stream(http_server_client)
    append(log_file, b"before 1\nbefore 2\n")
    assert datas(await reader.take(2)) == ["before 1", "before 2"]
    shutil.copy(log_file, str(log_file) + ".1")
    with open(log_file, "r+b") as f:
        f.truncate(0)
    append(log_file, b"after\n")
    event = await reader.next()
    assert event["event"] == "truncated"
    assert json.loads(event["data"])["file"] == "app.log"
    assert (await reader.next())["data"] == "after"


async def test_rewritten_in_place_to_a_larger_size_is_noticed(http_server_client, log_file, mode):
    if mode == "poll":
        pytest.skip("the rewrite may fall between two polls only with inotify timing")
    reader = await stream(http_server_client)
    append(log_file, b"short\n")
    await reader.next()
    with open(log_file, "r+b") as f:  # truncate and regrow past the old position at once
        f.truncate(0)
        f.write(b"a much longer first line\n")
    event = await reader.next()
    assert event.get("event") == "truncated"
    assert (await reader.next())["data"] == "a much longer first line"


async def test_delete_then_recreate(http_server_client, log_file, mode):
    reader = await stream(http_server_client)
    append(log_file, b"one\n")
    await reader.next()
    os.remove(log_file)
    event = await reader.next()
    assert event["event"] == "missing"
    log_file.write_bytes(b"reborn\n")
    event = await reader.next()
    assert event["event"] == "appeared"
    assert (await reader.next())["data"] == "reborn"


async def test_parent_directory_removed_and_recreated(http_server_client, tmp_path, mode):
    directory = tmp_path / "logs"
    path = directory / "other.log"
    reader = await stream(http_server_client, "/events/other.log?lines=0")
    append(path, b"first\n")
    assert (await reader.next())["data"] == "first"
    shutil.rmtree(directory)
    assert (await reader.next())["event"] == "missing"
    directory.mkdir()
    path.write_bytes(b"second\n")
    assert (await reader.next())["event"] == "appeared"
    assert (await reader.next())["data"] == "second"
    append(path, b"third\n")
    assert (await reader.next())["data"] == "third"


async def test_symlink_retargeted(http_server_client, tmp_path, mode):
    reader = await stream(http_server_client, "/events/current.log?lines=0")
    append(tmp_path / "day1" / "d.log", b"day one\n")
    assert (await reader.next())["data"] == "day one"
    os.symlink(tmp_path / "day2" / "d.log", tmp_path / "tmp-link")
    os.rename(tmp_path / "tmp-link", tmp_path / "current.log")  # what ln -sfn does
    append(tmp_path / "day2" / "d.log", b"day two\n")
    assert (await reader.next())["event"] == "rotated"
    assert (await reader.next())["data"] == "day two"
    append(tmp_path / "day2" / "d.log", b"day two again\n")
    assert (await reader.next())["data"] == "day two again"


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_many_replacements_leak_nothing(http_server_client, log_file, mode):
    reader = await stream(http_server_client)
    append(log_file, b"warm up\n")
    await reader.next()
    app = http_server_client._http_server.request_callback
    channel = app.catalog.channels["app.log"]
    await wait_for(lambda: channel.source.follower.segment is not None)
    before = _fd_count()
    gone = log_file.parent / "g"
    for i in range(200):
        gone.write_bytes(b"")
        os.rename(gone, log_file)
        if i % 20 == 0:
            await asyncio.sleep(0)
    append(log_file, b"still here\n")
    await wait_for(
        lambda: (
            channel.source.follower.pos > 0
            and channel.source.follower.segment.ino == os.stat(log_file).st_ino
        )
    )
    got = []
    while "still here" not in got:
        got.append((await reader.next())["data"])
    response = await http_server_client.fetch("/healthz")
    assert response.code == 200
    # Only the few most recent rotated-away files stay open, for viewers still reading them.
    assert _fd_count() - before <= follower.Follower.KEEP_RETIRED
    assert len(app.catalog.fileset.watcher.watched_directories()) <= 4


async def test_resume_across_rotation_while_old_file_is_open(http_server_client, log_file, mode):
    reader = await stream(http_server_client)
    append(log_file, b"a\nb\n")
    first = await reader.take(2)
    append(log_file, b"c\n")
    os.rename(log_file, str(log_file) + ".1")
    log_file.write_bytes(b"d\n")
    assert datas(await reader.take(3)) == ["c", "d"]
    again = await stream(http_server_client, headers={"Last-Event-ID": first[0]["id"]})
    got = await again.take(4)
    assert [(e.get("event"), e["data"]) for e in got if e.get("event") != "rotated"] == [
        (None, "b"),
        (None, "c"),
        (None, "d"),
    ]
    assert [e.get("event") for e in got].count("rotated") == 1


async def test_resume_after_restart_finds_the_renamed_file(io_loop, log_file, mode, app_config):
    app = make_app(app_config)
    app.catalog.start()
    channel = app.catalog.channels["app.log"]
    append(log_file, b"a\nb\n")
    channel.source.wake()
    last_id = None
    with open(log_file, "rb") as f:
        seg = open_segment(str(log_file))
        lines, _ = read_lines(seg.fd, 0, None, 1 << 16, 1024)
        end = lines.ends[0]
        last_id = Position(seg.ino, end, seg.fingerprint(end)).event_id().decode()
        seg.close()
        f.close()
    app.catalog.close()
    # While no server runs: more lines, a rotation, lines in the new file.
    append(log_file, b"c\n")
    os.rename(log_file, str(log_file) + ".1")
    log_file.write_bytes(b"d\n")
    fresh = make_app(app_config)
    fresh.catalog.start()
    capture = CaptureTransport()
    sent = capture.sent

    fresh.catalog.channels["app.log"].subscribe(capture, last_id, 100)
    await wait_for(lambda: b"data: d" in b"".join(sent))
    text = b"".join(sent).decode()
    data = [ln[6:] for ln in text.splitlines() if ln.startswith("data: ") and not ln.startswith("data: {")]
    assert data == ["b", "c", "d"]
    assert "event: rotated" in text and "event: lost" not in text
    fresh.catalog.close()


async def test_position_gone_says_lost_and_starts_over(http_server_client, log_file, mode):
    reader = await stream(http_server_client)
    append(log_file, b"a\n")
    first = await reader.next()
    channel = http_server_client._http_server.request_callback.catalog.channels["app.log"]
    for _ in range(follower.Follower.KEEP_RETIRED + 1):  # push the old file out of memory
        os.rename(log_file, str(log_file) + ".old")
        os.remove(str(log_file) + ".old")
        log_file.write_bytes(b"x\ny\n")
        ino = os.stat(log_file).st_ino
        await wait_for(
            lambda ino=ino: channel.source.follower.segment and channel.source.follower.segment.ino == ino
        )
    again = await stream(http_server_client, headers={"Last-Event-ID": first["id"]})
    event = await again.next()
    assert event["event"] == "lost"
    assert datas(await again.take(2)) == ["x", "y"]


async def test_missing_at_start_then_appears(http_server_client, tmp_path, mode):
    reader = await stream(http_server_client, "/events/later.log")
    assert (await reader.next())["event"] == "missing"
    files = json.loads((await http_server_client.fetch("/api/files")).body)["files"]
    assert {f["name"]: f["state"] for f in files}["later.log"] == "missing"
    (tmp_path / "later.log").write_bytes(b"first line\nsecond\n")
    assert (await reader.next())["event"] == "appeared"
    assert datas(await reader.take(2)) == ["first line", "second"]
    files = json.loads((await http_server_client.fetch("/api/files")).body)["files"]
    assert {f["name"]: f["state"] for f in files}["later.log"] == "following"


async def test_missing_parent_directory_at_start(http_server_client, tmp_path, mode):
    reader = await stream(http_server_client, "/events/deep.log")
    assert (await reader.next())["event"] == "missing"
    (tmp_path / "not" / "yet").mkdir(parents=True)
    (tmp_path / "not" / "yet" / "deep.log").write_bytes(b"from the start\n")
    assert (await reader.next())["event"] == "appeared"
    assert (await reader.next())["data"] == "from the start"


async def test_unreadable_file_is_reported_then_followed(http_server_client, tmp_path, mode, monkeypatch):
    path = tmp_path / "later.log"
    denied = {"on": True}
    real_open = follower.open_segment

    def guarded(p):
        if denied["on"] and os.path.abspath(p) == str(path):
            raise PermissionError(13, "Permission denied", p)
        return real_open(p)

    monkeypatch.setattr(follower, "open_segment", guarded)
    reader = await stream(http_server_client, "/events/later.log")
    assert (await reader.next())["event"] == "missing"
    path.write_bytes(b"secret\n")
    event = await reader.next()
    assert event["event"] == "unreadable"
    assert json.loads(event["data"])["detail"] == "Permission denied"
    files = json.loads((await http_server_client.fetch("/api/files")).body)["files"]
    assert {f["name"]: f["state"] for f in files}["later.log"] == "unreadable"
    denied["on"] = False
    assert (await reader.next())["event"] == "appeared"
    assert (await reader.next())["data"] == "secret"


async def test_huge_line_is_cut_into_pieces_with_bounded_memory(http_server_client, log_file, mode):
    import tracemalloc

    # A client that keeps no copy of what it reads: only counts, ids and a short tail.
    seen = {"bytes": 0, "pieces": 0, "ids": [], "tail": b"", "started": False}
    done = asyncio.get_running_loop().create_future()

    def consume(chunk):
        buf = seen["tail"] + chunk
        *blocks, seen["tail"] = buf.split(b"\n\n")
        for block in blocks:
            if block.startswith(b"retry"):
                seen["started"] = True
                continue
            fields = dict(line.split(b": ", 1) for line in block.split(b"\n") if b": " in line)
            if fields.get(b"data") == b"after":
                done.set_result(None)
            elif b"data" in fields:
                seen["bytes"] += len(fields[b"data"])
                seen["pieces"] += 1
                seen["ids"].append(fields[b"id"].decode())

    http_server_client.fetch(
        "/events/app.log?lines=0", streaming_callback=consume, request_timeout=60, raise_error=False
    )
    await wait_for(lambda: seen["started"])
    line = b"x" * (10 * 1024 * 1024)
    tracemalloc.start()
    try:
        with open(log_file, "ab") as f:
            f.write(line)
            f.write(b"\nafter\n")
        await asyncio.wait_for(done, 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen["bytes"] == len(line)
    assert seen["pieces"] == len(line) // 4096
    assert all(i.endswith("-p") for i in seen["ids"][:-1])
    assert not seen["ids"][-1].endswith("-p")
    # Neither the line nor its events were ever all in memory at once.
    assert peak < 6 * 1024 * 1024, peak


async def test_safety_net_catches_lost_watch_events(http_server_client, log_file, mode, monkeypatch):
    monkeypatch.setattr(watch.Watcher, "_event", lambda self, *event: None)
    reader = await stream(http_server_client)
    append(log_file, b"no event for this\n")
    assert (await reader.next(2))["data"] == "no event for this"


# -- renames reported late (a starved inotify thread) -------------------------------------


class LateWatcher:
    """What the follower learns from the watcher, told by the test: renames arrive late."""

    def __init__(self) -> None:
        self.moves: list[str] = []  # where files renamed away from the path went, oldest first
        self.departed = 0  # renames away from the path reported so far

    def follower(self, path) -> follower.Follower:
        return follower.Follower(
            str(path),
            4096,
            moved_away=lambda p: [(m, 0) for m in self.moves] if p == str(path) else [],
            departures=lambda p: self.departed if p == str(path) else 0,
        )

    def report(self, *names: str) -> None:
        self.moves += names
        self.departed += len(names)


def _polled(fol) -> list[str]:
    """What one poll of the follower gave: notices by kind, lines by their text."""
    items, _ = fol.poll(1 << 20)
    out = []
    for item in items:
        if isinstance(item, follower.Change):
            out.append(item.kind)
        else:
            out += [data.decode() for data in item.lines.data]
    return out


def test_a_rename_not_reported_yet_is_waited_for(log_file):
    """app.log went to app.log.1, a new one (line y) to app.log.2, and a third is at the path,
    before the watcher reported any of it. The follower waits for the renames instead of
    going straight to the file at the path, then reads every generation in order."""
    late = LateWatcher()
    fol = late.follower(log_file)
    fol.start()
    base = str(log_file)
    append(log_file, b"x\n")
    assert _polled(fol) == ["x"]
    os.rename(base, base + ".1")
    log_file.write_bytes(b"y\n")
    os.rename(base, base + ".2")
    log_file.write_bytes(b"z\n")
    assert _polled(fol) == [] and fol.wait > 0  # app.log.1 still has a name: its rename is owed
    late.report(base + ".1", base + ".2")
    assert _polled(fol) == ["rotated", "y", "rotated", "z"]
    fol.close()


def test_a_generation_reported_after_a_newer_one_was_read_is_named_not_read_out_of_order(log_file):
    """The rename of app.log.2 (line y) is reported only after the follower has moved on to
    the file after it: reading it then would put y after z, so it is reported lost."""
    late = LateWatcher()
    fol = late.follower(log_file)
    fol.start()
    base = str(log_file)
    os.rename(base, base + ".1")
    log_file.write_bytes(b"y\n")
    os.rename(base, base + ".2")
    log_file.write_bytes(b"z\n")
    late.report(base + ".1")  # the second rename is still on its way
    assert _polled(fol) == ["rotated", "z"]
    os.rename(base, base + ".3")
    log_file.write_bytes(b"w\n")
    late.report(base + ".2", base + ".3")
    got = _polled(fol)
    assert "y" not in got and got[-2:] == ["rotated", "w"] and "lost" in got, got
    fol.close()
