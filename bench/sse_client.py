"""Benchmark reader: many SSE streams on raw non-blocking sockets, or a pipe (the floor).

Run by ``bench/run.py`` and ``bench/merged.py``, never by hand. Each benchmark line reads
``<seq> <write monotonic ns> <padding>``. In ``latency`` mode every line's delay from
``write()`` to its arrival is recorded (one ``monotonic_ns()`` per socket read) and the
sequence numbers are checked per stream; in ``count`` mode lines are only counted.
``merged`` mode is ``latency`` for a merged stream (``/events?file=...``): each event's
data is the file's name, then the line, and every file has sequence numbers of its own,
checked per file within each stream.

One process holds thousands of streams with a bare ``epoll`` loop: on this 2-core machine
the reader shares the CPU with the server it measures, and asyncio's per-read machinery
(handles, transports, protocol callbacks) cost about eight times as much CPU per event.

Talks to the parent as JSON lines on stdout: ``ready`` once every stream has its response
headers, ``done`` at the end; a line ``stop`` on stdin, every stream having received
``--expect`` lines, or the deadline ends the run. Latencies (float64 ns) go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import select
import socket
import sys
import time
from array import array

SSE_LINE = re.compile(rb"data: (\d+) (\d+) ")
MERGED_LINE = re.compile(rb"data: ([\w.-]{1,200})\ndata: (\d+) (\d+) ")
PIPE_LINE = re.compile(rb"(?m)^(\d+) (\d+) ")
KEEP = 64  # bytes kept between reads: more than any unfinished "data: <seq> <ns> " prefix
KEEP_MERGED = 320  # the same with "data: <file name>\n" in front
READ = 256 * 1024


class Stream:
    """One connection (or the pipe) and what has been read from it."""

    __slots__ = ("by_file", "fd", "in_headers", "next_seq", "received", "sock", "tail")

    def __init__(self, fd: int, sock: socket.socket | None, in_headers: bool) -> None:
        self.fd = fd
        self.sock = sock
        self.in_headers = in_headers
        self.tail = b""
        self.next_seq = 0
        self.by_file: dict[bytes, int] = {}  # merged mode: the next sequence number of each file
        self.received = 0


class Reader:
    """Every stream of this process, the epoll loop and the counters."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.expect: int = args.expect
        self.count_only = args.mode == "count"
        self.merged = args.mode == "merged"
        self.pipe = args.pipe_fd >= 0
        self.pattern = PIPE_LINE if self.pipe else SSE_LINE
        self.marker = b"\n" if self.pipe else b"data: "
        self.epoll = select.epoll()
        self.streams: dict[int, Stream] = {}
        self.latencies = array("d")
        self.lines = self.gaps = self.dups = 0
        self.body_bytes = self.reads = 0  # after the response headers: what the events cost on the wire
        self.first_ns = self.last_ns = 0
        self.connected = self.failed = self.complete = self.pending = 0
        self.stopped = False

    # -- connecting --

    def open_all(self, conns: int) -> None:
        """Open ``conns`` streams, at most ``--concurrency`` awaiting headers at once."""
        args = self.args
        request = (
            f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
        deadline = time.monotonic() + 30 + conns / 50
        opened = 0
        while (opened < conns or self.pending) and time.monotonic() < deadline and not self.stopped:
            while opened < conns and self.pending < args.concurrency:
                opened += 1
                try:
                    sock = socket.create_connection((args.host, args.port), timeout=10)
                    sock.sendall(request)
                except OSError:
                    self.failed += 1
                    continue
                sock.setblocking(False)
                fd = sock.fileno()
                self.streams[fd] = Stream(fd, sock, True)
                self.epoll.register(fd, select.EPOLLIN)
                self.pending += 1
            self.poll(0.2)
        self.failed += self.pending

    def open_pipe(self, fd: int) -> None:
        """Read the floor's lines from an inherited pipe."""
        os.set_blocking(fd, False)
        self.streams[fd] = Stream(fd, None, False)
        self.epoll.register(fd, select.EPOLLIN)
        self.connected = 1

    # -- reading --

    def poll(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds and handle whatever is readable."""
        for fd, _ in self.epoll.poll(timeout):
            if fd == 0:
                self.stopped = True
                continue
            stream = self.streams.get(fd)
            if stream is None:
                continue
            try:
                data = stream.sock.recv(READ) if stream.sock is not None else os.read(fd, READ)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                self.received(stream, data)
            else:
                self.close(stream)

    def received(self, stream: Stream, data: bytes) -> None:
        """Parse one read: headers first, then benchmark lines."""
        now = time.monotonic_ns()
        if stream.in_headers:
            data = stream.tail + data
            end = data.find(b"\r\n\r\n")
            if end < 0:
                stream.tail = data
                return
            stream.in_headers = False
            self.pending -= 1
            if not data.startswith(b"HTTP/1.1 200"):
                self.failed += 1
                self.close(stream, counted=True)
                return
            self.connected += 1
            data = data[end + 4 :]
            stream.tail = b""
        if not data:
            return
        if not self.first_ns:
            self.first_ns = now
        self.body_bytes += len(data)
        self.reads += 1
        buf = stream.tail + data
        if self.merged:
            n = self.merged_lines(stream, buf, now)
        elif self.count_only:
            n = buf.count(self.marker)
            stream.tail = buf[1 - len(self.marker) :] if len(self.marker) > 1 else b""
        else:
            n = last = 0
            append = self.latencies.append
            for m in self.pattern.finditer(buf):
                seq = int(m[1])
                append(now - int(m[2]))
                if seq == stream.next_seq:
                    stream.next_seq = seq + 1
                elif seq > stream.next_seq:
                    self.gaps += seq - stream.next_seq
                    stream.next_seq = seq + 1
                else:
                    self.dups += 1
                n += 1
                last = m.end()
            stream.tail = buf[last:][-KEEP:]
        if n:
            self.last_ns = now
            self.lines += n
            before = stream.received
            stream.received += n
            if before < self.expect <= stream.received:
                self.complete += 1

    def merged_lines(self, stream: Stream, buf: bytes, now: int) -> int:
        """Record the lines of a merged stream's read, checking each file's order; returns how many."""
        n = last = 0
        append = self.latencies.append
        by_file = stream.by_file
        for m in MERGED_LINE.finditer(buf):
            name = m[1]
            seq = int(m[2])
            append(now - int(m[3]))
            wanted = by_file.get(name, 0)
            if seq == wanted:
                by_file[name] = seq + 1
            elif seq > wanted:
                self.gaps += seq - wanted
                by_file[name] = seq + 1
            else:
                self.dups += 1
            n += 1
            last = m.end()
        stream.tail = buf[last:][-KEEP_MERGED:]
        return n

    def per_file(self) -> dict[str, int]:
        """Merged mode: each file's next expected sequence number, added up over the streams.

        Without gaps or duplicates, that is how many lines of each file were read.
        """
        totals: dict[str, int] = {}
        for stream in self.streams.values():
            for name, count in stream.by_file.items():
                totals[name.decode()] = totals.get(name.decode(), 0) + count
        return totals

    def close(self, stream: Stream, counted: bool = False) -> None:
        """Forget a stream whose peer closed (a failure if it never got its headers)."""
        if stream.in_headers and not counted:
            self.pending -= 1
            self.failed += 1
        self.epoll.unregister(stream.fd)
        del self.streams[stream.fd]
        if stream.sock is not None:
            stream.sock.close()

    def read_until_done(self, deadline: float) -> str:
        """Read until ``stop``, every stream complete, or the deadline."""
        end = time.monotonic() + deadline
        while True:
            if self.stopped:
                return "stop"
            if self.expect and self.connected and self.complete >= self.connected:
                return "complete"
            left = end - time.monotonic()
            if left <= 0:
                return "deadline"
            self.poll(min(left, 0.5))

    def close_all(self) -> None:
        """Close every stream."""
        for stream in list(self.streams.values()):
            self.close(stream, counted=True)


def say(**fields: object) -> None:
    """One JSON message to the parent."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def run(args: argparse.Namespace) -> None:
    """Open the streams, report ready, read until done, report."""
    reader = Reader(args)
    reader.epoll.register(0, select.EPOLLIN)  # the parent writes "stop" (or closes stdin)
    started = time.monotonic()
    if reader.pipe:
        reader.open_pipe(args.pipe_fd)
    else:
        reader.open_all(args.conns)
    say(
        event="ready",
        connected=reader.connected,
        failed=reader.failed,
        seconds=round(time.monotonic() - started, 3),
        cpu_seconds=round(time.process_time(), 3),
    )
    how = reader.read_until_done(args.deadline)
    files = reader.per_file() if reader.merged else None
    reader.close_all()
    with open(args.out, "wb") as f:
        reader.latencies.tofile(f)
    say(
        event="done",
        how=how,
        connected=reader.connected,
        lines=reader.lines,
        complete=reader.complete,
        gaps=reader.gaps,
        dups=reader.dups,
        first_ns=reader.first_ns,
        last_ns=reader.last_ns,
        cpu_seconds=round(time.process_time(), 3),
        body_bytes=reader.body_bytes,
        reads=reader.reads,
        **({"files": files} if files is not None else {}),
    )


def raise_nofile(wanted: int) -> None:
    """Raise the open-file limit towards ``wanted`` (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--path", default="/")
    parser.add_argument("--pipe-fd", type=int, default=-1, help="read lines from this fd instead of HTTP")
    parser.add_argument("--conns", type=int, default=1)
    parser.add_argument("--expect", type=int, required=True, help="lines each stream should receive")
    parser.add_argument("--mode", choices=("latency", "count", "merged"), default="latency")
    parser.add_argument("--out", required=True)
    parser.add_argument("--deadline", type=float, default=120.0)
    parser.add_argument("--concurrency", type=int, default=64, help="streams awaiting headers at once")
    args = parser.parse_args()
    raise_nofile(args.conns + 256)
    run(args)


if __name__ == "__main__":
    main()
