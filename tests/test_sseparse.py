"""The event-stream parser, fed byte streams split at every possible chunk boundary."""

from __future__ import annotations

import itertools

import pytest

from tailsse.sse import encode as sse
from tailsse.sse.parse import Event, EventStreamParser

BOM = b"\xef\xbb\xbf"

# (name, stream, expected events, last event id at the end, retry at the end)
CASES = [
    ("lf", b"data: a\n\ndata: b\n\n", [Event("a"), Event("b")], "", None),
    ("cr", b"data: a\r\rdata: b\r\r", [Event("a"), Event("b")], "", None),
    ("crlf", b"data: a\r\n\r\ndata: b\r\n\r\n", [Event("a"), Event("b")], "", None),
    (
        "mixed line ends",
        b"data:a\r\ndata:b\rdata:c\n\r\ndata: d\n\r",
        [Event("a\nb\nc"), Event("d")],
        "",
        None,
    ),
    ("cr then lf is one line end", b"data: a\r\ndata: b\r\n\n", [Event("a\nb")], "", None),
    ("lf then cr is two", b"data: a\n\rdata: b\n\n", [Event("a"), Event("b")], "", None),
    ("bom stripped", BOM + b"data: x\n\n", [Event("x")], "", None),
    ("bom stripped once", BOM + BOM + b"data: x\n\ndata: y\n\n", [Event("y")], "", None),
    ("bom later is data", b"data: " + BOM + b"x\n\n", [Event("\ufeffx")], "", None),
    ("comments", b": hi\n\n:\ndata: a\n: mid\ndata: b\n\n: tail\n", [Event("a\nb")], "", None),
    ("one space removed", b"data:  two\ndata:none\ndata: \n\n", [Event(" two\nnone\n")], "", None),
    ("no colon is an empty value", b"data\ndata\n\n", [Event("\n")], "", None),
    ("empty data is dispatched", b"data:\n\n", [Event("")], "", None),
    ("colon inside value", b"data: a: b:c\n\n", [Event("a: b:c")], "", None),
    ("data lines joined", b"data: a\ndata:\ndata: c\n\n", [Event("a\n\nc")], "", None),
    ("no data, no event", b"event: x\n\nid: 3\n\n", [], "3", None),
    ("event type reset", b"event: x\n\ndata: y\n\n", [Event("y", "message")], "", None),
    ("event type", b"event: add\ndata: 1\n\ndata: 2\n\n", [Event("1", "add"), Event("2")], "", None),
    ("empty event type", b"event:\ndata: 1\n\n", [Event("1")], "", None),
    (
        "id persists",
        b"id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n",
        [Event("a", id="1"), Event("b", id="1"), Event("c", id="")],
        "",
        None,
    ),
    (
        "id with nul ignored",
        b"id: a\ndata: x\n\nid: b\x00c\ndata: y\n\n",
        [Event("x", id="a"), Event("y", id="a")],
        "a",
        None,
    ),
    ("id only moves the resume point", b"data: x\n\nid: 7\n\n", [Event("x")], "7", None),
    ("id of an unfinished event", b"id: 1\ndata: x\n\nid: 2\ndata: y\n", [Event("x", id="1")], "1", None),
    ("retry", b"retry: 1500\n\n", [], "", 1500),
    ("retry last wins", b"retry: 10\nretry: 20\n", [], "", 20),
    ("retry not digits", b"retry: 15x\nretry: -1\nretry: 1.5\nretry:\nretry:  5\n", [], "", None),
    ("retry non-ascii digits", "retry: \u0661\u0662\n".encode(), [], "", None),
    ("retry keeps a valid value", b"retry: 300\nretry: x\n\n", [], "", 300),
    ("unknown fields", b"foo: bar\nData: no\nDATA: no\ndata: x\n\n", [Event("x")], "", None),
    ("incomplete event discarded", b"data: a\n\ndata: b\n", [Event("a")], "", None),
    ("incomplete line discarded", b"data: a\n\ndata: b", [Event("a")], "", None),
    ("multi-byte characters", "data: é€😀\n\n".encode(), [Event("é€😀")], "", None),
    ("invalid utf-8 replaced", b"data: a\xffb\xe2\x82\n\n", [Event("a\ufffdb\ufffd")], "", None),
    ("nul in data", b"data: a\x00b\n\n", [Event("a\x00b")], "", None),
    ("tab and control", b"data: \ta\x1b[31mb\n\n", [Event("\ta\x1b[31mb")], "", None),
]


def parse(chunks: list[bytes]) -> tuple[list[Event], str, int | None]:
    parser = EventStreamParser()
    events: list[Event] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    parser.end()
    return events, parser.last_event_id, parser.retry


def cases():
    return pytest.mark.parametrize(
        ("stream", "events", "last_id", "retry"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
    )


@cases()
def test_whole_stream(stream, events, last_id, retry):
    assert parse([stream]) == (events, last_id, retry)


@cases()
def test_every_split_point(stream, events, last_id, retry):
    for cut in range(len(stream) + 1):
        assert parse([stream[:cut], stream[cut:]]) == (events, last_id, retry), cut


@cases()
def test_every_pair_of_split_points(stream, events, last_id, retry):
    for a, b in itertools.combinations(range(len(stream) + 1), 2):
        assert parse([stream[:a], stream[a:b], stream[b:]]) == (events, last_id, retry), (a, b)


@cases()
def test_byte_by_byte(stream, events, last_id, retry):
    assert parse([stream[i : i + 1] for i in range(len(stream))]) == (events, last_id, retry)


def test_events_arrive_as_soon_as_complete():
    parser = EventStreamParser()
    assert parser.feed(b"data: a\n") == []
    assert parser.feed(b"\n") == [Event("a")]
    # A lone CR ends the line at once; it does not wait to see whether an LF follows.
    assert parser.feed(b"data: b\r\r") == [Event("b")]
    assert parser.feed(b"\ndata: c\n\n") == [Event("c")]


def test_seeded_last_event_id_carries_over():
    parser = EventStreamParser("41")
    assert parser.feed(b"data: a\n\nid: 42\ndata: b\n\n") == [Event("a", id="41"), Event("b", id="42")]
    assert parser.last_event_id == "42"


def test_end_discards_the_pending_event():
    parser = EventStreamParser()
    assert parser.feed(b"id: 5\ndata: a\n") == []
    parser.end()
    assert parser.feed(b"\n") == []
    assert parser.last_event_id == ""


def test_long_line_in_many_chunks():
    parser = EventStreamParser()
    body = b"x" * 100_000
    for i in range(0, len(body), 7):
        assert parser.feed((b"data: " if i == 0 else b"") + body[i : i + 7]) == []
    assert parser.feed(b"\n\n") == [Event(body.decode())]


LINES = [
    b"plain",
    b"",
    b"  spaced",
    b"data: fake",
    b": not a comment",
    b"id: x",
    b"caf\xc3\xa9 \xe2\x82\xac",
    b"a\rb",
]


def test_reads_what_tailsse_encodes():
    stream = (
        sse.retry(1000)
        + sse.comment(b"hi")
        + b"".join(sse.numbered_events(b"f-", [i], b"", [line]) for i, line in enumerate(LINES))
    )
    stream += sse.event(b"gone", name=b"rotated")
    expected = [Event(line.decode().replace("\r", "\n"), id=f"f-{i}") for i, line in enumerate(LINES)]
    expected.append(Event("gone", "rotated", f"f-{len(LINES) - 1}"))
    for cut in range(len(stream) + 1):
        assert parse([stream[:cut], stream[cut:]]) == (expected, f"f-{len(LINES) - 1}", 1000), cut
