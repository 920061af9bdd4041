"""The line reader and follower: positions, chunk boundaries, backlog, rotation basics."""

from __future__ import annotations

import os
import zlib
from typing import NamedTuple

import pytest

from tailsse.following.follower import Batch, Change, Follower
from tailsse.following.lines import (
    FINGERPRINT_BYTES,
    Position,
    backlog_start,
    fingerprint,
    read_lines,
    split_lines,
)
from tailsse.following.segment import open_segment

SAMPLE = "alpha\r\nbé ta\ngamma ☕ δ\n\n".encode() + b"x\xffy\n"


class L(NamedTuple):
    end: int
    data: bytes
    complete: bool


def as_list(lines):
    pieces = lines.pieces or set()
    return [L(e, d, i not in pieces) for i, (e, d) in enumerate(zip(lines.ends, lines.data, strict=True))]


def lines_of(items):
    return [line for item in items if isinstance(item, Batch) for line in as_list(item.lines)]


def texts(lines):
    if not isinstance(lines, list):
        lines = as_list(lines)
    return [line.data.decode("utf-8") for line in lines]


def follow_writes(tmp_path, pieces, max_line=1024):
    """Write pieces one at a time, polling the follower after each; return all lines."""
    path = tmp_path / "f.log"
    path.write_bytes(b"")
    follower = Follower(str(path), max_line)
    follower.start()
    got = []
    try:
        for piece in pieces:
            with open(path, "ab") as f:
                f.write(piece)
            items, more = follower.poll(1 << 20)
            assert not more
            got += lines_of(items)
    finally:
        follower.close()
    return got


EXPECTED = ["alpha", "bé ta", "gamma ☕ δ", "", "x\ufffdy"]


@pytest.mark.parametrize("cut", range(len(SAMPLE) + 1))
def test_every_single_split_point_gives_the_same_lines(tmp_path, cut):
    got = follow_writes(tmp_path, [SAMPLE[:cut], SAMPLE[cut:]])
    assert texts(got) == EXPECTED
    assert [line.end for line in got] == [7, 14, 27, 28, 32]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_byte_sized_writes(tmp_path, size):
    pieces = [SAMPLE[i : i + size] for i in range(0, len(SAMPLE), size)]
    assert texts(follow_writes(tmp_path, pieces)) == EXPECTED


def test_one_read_completing_a_partial_and_starting_another(tmp_path):
    got = follow_writes(tmp_path, [b"first par", b"t\nsecond\nthi", b"rd\n"])
    assert texts(got) == ["first part", "second", "third"]


def test_partial_line_is_held_until_its_newline(tmp_path):
    path = tmp_path / "f.log"
    path.write_bytes(b"")
    follower = Follower(str(path), 1024)
    follower.start()
    with open(path, "ab") as f:
        f.write(b"no newline yet")
    items, _ = follower.poll(1 << 20)
    assert lines_of(items) == []
    with open(path, "ab") as f:
        f.write(b", now\n")
    items, _ = follower.poll(1 << 20)
    assert texts(lines_of(items)) == ["no newline yet, now"]
    follower.close()


@pytest.mark.parametrize("cut", range(1, 4))
def test_multibyte_character_split_between_writes(tmp_path, cut):
    char = "☕".encode()  # three bytes
    got = follow_writes(tmp_path, [b"cup " + char[:cut], char[cut:] + b" ok\n"])
    assert texts(got) == ["cup ☕ ok"]


def test_over_long_line_is_cut_into_pieces_without_splitting_characters():
    line = ("é" * 100).encode()  # 200 bytes
    lines, end = split_lines(line + b"\n", 0, 0, 63)
    lines = as_list(lines)
    assert end == 201
    assert all(len(p.data) <= 63 for p in lines)
    assert b"".join(p.data for p in lines) == line
    assert [p.complete for p in lines] == [False, False, False, True]
    assert all(p.data.decode("utf-8") for p in lines)


def test_pieces_are_the_same_however_the_line_arrives(tmp_path):
    line = b"0123456789" * 30 + b"\n"
    at_once = follow_writes(tmp_path, [line], max_line=64)
    os.remove(tmp_path / "f.log")
    trickled = follow_writes(tmp_path, [line[i : i + 7] for i in range(0, len(line), 7)], max_line=64)
    assert [(p.end, p.data) for p in at_once] == [(p.end, p.data) for p in trickled]


