"""The reconnecting loop of ``tailsse follow``: print a stream, resume where it broke off.

Data goes to stdout, flushed as soon as it arrives; every status message goes to stderr.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import BinaryIO, TextIO

from tailsse.client.http import FollowError, Response, Target, open_stream, wait_readable
from tailsse.sources.merged_ids import is_merged, split_line
from tailsse.sse.parse import Event, EventStreamParser

DEFAULT_RETRY_MS = 3000  # the wait before reconnecting until the server sends retry:
MAX_BACKOFF_MS = 30_000  # repeated failed reconnections wait longer, up to this
PROG = "tailsse follow"


class Printer:
    """Writes what the user asked to see, flushed as each piece arrives."""

    def __init__(
        self, out: BinaryIO, mode: str, notice: Callable[[str], None] | None = None, label: bool = True
    ) -> None:
        self.out = out
        self.mode = mode
        self.notice = notice
        self.label = label  # in a merged stream, each line led by its file's name
        self._piece: list[str] = []  # a long line's first pieces, until its last one

    def chunk(self, data: bytes, events: list[Event]) -> None:
        """Print one received piece of the body and the events it completed."""
        if self.mode == "raw":
            self._write(data)
        elif self.mode == "json":
            self._write(
                "".join(
                    json.dumps({"event": e.type, "id": e.id, "data": e.data}, ensure_ascii=False) + "\n"
                    for e in events
                ).encode("utf-8")
            )
        elif self.mode == "events":
            self._write(
                "".join(
                    f"{e.type}\t{e.id or '-'}\t{line}\n" for e in events for line in e.data.split("\n")
                ).encode("utf-8")
            )
        else:
            self._lines(events)

    def _lines(self, events: list[Event]) -> None:
        # Plain output is the log itself: named events (tailsse's notices about the file)
        # go to stderr, and a line tailsse sent in pieces (ids ending in -p) is rejoined.
        text: list[str] = []
        for event in events:
            if event.type != "message":
                if self._piece:
                    # The rest of that long line will not come (the file changed under it).
                    text += (*self._piece, "\n")
                    self._piece = []
                self._write("".join(text).encode("utf-8"))
                text = []
                if self.notice is not None:
                    self.notice(describe(event))
            else:
                line, piece = self._line(event)
                if piece:
                    self._piece.append(line)
                    continue
                text += self._piece
                text += (line, "\n")
                self._piece = []
        self._write("".join(text).encode("utf-8"))

    def _line(self, event: Event) -> tuple[str, bool]:
        """A line event's text (labelled with its file in a merged stream), and whether it is a piece."""
        if not is_merged(event.id):
            return event.data, event.id.endswith("-p")
        name, text, piece = split_line(event.id, event.data)
        if self.label and not self._piece:
            text = f"{name} | {text}"
        return text, piece

    def _write(self, payload: bytes) -> None:
        if payload:
            self.out.write(payload)
            self.out.flush()


def describe(event: Event) -> str:
    """One line about a named event, e.g. tailsse's ``rotated`` notice."""
    try:
        body = json.loads(event.data)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        text = f"{body.get('file', event.type)}: {body['message']}"
        return text + (f" ({body['detail']})" if body.get("detail") else "")
    return f"{event.type}: " + " ".join(event.data.splitlines())


class Follower:
    """The reconnecting loop of ``tailsse follow``."""

    def __init__(
        self,
        target: Target,
        out: BinaryIO,
        mode: str,
        err: TextIO,
        quiet: bool = False,
        watch_fd: int | None = None,
        label: bool = True,
    ) -> None:
        self.target = target
        self.printer = Printer(out, mode, self.status, label)
        self.err = err
        self.last_event_id = target.last_event_id
        self.quiet = quiet
        self.watch_fd = watch_fd
        self.retry_ms = DEFAULT_RETRY_MS

    def status(self, message: str) -> None:
        """A progress message on stderr (unless --quiet)."""
        if not self.quiet:
            print(f"{PROG}: {message}", file=self.err, flush=True)

    def run(self) -> int:
        """Follow until a clean end (0) or a failure that retrying cannot fix (1)."""
        streamed = False
        failures = 0
        while True:
            try:
                response = open_stream(self.target, self.last_event_id, self.watch_fd)
            except FollowError as exc:
                # The first attempt fails fast (a typo, a server not running); once the
                # stream worked, outages are waited out as EventSource does.
                if not (streamed and exc.retryable):
                    print(f"{PROG}: {exc}", file=self.err, flush=True)
                    return 1
                failures += 1
                delay = min(self.retry_ms * 2 ** (failures - 1), max(self.retry_ms, MAX_BACKOFF_MS))
                self.status(f"{exc}; retrying in {delay / 1000:g} s")
                self._wait(delay / 1000)
                continue
            if response.status == 204:
                response.close()
                self.status("the server ended the stream (204 No Content)")
                return 0
            if streamed:
                resume = f" after id {self.last_event_id}" if self.last_event_id else ""
                self.status(f"reconnected, resuming{resume}")
            streamed = True
            failures = 0
            reason = self._pump(response)
            self.status(f"{reason}; reconnecting in {self.retry_ms / 1000:g} s")
            self._wait(self.retry_ms / 1000)

    def _pump(self, response: Response) -> str:
        parser = EventStreamParser(self.last_event_id)
        try:
            while True:
                try:
                    data = response.read()
                except OSError as exc:
                    return f"connection lost ({exc.strerror or exc})"
                except FollowError as exc:
                    return str(exc)
                if not data:
                    return "the stream ended"
                events = parser.feed(data)
                if parser.retry is not None:
                    self.retry_ms = parser.retry
                # Recorded before printing: a broken pipe must not lose the resume point.
                self.last_event_id = parser.last_event_id
                self.printer.chunk(data, events)
        finally:
            parser.end()
            response.close()

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.watch_fd is None:
                time.sleep(left)
            else:
                wait_readable(None, self.watch_fd, left)
