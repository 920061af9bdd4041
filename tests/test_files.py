"""Which files are served and what they are called; directories and globs that grow."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest

from tailsse.following.paths import expand, name_files, safe_name
from tailsse.sources import files as file_sources
from tailsse.webapp.app import make_app
from tests.conftest import TEST_CONFIG, CaptureTransport, append, open_stream


def test_names_are_basenames_when_unique(tmp_path):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    assert name_files([str(a), str(b)]) == {"a.log": str(a), "b.log": str(b)}


def test_clashing_basenames_get_their_parent(tmp_path):
    one, two = tmp_path / "web" / "app.log", tmp_path / "db" / "app.log"
    assert name_files([str(one), str(two)]) == {"web-app.log": str(one), "db-app.log": str(two)}


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("app.log", "app.log"),
        ("my app (1).log", "my_app_1_.log"),
        ("..", "file"),
        ("é.log", "_.log"),
        ("../x", "_x"),
    ],
)
def test_names_are_url_safe(raw, safe):
    assert safe_name(raw) == safe


def test_expand_files_globs_and_directories(tmp_path):
    (tmp_path / "d").mkdir()
    for name in ("d/x.log", "d/y.txt", "a.log", "b.log"):
        (tmp_path / name).write_text("")
    (tmp_path / "d" / "sub").mkdir()
    got = expand([str(tmp_path / "*.log"), str(tmp_path / "d"), str(tmp_path / "missing.log")])
    assert got == [
        str(tmp_path / "a.log"),
        str(tmp_path / "b.log"),
        str(tmp_path / "d" / "x.log"),
        str(tmp_path / "d" / "y.txt"),
        str(tmp_path / "missing.log"),
    ]


@pytest.fixture
def app_config(tmp_path):
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "first.log").write_bytes(b"")
    (tmp_path / "g1.log").write_bytes(b"")
    return replace(
        TEST_CONFIG,
        paths=(str(tmp_path / "served"), str(tmp_path / "g*.log")),
        check_interval=30,  # only watch events can find new files quickly
    )


async def files_now(client):
    return json.loads((await client.fetch("/api/files")).body)["files"]


async def wait_for_names(client, names, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        got = [f["name"] for f in await files_now(client)]
        if set(names) <= set(got) or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.02)


async def test_new_files_in_a_served_directory_are_picked_up(http_server_client, tmp_path):
    assert [f["name"] for f in await files_now(http_server_client)] == ["first.log", "g1.log"]
    (tmp_path / "served" / "second.log").write_bytes(b"hello\n")
    (tmp_path / "g2.log").write_bytes(b"")
    (tmp_path / "other.txt").write_bytes(b"not served\n")
    got = await wait_for_names(http_server_client, ["second.log", "g2.log"])
    assert sorted(got) == ["first.log", "g1.log", "g2.log", "second.log"]
    reader, _ = open_stream(http_server_client, "/events/second.log")
    assert (await reader.next())["data"] == "hello"
    append(tmp_path / "served" / "second.log", b"more\n")
    assert (await reader.next())["data"] == "more"
    missing = await http_server_client.fetch("/events/other.txt", raise_error=False)
    assert missing.code == 404


async def test_a_clashing_new_file_gets_a_distinct_stable_name(http_server_client, tmp_path):
    (tmp_path / "g_first.log").write_bytes(b"")  # matches the glob, basename is new
    (tmp_path / "sub").mkdir()
    got = await wait_for_names(http_server_client, ["g_first.log"])
    assert "first.log" in got and "g_first.log" in got


async def test_lines_written_between_backlog_read_and_following_are_not_lost(io_loop, log_file, monkeypatch):
    """A line appended just after the backlog was found still reaches the client."""
    real = file_sources.backlog_start

    def backlog_then_write(fd, end, count):
        start = real(fd, end, count)
        append(log_file, b"in the gap\n")
        return start

    monkeypatch.setattr(file_sources, "backlog_start", backlog_then_write)
    append(log_file, b"old 1\nold 2\n")
    config = replace(TEST_CONFIG, paths=(str(log_file),), check_interval=60)
    app = make_app(config)
    capture = CaptureTransport()
    sent = capture.sent

    app.catalog.start()
    app.catalog.channels["app.log"].subscribe(capture, None, 5)
    deadline = time.monotonic() + 3
    while b"in the gap" not in b"".join(sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    app.catalog.close()
    data = [ln for ln in b"".join(sent).split(b"\n") if ln.startswith(b"data: ")]
    assert data == [b"data: old 1", b"data: old 2", b"data: in the gap"]
