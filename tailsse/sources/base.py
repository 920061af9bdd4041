"""What a source of positioned lines offers, what a viewer's stream is, and the notices.

A *source* is one log — a followed file with its rotated generations, or a Redis stream
that an agent fills — whose every line has a position that an event id names. The
fan-out (:mod:`tailsse.sources.fanout`) serves any number of viewers from a source
through this interface alone; the HTTP layer sees only :class:`Channel`.

A *cursor* is a source's own position type: where a viewer reading at its own pace is.
The fan-out never looks inside one.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from tailsse.sse import encode as sse

if TYPE_CHECKING:
    from tailsse.history.query import Query

# What each notice event says; its event name is the key (``*-lost`` are sent as ``lost``).
MESSAGES = {
    "appeared": "the file appeared; following it from its first byte",
    "missing": "the file is missing; waiting for it to appear",
    "rotated": "the file was replaced (rotated); following the new file from its first byte",
    "truncated": "the file was truncated; following it again from its first byte",
    "unreadable": "the file cannot be read",
    "lost": "the position to resume from is no longer in the file; starting from the first byte",
    "resume-lost": "the position to resume from is older than the lines kept in Redis; "
    "continuing from the oldest line kept",
    "behind-lost": "this viewer fell further behind than the lines kept in Redis; "
    "continuing from the oldest line kept",
    "unavailable": "Redis cannot be reached; retrying (lines are delayed, not lost)",
    "available": "Redis can be reached again",
}


def notice(name: str, kind: str, detail: str = "", event_id: bytes | None = None) -> bytes:
    """An event about the log itself (rotated, missing…), named after what happened."""
    message = MESSAGES.get(kind)
    if message is None:
        return b""
    body = {"file": name, "message": message}
    if detail:
        body["detail"] = detail
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return sse.event(data, id=event_id, name=b"lost" if kind.endswith("-lost") else kind.encode())


class Payload:
    """One encoded batch for every viewer at the head; transports may cache a framing."""

    __slots__ = ("data", "framed")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.framed: bytes | None = None


class Transport(Protocol):
    """Where one viewer's stream is written (an HTTP response, in practice)."""

    def send(self, data: bytes) -> Awaitable[None] | None:
        """Write now; returns what to await for the bytes to reach the socket."""
        ...

    def push(self, payload: Payload) -> None:
        """Write a batch shared with other viewers."""
        ...

    def buffered(self) -> int:
        """Bytes written but not yet taken by the socket."""
        ...

    def closed(self) -> bool: ...

    def close(self) -> None: ...


@dataclass
class HistoryLine:
    """A line read back from a source: the id a stream gives it, and its text."""

    id: str
    text: str


@dataclass
class LinesPage:
    """Lines next to a position, oldest first; ``more``: others follow in that direction."""

    lines: list[HistoryLine]
    more: bool


@dataclass
class SearchPage:
    """Matching lines, newest first; where the next request continues; bytes scanned and in all."""

    matches: list[HistoryLine] | RawJSON | None  # RawJSON: the answer's list, encoded where it
    next: str | None  # was found; None: written to the request's MatchesOut
    scanned: int
    size: int | None


class MatchesOut(Protocol):
    """The connection of a search's client, that the matches may be written to directly, as
    one chunk of its HTTP/1.1 answer, by the process that found them: the server then never
    handles them (see :mod:`tailsse.history.scanner`)."""

    def fileno(self) -> int:
        """The client's socket."""
        ...

    def open(self) -> Awaitable[None]:
        """Sends what comes before the matches; from then on the socket is the writer's
        until the search returns."""
        ...

    def untouched(self) -> bool:
        """Whether nothing was written to the socket since :meth:`open` (False: cannot tell)."""
        ...


class AnswerCut(RuntimeError):
    """An answer begun on a MatchesOut cannot be finished: its matches may be cut short (the
    client took no more, or their writer died while writing). The connection must end."""


