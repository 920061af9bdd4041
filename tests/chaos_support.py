"""Helpers for the ``tail -F`` comparison and the chaos run.

Numbered, checksummed lines; a raw-socket SSE client that records every event with the
time it arrived; a ``tailsse serve`` process on a fixed port that can be restarted; GNU
``tail -F`` and ``tailsse follow --raw`` as readers. Nothing here imports pytest or
tailsse, so ``bench/soak.py`` uses it too, as it uses :func:`run_chaos`, the chaos run
that ``tests/test_chaos.py`` runs briefly.
"""

from __future__ import annotations

import bisect
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TAIL = "/usr/bin/tail"


# -- numbered lines ---------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Line:
    """What a numbered line says about itself."""

    file: str
    gen: int
    seq: int


def make_line(file: str, gen: int, seq: int, pad: int = 0) -> bytes:
    """``file=F gen=G seq=N [pad=xxx] crc=C`` (C: CRC-32 of everything before it), no newline."""
    body = f"file={file} gen={gen} seq={seq}" + (" pad=" + "x" * pad if pad else "")
    return f"{body} crc={zlib.crc32(body.encode()):08x}".encode()


_LINE = re.compile(r"\A(file=(\S+) gen=(\d+) seq=(\d+)(?: pad=x*)?) crc=([0-9a-f]{8})\Z")