def test_read_lines_stops_at_a_known_boundary(tmp_path):
    path = tmp_path / "f.log"
    path.write_bytes(b"one\ntwo\nthree\npartial")
    fd = os.open(path, os.O_RDONLY)
    try:
        lines, end = read_lines(fd, 4, 14, 1 << 16, 1024)
        assert texts(lines) == ["two", "three"] and end == 14
        assert lines.ends == [8, 14]
        lines, end = read_lines(fd, 0, None, 1 << 16, 1024)
        assert texts(lines) == ["one", "two", "three"] and end == 14
        lines, end = read_lines(fd, 0, None, 5, 1024)  # small reads still progress
        assert texts(lines)[0] == "one"
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("content", "count", "expected"),
    [
        (b"a\nb\nc\n", 2, 2),
        (b"a\nb\nc\n", 3, 0),
        (b"a\nb\nc\n", 10, 0),
        (b"a\nb\nc\n", 0, 6),
        (b"a\nb\nc\n", 1, 4),
        (b"\n\n\n", 2, 1),
    ],
)
def test_backlog_start(tmp_path, content, count, expected):
    path = tmp_path / "f.log"
    path.write_bytes(content)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert backlog_start(fd, len(content), count, block=2) == expected
        assert backlog_start(fd, len(content), count) == expected
    finally:
        os.close(fd)


def test_backlog_reads_from_the_end_not_the_whole_file(tmp_path, monkeypatch):
    path = tmp_path / "big.log"
    with open(path, "wb") as f:
        f.truncate(1 << 30)  # a sparse 1 GiB file: reading it all would take long
        f.seek(1 << 30)
        f.write(b"".join(b"line %d\n" % i for i in range(200)))
    size = os.path.getsize(path)
    read = []
    real_pread = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, off: read.append(n) or real_pread(fd, n, off))
    fd = os.open(path, os.O_RDONLY)
    try:
        start = backlog_start(fd, size, 100)
    finally:
        os.close(fd)
    assert sum(read) <= 65536
    with open(path, "rb") as f:
        f.seek(start)
        assert f.read().split(b"\n")[0] == b"line 100"


def test_position_ids_round_trip_and_reject_garbage():
    pos = Position(0x1A2B, 12345, 0xDEADBEEF)
    assert pos.event_id() == b"1a2b-12345-deadbeef"
    assert pos.event_id(piece=True) == b"1a2b-12345-deadbeef-p"
    assert Position.parse("1a2b-12345-deadbeef") == pos
    assert Position.parse("1a2b-12345-deadbeef-p") == pos
    for bad in ["", "garbage", "1-2", "x-1-2", "1--2-3", "1-2-3\n4", "-1-2-3", "1-" + "9" * 40 + "-3"]:
        assert Position.parse(bad) is None


def test_fingerprint_covers_the_first_bytes_up_to_the_offset(tmp_path):
    path = tmp_path / "f.log"
    path.write_bytes(b"hello\n" + b"x" * 100 + b"\n")
    seg = open_segment(str(path))
    try:
        assert seg.fingerprint(6) == zlib.crc32(b"hello\n")
        assert seg.fingerprint(107) == zlib.crc32((b"hello\n" + b"x" * 100)[:FINGERPRINT_BYTES])
        assert seg.fingerprint(107) == seg.fingerprint(80)  # the same past the first bytes
        # The same file written again with other content is told apart.
        path.write_bytes(b"HELLO\n" + b"x" * 100 + b"\n")
        assert fingerprint(seg.fd, 6) != zlib.crc32(b"hello\n")
    finally:
        seg.close()


def test_start_skips_existing_content_but_keeps_a_trailing_partial(tmp_path):
    path = tmp_path / "f.log"
    path.write_bytes(b"old\nold too\npart")
    follower = Follower(str(path), 1024)
    follower.start()
    with open(path, "ab") as f:
        f.write(b"ial\nnew\n")
    items, _ = follower.poll(1 << 20)
    assert texts(lines_of(items)) == ["partial", "new"]
    follower.close()


def test_truncation_and_rename_are_reported(tmp_path):
    path = tmp_path / "f.log"
    path.write_bytes(b"")
    follower = Follower(str(path), 1024)
    follower.start()
    with open(path, "ab") as f:
        f.write(b"one\ntwo\n")
    follower.poll(1 << 20)
    with open(path, "wb") as f:
        f.write(b"x\n")
    items, _ = follower.poll(1 << 20)
    assert [i.kind for i in items if isinstance(i, Change)] == ["truncated"]
    assert texts(lines_of(items)) == ["x"]
    with open(path, "ab") as f:
        f.write(b"last of old\n")
    os.rename(path, tmp_path / "f.log.1")
    path.write_bytes(b"first of new\n")
    items, _ = follower.poll(1 << 20)
    kinds = [("change", i.kind) if isinstance(i, Change) else ("lines", texts(i.lines)) for i in items]
    assert kinds == [("lines", ["last of old"]), ("change", "rotated"), ("lines", ["first of new"])]
    follower.close()