class RawJSON:
    """A JSON value encoded already (UTF-8), put into an answer as it is: the bytes are
    not copied, decoded or encoded again on the way."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


@dataclass
class TimeFound:
    """The first line at or after a time (None: every line is older) and the time it has."""

    line: HistoryLine | None
    time: float | None


class HistoryError(ValueError):
    """A history request that cannot be answered, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class Sink(Protocol[C_contra]):
    """What a source reports its head to: the fan-out of its viewers."""

    def publish(self, data: bytes, before: C_contra | None) -> None:
        """New events at the head; ``before`` is where the head was (None: nowhere to read from)."""
        ...

    def broadcast(self, data: bytes) -> None:
        """A notice for every viewer, wherever it is."""
        ...

    def tell_behind(self, data: bytes) -> None:
        """A notice for the viewers not at the head (at the head, it came with a batch)."""
        ...

    def viewers(self) -> int:
        """How many streams are open."""
        ...


class History(Protocol):
    """A log's past, by position (see :mod:`tailsse.history`): what ``/api/lines`` etc. ask."""

    def lines(self, anchor: str | None, forward: bool, count: int) -> Awaitable[LinesPage]:
        """Up to ``count`` lines after the id ``anchor`` (``forward``) or ending at or before it.

        Without an anchor: from the first line kept (forward) or back from the head.
        Raises :class:`HistoryError` for an id that is not one (400) or whose line is gone (410).
        """
        ...

    def search(
        self, query: Query, before: str | None, limit: int, out: MatchesOut | None = None
    ) -> Awaitable[SearchPage]:
        """Lines matching ``query`` at or before ``before`` (None: the head), newest first.

        Does a bounded amount of work; ``next`` says where to continue. The matches may be
        written to ``out`` instead of returned (where that spares the server the work).
        """
        ...

    def find_time(self, moment: float) -> Awaitable[TimeFound]:
        """The first line whose own time is at or after ``moment`` (seconds since the epoch).

        Raises :class:`HistoryError` (422) when the log has no recognisable times.
        """
        ...


class Source(Protocol[C]):
    """One log whose lines have positions: the head, reading at a viewer's pace, history."""

    @property
    def name(self) -> str: ...

    @property
    def past(self) -> History:
        """The log's history, search and time (``/api/lines`` and the others)."""
        ...

    def bind(self, sink: Sink[C]) -> None:
        """Say where new lines at the head go (once, before anything else)."""
        ...

    def open(self, last_event_id: str | None, backlog: int) -> tuple[bytes, C | None]:
        """Where a new viewer starts: after ``last_event_id``, or ``backlog`` lines before the head.

        Returns notices to send first (``lost``, ``missing``…) and the cursor to read from,
        or None to join the head at once. Must not publish: the fan-out calls
        :meth:`refresh` just before, and places the viewer right after.
        """
        ...

    def refresh(self) -> None:
        """Publish what is new now (a local file is read; a remote source may do nothing)."""
        ...

    def locate(self, event_id: str) -> C | None:
        """The cursor just after the line an id names, if that position still exists."""
        ...

    def at_head(self, cursor: C) -> bool:
        """Whether a viewer at ``cursor`` has read everything before the head (it joins it)."""
        ...

    def read(self, cursor: C) -> Awaitable[tuple[bytes, C]]:
        """The next encoded events after ``cursor`` (a bounded amount), and the cursor after them."""
        ...

    def hold(self, cursor: C) -> C:
        """One more reader of ``cursor`` (a file stays open while someone reads it)."""
        ...

    def release(self, cursor: C) -> None:
        """A reader of ``cursor`` is done with it."""
        ...

    def close(self) -> None:
        """Stop following; viewers are ended by the fan-out."""
        ...


class Viewer(Protocol):
    """One open stream, as its transport knows it."""

    def leave(self) -> None:
        """The connection closed: forget the stream."""
        ...


class Channel(Protocol):
    """What the HTTP layer needs of one source's fan-out."""

    @property
    def name(self) -> str: ...

    @property
    def history(self) -> History:
        """The source, for history, search and time requests."""
        ...

    def subscribe(self, transport: Transport, last_event_id: str | None, backlog: int) -> Viewer:
        """Start a stream: resume after ``last_event_id`` or send ``backlog`` lines first."""
        ...

    def ping_idle(self, deadline: float, ping: bytes) -> None:
        """Send ``ping`` to every stream that has written nothing since ``deadline``."""
        ...

    def viewers(self) -> int:
        """How many streams are open."""
        ...

    def close(self) -> None:
        """End every stream and stop the source."""
        ...