def parse_line(text: str) -> Line | None:
    """The line a text is, or None when it is not a whole line with a matching checksum."""
    m = _LINE.match(text)
    if m is None or zlib.crc32(m.group(1).encode()) != int(m.group(5), 16):
        return None
    return Line(m.group(2), int(m.group(3)), int(m.group(4)))


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it is true (True) or ``timeout`` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def settle(activity: Callable[[], int], quiet: float = 0.3, timeout: float = 5.0) -> bool:
    """Wait until ``activity()`` (a counter) has not changed for ``quiet`` seconds."""
    deadline = time.monotonic() + timeout
    last, since = activity(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = activity()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return True
    return False


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# -- what a client received -------------------------------------------------------------


@dataclass
class Event:
    kind: str  # "message", or a notice: rotated, truncated, missing, appeared, lost, ...
    id: str | None  # the last event id once this event was dispatched
    data: str
    t: float  # time.monotonic() when it arrived
    session: int


@dataclass
class Session:
    """One connection of a client."""

    t_start: float
    sent_id: str | None  # the Last-Event-ID it was opened with
    t_ready: float | None = None  # when its retry: field arrived
    t_end: float | None = None
    end: str = ""


class StreamRecord:
    """Parses an event stream (as the WHATWG spec says) into events, session by session.

    ``auto_sessions``: the bytes come from ``tailsse follow --raw``, where connections are
    not visible; each ``retry:`` field (the first thing tailsse sends) starts a session,
    and a partial event cut off by the end of the previous one is dropped, as a browser
    drops it.
    """

    def __init__(self, label: str, name: str, auto_sessions: bool = False) -> None:
        self.label = label
        self.name = name
        self.auto = auto_sessions
        self.sessions: list[Session] = []
        self.events: list[Event] = []
        self.last_id: str | None = None
        self.comments = 0
        self.bytes = 0
        self._buf = b""
        self._reset()

    def _reset(self) -> None:
        """Forget an event not completed by a blank line: it is never dispatched."""
        self._data: list[str] | None = None
        self._kind = ""
        self._id = self.last_id

    def start_session(self, t: float, sent_id: str | None) -> None:
        self._buf = b""
        self._reset()
        self.sessions.append(Session(t, sent_id))

    def end_session(self, t: float, reason: str) -> None:
        if self.sessions and self.sessions[-1].t_end is None:
            self.sessions[-1].t_end = t
            self.sessions[-1].end = reason
        self._buf = b""
        self._reset()

    def feed(self, data: bytes, t: float) -> None:
        self.bytes += len(data)
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        for raw in lines:
            self._line(raw.decode("utf-8", "replace"), t)

    def _line(self, line: str, t: float) -> None:
        if self.auto:
            at = line.find("retry:")
            if at >= 0:
                # A new connection: whatever the previous one left unfinished is gone.
                if self.sessions and self.sessions[-1].t_end is None:
                    self.sessions[-1].t_end, self.sessions[-1].end = t, "next retry: seen"
                self._reset()
                self.sessions.append(Session(t, self.last_id))
                line = line[at:]
        if line == "":
            if self._data is not None:
                self.last_id = self._id
                session = len(self.sessions) - 1
                self.events.append(
                    Event(self._kind or "message", self._id, "\n".join(self._data), t, session)
                )
            self._data, self._kind = None, ""
            return
        if line.startswith(":"):
            self.comments += 1
            return
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data = [*(self._data or []), value]
        elif name == "event":
            self._kind = value
        elif name == "id":
            if "\0" not in value:
                self._id = value or None
        elif name == "retry":
            if self.sessions and self.sessions[-1].t_ready is None:
                self.sessions[-1].t_ready = t

    # -- views --

    def messages(self) -> list[Event]:
        return [e for e in self.events if e.kind == "message"]

    def texts(self) -> list[str]:
        return [e.data for e in self.events if e.kind == "message"]

    def notices(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.kind == kind]

    def ready(self) -> bool:
        return bool(self.sessions) and self.sessions[-1].t_ready is not None


class _Dechunker:
    """HTTP/1.1 chunked transfer decoding, incremental."""

    def __init__(self) -> None:
        self.buf = b""
        self.left = -1  # > 0: bytes of the chunk still to come; -1: a size line; -2: its CRLF
        self.done = False

    def feed(self, data: bytes) -> bytes:
        self.buf += data
        out = []
        while not self.done:
            if self.left > 0:
                if not self.buf:
                    break
                piece = self.buf[: self.left]
                out.append(piece)
                self.buf = self.buf[len(piece) :]
                self.left -= len(piece)
                if self.left == 0:
                    self.left = -2
            elif self.left == -2:
                if len(self.buf) < 2:
                    break
                self.buf, self.left = self.buf[2:], -1
            else:
                nl = self.buf.find(b"\r\n")
                if nl < 0:
                    break
                size = int(self.buf[:nl].split(b";")[0], 16)
                self.buf = self.buf[nl + 2 :]
                if size == 0:
                    self.done = True
                else:
                    self.left = size
        return b"".join(out)


class RawClient:
    """An SSE client on a plain socket, reading in its own thread; reconnects on request.

    ``rcvbuf`` sets SO_RCVBUF before connecting, so a stall fills the server's side quickly.
    """

    def __init__(
        self, port: int, name: str, label: str = "", rcvbuf: int | None = None, query: str = "lines=0"
    ) -> None:
        self.port = port
        self.name = name
        self.rcvbuf = rcvbuf
        self.query = query
        self.record = StreamRecord(label or name, name)
        self.stall_until = 0.0
        self.connects = 0
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def connect(self, resume: bool = True, timeout: float = 2.0) -> bool:
        """Open a new connection (with Last-Event-ID when ``resume``); False if refused."""
        assert not self.alive
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.settimeout(timeout)
        try:
            sock.connect((HOST, self.port))
        except OSError:
            sock.close()
            return False
        last = self.record.last_id if resume else None
        request = (
            f"GET /events/{self.name}?{self.query} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-cache\r\n"
            + (f"Last-Event-ID: {last}\r\n" if last else "")
            + "\r\n"
        )
        self.record.start_session(time.monotonic(), last)
        try:
            sock.sendall(request.encode())
        except OSError as exc:
            sock.close()
            self.record.end_session(time.monotonic(), f"send failed: {exc}")
            return False
        sock.settimeout(0.1)
        self.connects += 1
        self._stop.clear()
        self._sock = sock
        self._thread = threading.Thread(target=self._run, args=(sock,), daemon=True)
        self._thread.start()
        return True

    def drop(self) -> None:
        """Close the connection now (as a network failure would)."""
        self._stop.set()
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(5)

    def stall(self, seconds: float) -> None:
        """Stop reading for ``seconds`` (the connection stays open)."""
        self.stall_until = time.monotonic() + seconds

    def wait_ready(self, timeout: float = 10.0) -> bool:
        return wait_until(self.record.ready, timeout)

    def _run(self, sock: socket.socket) -> None:
        reason = "eof"
        head = b""
        body: _Dechunker | None = None
        started = False
        try:
            while True:
                if self._stop.is_set():
                    reason = "dropped"
                    break
                if time.monotonic() < self.stall_until:
                    time.sleep(0.02)
                    continue
                try:
                    data = sock.recv(65536)
                except TimeoutError:
                    continue
                t = time.monotonic()
                if not data:
                    break
                if not started:
                    head += data
                    end = head.find(b"\r\n\r\n")
                    if end < 0:
                        continue
                    status = head.split(b"\r\n", 1)[0]
                    if b" 200 " not in status + b" ":
                        reason = status.decode("latin-1")
                        break
                    chunked = b"transfer-encoding: chunked" in head[:end].lower()
                    body = _Dechunker() if chunked else None
                    data, started = head[end + 4 :], True
                if body is not None:
                    data = body.feed(data)
                if data:
                    self.record.feed(data, t)
                if body is not None and body.done:
                    break
        except OSError as exc:
            reason = f"error: {exc}"
        finally:
            self._sock = None
            sock.close()
            self.record.end_session(time.monotonic(), reason)


# -- processes ----------------------------------------------------------------------------


class TailsseServer:
    """``python -m tailsse serve PATHS`` on a fixed port; stopped and started again at will."""

    def __init__(self, paths: list[str], port: int, log_path: str, extra: tuple[str, ...] = ()) -> None:
        self.paths = [str(p) for p in paths]
        self.port = port
        self.log_path = log_path
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 20.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "tailsse",
            "serve",
            *self.paths,
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--lines",
            "0",
            *self.extra,
        ]
        deadline = time.monotonic() + timeout
        while True:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen(
                    cmd, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL, cwd=ROOT
                )
            if wait_until(self._healthy, min(10.0, max(0.5, deadline - time.monotonic())), 0.02):
                self.starts += 1
                return
            self.stop()
            if time.monotonic() > deadline:
                raise RuntimeError(f"tailsse did not start on port {self.port}; see {self.log_path}")
            time.sleep(0.2)  # the port may still be held by the previous process

    def _healthy(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(f"http://{HOST}:{self.port}/healthz", timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> int | None:
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")
        except OSError:
            return ""


def process_resources(pid: int) -> tuple[int, int]:
    """(open file descriptors, inotify watches) of a process, from /proc."""
    fds = os.listdir(f"/proc/{pid}/fd")
    watches = 0
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                watches += sum(1 for line in info if line.startswith("inotify wd:"))
        except OSError:
            continue
    return len(fds), watches


class _PipeReader:
    """Reads a child's pipe in a thread, calling ``sink(bytes, time)`` for each read."""

    def __init__(self, stream, sink: Callable[[bytes, float], None]) -> None:
        self._fd = stream.fileno()
        self._sink = sink
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 65536)
            except OSError:
                return
            if not data:
                return
            self._sink(data, time.monotonic())


class TailF:
    """GNU ``tail -F`` on some paths; its output, split by file (``==> name <==`` headers)."""

    def __init__(self, paths: list[str], lines: int = 0, inotify: bool = True, sleep: float = 0.05) -> None:
        self.paths = [str(p) for p in paths]
        cmd = [TAIL, "-F", "-n", str(lines), f"--sleep-interval={sleep}"]
        if not inotify:
            cmd += ["---disable-inotify", "--max-unchanged-stats=1"]
        self.proc = subprocess.Popen(
            [*cmd, *self.paths], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
        self._out = b""
        self._err = b""
        self.reads = 0
        self._lock = threading.Lock()
        self._readers = [
            _PipeReader(self.proc.stdout, self._stdout),
            _PipeReader(self.proc.stderr, self._stderr),
        ]

    def _stdout(self, data: bytes, t: float) -> None:
        with self._lock:
            self._out += data
            self.reads += 1

    def _stderr(self, data: bytes, t: float) -> None:
        with self._lock:
            self._err += data
            self.reads += 1

    @property
    def stderr(self) -> str:
        with self._lock:
            return self._err.decode("utf-8", "replace")

    def lines(self, path: str | None = None) -> list[str]:
        """Complete lines printed for ``path`` (for one path: every complete line)."""
        with self._lock:
            text = self._out.decode("utf-8", "replace")
        complete = text.split("\n")[:-1]
        if len(self.paths) == 1:
            return complete
        current, out = None, []
        for line in complete:
            m = re.fullmatch(r"==> (.*) <==", line)
            if m:
                current = m.group(1)
            elif line and current == path:
                out.append(line)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for reader in self._readers:
            reader.thread.join(5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()


class FollowProc:
    """``python -m tailsse follow --raw URL``: it reconnects and resumes by itself."""

    def __init__(self, port: int, name: str, label: str, err_path: str) -> None:
        self.record = StreamRecord(label, name, auto_sessions=True)
        url = f"http://{HOST}:{port}/events/{name}?lines=0"
        with open(err_path, "ab") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tailsse", "follow", "--raw", url],
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=ROOT,
            )
        self._lock = threading.Lock()
        self._reader = _PipeReader(self.proc.stdout, self._feed)

    def _feed(self, data: bytes, t: float) -> None:
        with self._lock:
            self.record.feed(data, t)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.thread.join(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.record.end_session(time.monotonic(), "stopped")


@dataclass
class Stop:
    """Everything started by a test, stopped in reverse order whatever happens."""

    items: list[Callable[[], object]] = field(default_factory=list)

    def add(self, stop: Callable[[], object]) -> None:
        self.items.append(stop)

    def __enter__(self) -> Stop:
        return self

    def __exit__(self, *exc: object) -> None:
        for stop in reversed(self.items):
            try:
                stop()
            except Exception:
                pass


# -- the chaos run ------------------------------------------------------------------------

FILE_STYLES = ("rename-away", "rename-over", "copytruncate", "delete-recreate")
LINK_STYLE = "symlink-retarget"


@dataclass
class ChaosParams:
    """Sizes and rates of one chaos run (defaults: the suite's short run)."""

    duration: float = 12.0  # seconds of chaos (then a calm tail, then the drain)
    files: int = 3  # the last one is a symlink, rotated by retargeting it
    rate: float = 150.0  # lines per second to each file
    fast_rate: float = 800.0  # ... but to the first one, with long lines, so stalls fill buffers
    pad: int = 40
    fast_pad: int = 400
    write_every: float = 0.005  # seconds between two writes to a file (each writes what is due)
    rotate_every: float = 0.5  # mean seconds between rotations (of some file)
    restart_every: float = 4.0  # seconds between server restarts, ±50% (0: none)
    down: tuple[float, float] = (0.2, 1.0)  # seconds the server stays down
    raw_clients: int = 6
    follow_clients: int = 2
    action_every: float = 0.3  # mean seconds between client actions (drop, stall)
    stall: tuple[float, float] = (0.5, 3.0)
    small_rcvbuf: int = 4096  # SO_RCVBUF of the clients of the first file
    keep: int = 4  # rotated generations kept next to each file (older ones are deleted)
    # A file is not written for this long before copytruncate: lines written just before
    # it would be lost whoever reads (only the copy has them), so the run leaves no such
    # line and any loss is the reader's.
    copytruncate_pause: float = 0.3
    check_interval: float = 0.5
    calm: float = 1.0  # seconds of writing without chaos at the end
    drain: float = 15.0  # seconds allowed, after that, for every client to catch up
    seed: int = 1


@dataclass
class Gen:
    """One generation of a file: what the path named from one rotation to the next."""

    file: str
    gen: int
    t_start: float
    ino: int = 0  # its file's inode (ids name it in hex)
    ended_by: str = ""  # the rotation style that ended it
    t_gone: float | None = None  # since when its lines cannot be read through the path


class Ledger:
    """Every line written (per file, by seq: its generation and the time before write())."""

    def __init__(self) -> None:
        self.lines: dict[str, list[tuple[int, float]]] = {}
        self.gens: dict[tuple[str, int], Gen] = {}
        self.rotations: dict[str, int] = {}
        self.lock = threading.Lock()

    def line(self, file: str, seq: int) -> tuple[int, float] | None:
        rows = self.lines.get(file, [])
        return rows[seq - 1] if 0 < seq <= len(rows) else None


class ChaosFile:
    """A log file being written and rotated, with every line and generation in the ledger."""

    def __init__(
        self, directory: Path, name: str, symlink: bool, rate: float, pad: int, ledger: Ledger
    ) -> None:
        self.dir = directory
        self.name = name
        self.path = directory / name
        self.symlink = symlink
        self.rate = rate
        self.pad = pad
        self.ledger = ledger
        self.gen = 0
        self.seq = 0
        self.kept: list[tuple[int, Path]] = []  # rotated files (or old targets) next to it, oldest first
        self.hold_until = 0.0  # not written until then (a copytruncate is coming)
        ledger.lines[name] = []
        if symlink:
            (directory / "targets").mkdir(exist_ok=True)
            target = self._target(0)
            target.write_bytes(b"")
            os.symlink(os.path.relpath(target, directory), self.path)
            self.fd = os.open(target, os.O_WRONLY | os.O_APPEND)
        else:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        ledger.gens[(name, 0)] = Gen(name, 0, time.monotonic(), os.fstat(self.fd).st_ino)

    def _target(self, gen: int) -> Path:
        return self.dir / "targets" / f"{self.name}.{gen}"

    def write(self, count: int, fd: int | None = None) -> None:
        """Append ``count`` lines in one write()."""
        rows = self.ledger.lines[self.name]
        data = []
        for _ in range(count):
            self.seq += 1
            data.append(make_line(self.name, self.gen, self.seq, self.pad) + b"\n")
        t = time.monotonic()
        with self.ledger.lock:
            rows.extend((self.gen, t) for _ in range(count))
        os.write(self.fd if fd is None else fd, b"".join(data))

    def _new_gen(self, style: str, t_gone: float | None) -> None:
        old = self.ledger.gens[(self.name, self.gen)]
        old.ended_by, old.t_gone = style, t_gone
        self.gen += 1
        self.ledger.gens[(self.name, self.gen)] = Gen(self.name, self.gen, time.monotonic())
        self.ledger.rotations[style] = self.ledger.rotations.get(style, 0) + 1

    def _keep(self, gen: int, path: Path, keep: int) -> None:
        self.kept.append((gen, path))
        while len(self.kept) > keep:
            old_gen, old_path = self.kept.pop(0)
            t = time.monotonic()
            os.unlink(old_path)
            info = self.ledger.gens[(self.name, old_gen)]
            if info.t_gone is None:
                info.t_gone = t

    def rotate(self, style: str, keep: int) -> None:
        if style == "rename-away":  # logrotate's create
            rotated = self.dir / f"{self.name}.{self.gen}"
            os.rename(self.path, rotated)
            os.close(self.fd)
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
            gen = self.gen
            self._new_gen(style, None)
            self._keep(gen, rotated, keep)
        elif style == "rename-over":  # a new generation written aside, renamed over the path
            tmp = self.dir / f".{self.name}.new"
            fd = os.open(tmp, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC, 0o644)
            old = self.fd
            t = time.monotonic()
            self._new_gen(style, t)
            self.write(1, fd)
            os.rename(tmp, self.path)
            os.close(old)
            self.fd = fd
        elif style == "copytruncate":
            copy = self.dir / f"{self.name}.{self.gen}"
            with open(self.path, "rb") as src, open(copy, "wb") as dst:
                dst.write(src.read())
            t = time.monotonic()
            os.ftruncate(self.fd, 0)
            gen = self.gen
            self._new_gen(style, t)
            self._keep(gen, copy, keep)
        elif style == "delete-recreate":
            t = time.monotonic()
            os.unlink(self.path)
            os.close(self.fd)
            self._new_gen(style, t)
            self.fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
        else:
            assert style == LINK_STYLE and self.symlink
            target = self._target(self.gen + 1)
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o644)
            link = self.dir / f".{self.name}.link"
            os.symlink(os.path.relpath(target, self.dir), link)
            old, gen = self.fd, self.gen
            t = time.monotonic()
            self._new_gen(style, t)  # unreachable through the path from now on
            os.rename(link, self.path)
            os.close(old)
            self.fd = fd
            self._keep(gen, self._target(gen), keep)
        self.ledger.gens[(self.name, self.gen)].ino = os.fstat(self.fd).st_ino

    def close(self) -> None:
        os.close(self.fd)


@dataclass
class ClientReport:
    label: str
    kind: str  # raw or follow
    file: str
    connects: int = 0
    received: int = 0
    expected: int = 0
    missing: int = 0  # expected, not received, not excused
    excused: int = 0  # not received, after a lost (or copytruncate's truncated) event, generation gone
    # Not received, and no server could have told: the generation was gone by the time the
    # server came back from a restart, and the client resumed from an earlier one.
    unseen: int = 0
    duplicated: int = 0
    reordered: int = 0
    partial: int = 0  # not a whole line (checksum)
    foreign: int = 0  # a line of another file, or never written
    lost_events: int = 0
    idless: int = 0  # reconnections without an id to resume from (nothing received yet)
    evidence: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.duplicated or self.reordered or self.partial or self.foreign)


@dataclass
class ChaosReport:
    params: ChaosParams
    duration: float = 0.0
    written: dict[str, int] = field(default_factory=dict)
    rotations: dict[str, int] = field(default_factory=dict)
    restarts: int = 0
    down: list[tuple[float, float]] = field(default_factory=list)  # server down, seconds from the start
    reconnects: int = 0
    clients: list[ClientReport] = field(default_factory=list)
    records: list[StreamRecord] = field(default_factory=list)
    ledger: Ledger | None = None
    t0: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return all(c.clean for c in self.clients) and not self.notes

    def table(self) -> str:
        lines = [
            f"duration {self.duration:.1f} s; lines written {sum(self.written.values())} "
            + "("
            + ", ".join(f"{k} {v}" for k, v in self.written.items())
            + ")",
            "rotations: " + (", ".join(f"{k} {v}" for k, v in sorted(self.rotations.items())) or "none"),
            f"server restarts {self.restarts}"
            + (" (down " + ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in self.down) + ")" if self.down else "")
            + f"; client reconnects {self.reconnects}",
            "",
            "| client | file | connects | received | expected | lost | excused | unseen (down) | duplicated "
            "| reordered | partial | foreign | lost events |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for c in self.clients:
            lines.append(
                f"| {c.label} | {c.file} | {c.connects} | {c.received} | {c.expected} | {c.missing} | {c.excused} | {c.unseen} "
                f"| {c.duplicated} | {c.reordered} | {c.partial} | {c.foreign} | {c.lost_events} |"
            )
        total = ClientReport("all", "", "")
        for c in self.clients:
            for name in (
                "connects",
                "received",
                "expected",
                "missing",
                "excused",
                "unseen",
                "duplicated",
                "reordered",
                "partial",
                "foreign",
                "lost_events",
            ):
                setattr(total, name, getattr(total, name) + getattr(c, name))
        lines.append(
            f"| **all** | | {total.connects} | {total.received} | {total.expected} | {total.missing} "
            f"| {total.excused} | {total.unseen} | {total.duplicated} | {total.reordered} | {total.partial} | {total.foreign} "
            f"| {total.lost_events} |"
        )
        return "\n".join(lines)

    def evidence(self, per_client: int = 6) -> str:
        out = [*self.notes]
        for c in self.clients:
            if c.evidence:
                out.append(f"{c.label} ({c.file}):")
                out += [f"  {e}" for e in c.evidence[:per_client]]
                if len(c.evidence) > per_client:
                    out.append(f"  … {len(c.evidence) - per_client} more")
        return "\n".join(out)


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs in a sorted list: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    out: list[tuple[int, int]] = []
    for n in numbers:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


def analyse(
    record: StreamRecord,
    kind: str,
    file: str,
    ledger: Ledger,
    final: int,
    t0: float,
    restarts: list[tuple[float, float]],
) -> ClientReport:
    """Compare what one client received with what was written to its file.

    Expected: every line written after the client's stream first started (its first
    ``retry:``; or, when it had to reconnect without any id to resume from, after that
    reconnection started). A line not received is excused only when, between the lines
    received before and after it, a ``lost`` event came after its generation was gone
    (or, for a generation ended by copytruncate, a ``truncated`` event). Counted apart
    (``unseen``), not as a defect: a generation gone while the server was down, missed by
    a client whose next line came in a session opened after the restart; the restarted
    server never saw it, and nothing on disk says it existed.
    """
    rep = ClientReport(record.label, kind, file, connects=len(record.sessions))
    rep.lost_events = len(record.notices("lost"))
    rows = ledger.lines[file]
    events = record.events
    seen: dict[int, int] = {}  # seq -> index of the event that brought it first
    dups: list[tuple[int, int]] = []  # (seq, event index)
    top = 0
    for idx, event in enumerate(events):
        if event.kind != "message":
            continue
        line = parse_line(event.data)
        if line is None:
            rep.partial += 1
            rep.evidence.append(
                f"partial line at {event.t - t0:.2f} s (session {event.session}, id {event.id}): {event.data[:80]!r}"
            )
            continue
        row = ledger.line(line.file, line.seq) if line.file == file else None
        if row is None or row[0] != line.gen:
            rep.foreign += 1
            rep.evidence.append(f"a line that is not one of {file}'s: {event.data[:80]!r}")
            continue
        rep.received += 1
        if line.seq in seen:
            rep.duplicated += 1
            dups.append((line.seq, idx))
            continue
        if line.seq < top:
            rep.reordered += 1
            if rep.reordered <= 5:
                rep.evidence.append(
                    f"reordered: #{line.seq} (g{line.gen}) after #{top}, at {event.t - t0:.2f} s (session {event.session})"
                )
        seen[line.seq] = idx
        top = max(top, line.seq)
    for a, b in _runs(sorted({s for s, _ in dups})):
        first, again = seen[a], next(i for s, i in dups if s == a)
        ev, first_ev = events[again], events[first]
        sent = record.sessions[ev.session].sent_id if ev.session < len(record.sessions) else None
        rep.evidence.append(
            f"duplicated: #{a}-#{b} (g{rows[a - 1][0]}) first at {first_ev.t - t0:.2f} s (session {first_ev.session}), "
            f"again at {ev.t - t0:.2f} s (session {ev.session}, opened with Last-Event-ID {sent})"
        )

    starts = [s.t_ready for s in record.sessions if s.sent_id is None and s.t_ready is not None]
    if not starts:
        rep.evidence.append("the stream never started")
        return rep
    start = max(starts)
    rep.idless = len(starts) - 1
    expected = [seq for seq in range(1, final + 1) if rows[seq - 1][1] > start]
    rep.expected = len(expected)
    missing = [seq for seq in expected if seq not in seen]
    have = sorted(seen)
    groups: dict[tuple[int | None, int | None, int], list[int]] = {}
    for seq in missing:
        i = bisect.bisect(have, seq)
        prev = have[i - 1] if i else None
        nxt = have[i] if i < len(have) else None
        groups.setdefault((prev, nxt, rows[seq - 1][0]), []).append(seq)
    for (prev, nxt, gen), seqs in groups.items():
        lo = seen[prev] if prev is not None else -1
        hi = seen[nxt] if nxt is not None else len(events)
        lo, hi = min(lo, hi), max(lo, hi)
        between = [e for e in events[lo + 1 : hi] if e.kind != "message"]
        info = ledger.gens[(file, gen)]
        gone = info.t_gone
        excused = gone is not None and any(
            (e.kind == "lost" or (e.kind == "truncated" and info.ended_by == "copytruncate")) and gone <= e.t
            for e in between
        )
        if excused:
            rep.excused += len(seqs)
            continue
        t_lo = events[lo].t if lo >= 0 else start
        t_hi = events[hi].t if hi < len(events) else float("inf")
        resumed = record.sessions[events[hi].session].t_start if hi < len(events) else float("inf")
        if gone is not None and any(a <= gone <= b <= resumed for a, b in restarts):
            # Gone before the server was back: the restarted one never saw it, so nothing
            # can say it existed (README: what is not guaranteed).
            rep.unseen += len(seqs)
            continue
        rep.missing += len(seqs)
        down = [f"{a - t0:.2f}-{b - t0:.2f}" for a, b in restarts if a < t_hi and b > t_lo]
        after = events[hi] if hi < len(events) else None
        for a, b in _runs(seqs):
            rep.evidence.append(
                f"lost: #{a}-#{b} of g{gen} ({b - a + 1} lines, written {rows[a - 1][1] - t0:.2f}-"
                f"{rows[b - 1][1] - t0:.2f} s; g{gen}: inode {info.ino:x}, "
                + (f"ended by {info.ended_by}" if info.ended_by else "still current")
                + (
                    f", gone at {gone - t0:.2f} s, {(gone - info.t_start) * 1000:.0f} ms after it began"
                    if gone is not None
                    else ", still on disk"
                )
                + f"); received before: #{prev}, after: #{nxt}"
                + (
                    f" at {after.t - t0:.2f} s in session {after.session}"
                    f" (opened with Last-Event-ID {record.sessions[after.session].sent_id})"
                    if after is not None and after.session < len(record.sessions)
                    else ""
                )
                + "; events in between: "
                + (", ".join(f"{e.kind}@{e.t - t0:.2f}" for e in between[:6]) or "none")
                + (f"; server down {', '.join(down)}" if down else "")
            )
    return rep


class _Chaos:
    """One chaos run: a writer/rotator thread, a restarter thread, the client driver."""

    def __init__(self, params: ChaosParams, workdir: Path) -> None:
        self.p = params
        self.work = workdir
        logs = workdir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.ledger = Ledger()
        n = params.files
        self.files = [
            ChaosFile(
                logs,
                f"f{i}.log",
                symlink=n > 1 and i == n - 1,
                rate=params.fast_rate if i == 0 else params.rate,
                pad=params.fast_pad if i == 0 else params.pad,
                ledger=self.ledger,
            )
            for i in range(n)
        ]
        self.server = TailsseServer(
            [str(f.path) for f in self.files],
            free_port(),
            str(workdir / "tailsse.log"),
            ("--heartbeat", "1", "--check-interval", str(params.check_interval)),
        )
        self.raw = [
            RawClient(
                self.server.port,
                self.files[i % n].name,
                label=f"raw{i}",
                rcvbuf=params.small_rcvbuf if i % n == 0 else None,
            )
            for i in range(params.raw_clients)
        ]
        self.next_try = [0.0] * len(self.raw)
        self.follows: list[FollowProc] = []
        self.restarts: list[tuple[float, float]] = []
        self.notes: list[str] = []
        self.rotating = threading.Event()
        self.chaos_over = threading.Event()
        self.stop_writer = threading.Event()
        self.t0 = time.monotonic()

    def _writer(self) -> None:
        rng = random.Random(self.p.seed)
        begin = time.monotonic()
        next_rotation = begin + rng.expovariate(1 / self.p.rotate_every)
        try:
            while not self.stop_writer.is_set():
                now = time.monotonic()
                for f in self.files:
                    if f.hold_until and now >= f.hold_until:
                        f.rotate("copytruncate", self.p.keep)
                        f.hold_until = 0.0
                    due = int((now - begin) * f.rate) - f.seq
                    if due > 0 and not f.hold_until:
                        f.write(min(due, 2000))
                if self.rotating.is_set() and now >= next_rotation:
                    f = rng.choice(self.files)
                    style = LINK_STYLE if f.symlink else rng.choice(FILE_STYLES)
                    if style == "copytruncate":
                        f.hold_until = f.hold_until or now + self.p.copytruncate_pause
                    elif not f.hold_until:
                        f.rotate(style, self.p.keep)
                    next_rotation = now + rng.expovariate(1 / self.p.rotate_every)
                time.sleep(self.p.write_every)
        except Exception as exc:  # the run is void: say so
            self.notes.append(f"the writer failed: {exc!r}")

    def _restarter(self) -> None:
        rng = random.Random(self.p.seed + 1)
        try:
            while not self.chaos_over.wait(self.p.restart_every * rng.uniform(0.5, 1.5)):
                down = time.monotonic()
                self.server.stop(signal.SIGTERM)
                self.chaos_over.wait(rng.uniform(*self.p.down))
                self.server.start()
                self.restarts.append((down, time.monotonic()))
        except Exception as exc:
            self.notes.append(f"restarting the server failed: {exc!r}")

    def _reconnect(self, rng: random.Random) -> None:
        now = time.monotonic()
        for i, client in enumerate(self.raw):
            if not client.alive and now >= self.next_try[i] and not client.connect(timeout=1.0):
                self.next_try[i] = now + rng.uniform(0.05, 0.3)

    def _done(self, record: StreamRecord, file: str, final: int) -> bool:
        for event in reversed(record.events):
            line = parse_line(event.data) if event.kind == "message" else None
            if line is not None and line.file == file:
                return line.seq >= final
        return final == 0

    def run(self) -> ChaosReport:
        p = self.p
        rng = random.Random(p.seed + 2)
        threads: list[threading.Thread] = []
        try:
            self.server.start()
            for j in range(p.follow_clients):
                f = self.files[j % len(self.files)]
                self.follows.append(
                    FollowProc(self.server.port, f.name, f"follow{j}", str(self.work / f"follow{j}.err"))
                )
            for client in self.raw:
                client.connect()
            self.t0 = time.monotonic()
            self.rotating.set()
            threads.append(threading.Thread(target=self._writer, daemon=True))
            if p.restart_every > 0:
                threads.append(threading.Thread(target=self._restarter, daemon=True))
            for thread in threads:
                thread.start()
            end = self.t0 + p.duration
            next_action = time.monotonic() + rng.expovariate(1 / p.action_every)
            while time.monotonic() < end:
                self._reconnect(rng)
                now = time.monotonic()
                if now >= next_action:
                    i = rng.randrange(len(self.raw))
                    client = self.raw[i]
                    if client.alive and rng.random() < 0.5:
                        client.drop()
                        self.next_try[i] = now + rng.uniform(0, 0.3)
                    elif client.alive:
                        client.stall(rng.uniform(*p.stall))
                    next_action = now + rng.expovariate(1 / p.action_every)
                time.sleep(0.02)
            # Calm: no more rotations, restarts, drops or stalls; lines still written.
            self.rotating.clear()
            self.chaos_over.set()
            for thread in threads[1:]:
                thread.join(30)
            if not self.server.running():
                self.server.start()
            for client in self.raw:
                client.stall_until = 0.0
            calm_end = time.monotonic() + p.calm
            while time.monotonic() < calm_end:
                self._reconnect(rng)
                time.sleep(0.02)
            self.stop_writer.set()
            threads[0].join(30)
            finals = {f.name: f.seq for f in self.files}
            readers = [(c.record, c.name) for c in self.raw] + [
                (f.record, f.record.name) for f in self.follows
            ]
            deadline = time.monotonic() + p.drain
            while time.monotonic() < deadline:
                self._reconnect(rng)
                if all(self._done(rec, name, finals[name]) for rec, name in readers):
                    break
                time.sleep(0.05)
            else:
                self.notes.append(f"not every client had caught up {p.drain:g} s after the last line")
            settle(lambda: sum(len(rec.events) for rec, _ in readers), 0.5, 3)
            duration = time.monotonic() - self.t0
        finally:
            self.stop_writer.set()
            self.chaos_over.set()
            for follow in self.follows:
                follow.stop()
            for client in self.raw:
                client.drop()
            self.server.stop()
            for f in self.files:
                try:
                    f.close()
                except OSError:
                    pass
        report = ChaosReport(p, duration=duration, rotations=dict(self.ledger.rotations), notes=self.notes)
        report.written = dict(finals)
        report.restarts = len(self.restarts)
        report.down = [(a - self.t0, b - self.t0) for a, b in self.restarts]
        report.ledger, report.t0 = self.ledger, self.t0
        kinds = [("raw", c.record) for c in self.raw] + [("follow", f.record) for f in self.follows]
        for kind, record in kinds:
            rep = analyse(record, kind, record.name, self.ledger, finals[record.name], self.t0, self.restarts)
            report.clients.append(rep)
            report.records.append(record)
            report.reconnects += max(0, rep.connects - 1)
        return report


def dump(report: ChaosReport, directory: Path) -> None:
    """Every client's events and the ledger's generations, as JSON lines, for a post-mortem."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    t0 = report.t0
    assert report.ledger is not None
    with open(directory / "generations.jsonl", "w") as out:
        for g in report.ledger.gens.values():
            row = {
                "file": g.file,
                "gen": g.gen,
                "ino": f"{g.ino:x}",
                "start": g.t_start - t0,
                "ended_by": g.ended_by,
            }
            row["gone"] = None if g.t_gone is None else g.t_gone - t0
            out.write(json.dumps(row) + "\n")
    for record in report.records:
        with open(directory / f"{record.label}.jsonl", "w") as out:
            for i, s in enumerate(record.sessions):
                row = {"session": i, "start": s.t_start - t0, "sent_id": s.sent_id, "end_reason": s.end}
                row["ready"] = None if s.t_ready is None else s.t_ready - t0
                row["end"] = None if s.t_end is None else s.t_end - t0
                out.write(json.dumps(row) + "\n")
            for e in record.events:
                line = parse_line(e.data) if e.kind == "message" else None
                row = {"t": round(e.t - t0, 4), "s": e.session, "kind": e.kind, "id": e.id}
                if line is not None:
                    row.update(gen=line.gen, seq=line.seq)
                elif e.kind == "message":
                    row["data"] = e.data[:200]
                out.write(json.dumps(row) + "\n")


def run_chaos(params: ChaosParams, workdir: Path) -> ChaosReport:
    """Write, rotate, restart and disturb clients for ``params.duration`` s; compare."""
    return _Chaos(params, workdir).run()
