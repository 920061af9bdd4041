"""Byte-exact SSE framing."""

import pytest

from tailsse.sse import encode as sse


@pytest.mark.parametrize(
    ("data", "kwargs", "expected"),
    [
        (b"hello", {}, b"data: hello\n\n"),
        (b"", {}, b"data: \n\n"),
        (b"x", {"id": b"1-2-3"}, b"id: 1-2-3\ndata: x\n\n"),
        (b"x", {"name": b"rotated", "id": b"a"}, b"event: rotated\nid: a\ndata: x\n\n"),
        (b"a\nb", {}, b"data: a\ndata: b\n\n"),
        (b"a\r\nb", {}, b"data: a\ndata: b\n\n"),
        (b"a\revent: x", {}, b"data: a\ndata: event: x\n\n"),
        (b"nul\x00byte", {}, b"data: nul\x00byte\n\n"),
        (b" leading space", {}, b"data:  leading space\n\n"),
    ],
)
def test_event_frames(data, kwargs, expected):
    assert sse.event(data, **kwargs) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"plain", b"id: 7\ndata: plain\n\n"),
        (b"a\revent: x", b"id: 7\ndata: a\ndata: event: x\n\n"),
        (b"\r", b"id: 7\ndata: \ndata: \n\n"),
        (b"", b"id: 7\ndata: \n\n"),
    ],
)
def test_one_numbered_event(line, expected):
    assert sse.numbered_events(b"", [7], b"", [line]) == expected


def test_cr_in_line_never_starts_a_field():
    frame = sse.numbered_events(b"", [1], b"", [b"a\revent: x\rid: 9\rretry: 1"])
    assert b"\r" not in frame
    for wire_line in frame.split(b"\n"):
        assert wire_line == b"" or wire_line.startswith((b"id: 1", b"data: "))


@pytest.mark.parametrize("bad", [b"a\nb", b"a\rb", b"a b", b"\xff"])
def test_unsafe_ids_and_names_are_refused(bad):
    with pytest.raises(ValueError):
        sse.event(b"x", id=bad)
    with pytest.raises(ValueError):
        sse.event(b"x", name=bad or b"x y")


def test_comment_and_retry():
    assert sse.comment() == b":\n"
    assert sse.comment(b"ping") == b": ping\n"
    assert sse.retry(1500) == b"retry: 1500\n\n"
    with pytest.raises(ValueError):
        sse.comment(b"a\nb")
    with pytest.raises(ValueError):
        sse.retry(-1)


def test_numbered_events():
    frames = sse.numbered_events(b"ab-", [10, 25], b"-f", [b"one", b"two\rthree"])
    assert frames == b"id: ab-10-f\ndata: one\n\nid: ab-25-f\ndata: two\ndata: three\n\n"
    assert sse.numbered_events(b"a-", [], b"", []) == b""
    with pytest.raises(ValueError):
        sse.numbered_events(b"a b", [1], b"", [b"x"])
