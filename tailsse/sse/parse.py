"""Server-Sent Events parsing: bytes in, events out.

Follows the WHATWG event-stream interpretation rules: UTF-8 with replacement characters,
one BOM at the start skipped, CR, LF and CRLF as line ends (also when a CRLF is split
between two chunks), comments, one space after the colon removed, ``id`` values with NUL
ignored, ``retry`` only when all ASCII digits, ``data`` lines joined with LF, blocks with
no data not dispatched, and an event still incomplete at the end of the stream
discarded. This module is pure: it does no I/O and imports nothing outside the standard
library.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Event:
    """One dispatched event, as ``EventSource`` would hand it to a listener."""

    data: str
    type: str = "message"
    id: str = ""  # the stream's last event id when this event was dispatched


class EventStreamParser:
    """Incremental parser for one response body; feed it chunks split anywhere."""

    def __init__(self, last_event_id: str = "") -> None:
        # The id is seeded (not reset to "") so events without an id field keep the id
        # the client resumed from, as browsers carry it across reconnections.
        self.last_event_id = last_event_id
        self.retry: int | None = None
        self._id = last_event_id
        self._type = ""
        self._data: list[str] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._at_start = True
        self._skip_lf = False
        self._pending: list[str] = []

    def feed(self, chunk: bytes) -> list[Event]:
        """Parse the next bytes of the stream; return the events they completed."""
        text = self._decoder.decode(chunk)
        if not text:
            return []
        if self._at_start:
            self._at_start = False
            if text[0] == "\ufeff":
                text = text[1:]
        if self._skip_lf:
            # The previous chunk ended with CR; an LF now is the second half of a CRLF.
            self._skip_lf = False
            if text[:1] == "\n":
                text = text[1:]
        if "\r" not in text and "\n" not in text:
            # Joined once a line end arrives, so a long line in many chunks stays linear.
            if text:
                self._pending.append(text)
            return []
        if self._pending:
            self._pending.append(text)
            text = "".join(self._pending)
            self._pending = []
        events: list[Event] = []
        start = 0
        for match in _EOL.finditer(text):
            self._line(text[start : match.start()], events)
            start = match.end()
            if start == len(text) and match.group() == "\r":
                self._skip_lf = True
        if start < len(text):
            self._pending.append(text[start:])
        return events

    def end(self) -> None:
        """The stream ended: discard an unfinished line and an undispatched event."""
        self._pending = []
        self._data = []
        self._type = ""
        self._id = self.last_event_id

    def _line(self, line: str, events: list[Event]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line[0] == ":":
            return
        name, colon, value = line.partition(":")
        if colon and value[:1] == " ":
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._type = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry = int(value)

    def _dispatch(self, events: list[Event]) -> None:
        # The id applies even when the block carries no data (an id-only block moves the
        # resume point forward without an event).
        self.last_event_id = self._id
        if self._data:
            events.append(Event("\n".join(self._data), self._type or "message", self._id))
        self._data = []
        self._type = ""
