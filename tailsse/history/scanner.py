"""Searches run in a process of their own, beside the server, never in it.

A search is CPU work: reading and matching, up to SEARCH_BYTES per request. Run on the
server's own threads it takes turns with the IOLoop for the GIL, and every live line
waits for its turn. Here it runs in a scanner process, started by the server (``python -m
tailsse.history.scanner``) when the first search comes, which shares nothing with it but
a Unix socket: the server sends the open descriptors of the files to scan with the
request (SCM_RIGHTS), so the scanner opens no file by name and reads only what the server
opened, and gets back the matches already encoded as the answer's JSON, with the ids
the stream would give them.

The matches of a page (hundreds of KB) need not pass through the server either: given the
client's socket too, the scanner writes them to it as one chunk of the HTTP answer, and
the server writes only what comes before and after. Handing that much to the kernel holds
a process for about a millisecond, which is one the IOLoop keeps for the live streams.

A scanner serves one request at a time, at the lowest priority (see
:func:`lower_priority`); the server keeps WORKERS of them. When none can be started (or
one dies), the scan runs on a thread of the server instead.

Messages are a 4-byte length and a pickle, between the two halves of this module.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import pickle
import socket
import struct
import subprocess
import sys

from tailsse.history.query import Query
from tailsse.history.scan import Answer, Request, answer

log = logging.getLogger(__name__)

FRAME = struct.Struct("!I")
MAX_FDS = 256  # files of one timeline: the path and its generations
WORKERS = 2
NICE = 19  # the lowest priority there is
AUTOGROUPS = "/proc/sys/kernel/sched_autogroup_enabled"
WRITE_SECONDS = 10.0  # for a client to take the matches written to it


class ScannerGone(RuntimeError):
    """The scanner process could not be started, or went away during a request.

    ``asked``: the request had reached it (and it may have written part of an answer).
    """

    def __init__(self, message: str, asked: bool = False) -> None:
        super().__init__(message)
        self.asked = asked


class ClientGone(RuntimeError):
    """The client closed its connection, or took no more, while the matches were written to it."""


class Scanner:
    """The server's side of one scanner process."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop the lock belongs to

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tailsse.history.scanner", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except OSError as exc:
            ours.close()
            raise ScannerGone(f"cannot start the scanner process: {exc}") from exc
        finally:
            theirs.close()
        ours.setblocking(False)
        self.sock = ours
        return ours

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()  # the scanner ends at the end of its input
            self.sock = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def busy(self) -> bool:
        return self.lock.locked()

    async def run(self, fds: list[int], req: Request) -> Answer:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # (an asyncio lock belongs to one loop)
            self.lock, self._loop = asyncio.Lock(), loop
        async with self.lock:
            asked = False
            try:
                sock = self.sock
                if sock is None or self.proc is None or self.proc.poll() is not None:
                    self.stop()
                    sock = self._start()
                payload = pickle.dumps(req)
                await _send_fds(loop, sock, FRAME.pack(len(payload)) + payload, fds)
                asked = True
                (size,) = FRAME.unpack(await _read(loop, sock, FRAME.size))
                status, value = pickle.loads(await _read(loop, sock, size))
            except (OSError, EOFError, pickle.UnpicklingError, struct.error) as exc:
                self.stop()  # a request cut in the middle: the stream is out of step
                raise ScannerGone(f"the scanner went away: {exc}", asked) from exc
            except BaseException:
                self.stop()
                raise
        if status == "gone":
            raise ClientGone(value)
        if status != "ok":
            raise ScannerGone(f"the scanner failed: {value}")
        assert isinstance(value, Answer)
        return value


class Scanners:
    """WORKERS scanner processes, started when needed; a request takes a free one."""

    def __init__(self, workers: int = WORKERS) -> None:
        self.all = [Scanner() for _ in range(workers)]

    async def run(self, fds: list[int], req: Request) -> Answer:
        free = next((s for s in self.all if not s.busy()), self.all[0])
        return await free.run(fds, req)

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.all if s.proc is not None and s.proc.poll() is None]

    def stop(self) -> None:
        for s in self.all:
            s.stop()


async def _send_fds(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, data: bytes, fds: list[int]
) -> None:
    """``data`` with the descriptors (which go with its first byte), in one call mostly."""
    while True:
        try:
            sent = socket.send_fds(sock, [data], fds)
            break
        except BlockingIOError:
            await asyncio.sleep(0.001)  # the scanner has not read its last reply's end yet
    if sent < len(data):
        await loop.sock_sendall(sock, data[sent:])


async def _read(loop: asyncio.AbstractEventLoop, sock: socket.socket, size: int) -> bytearray:
    """Exactly ``size`` bytes, received in place (an answer is read once, not copied)."""
    data = bytearray(size)
    view = memoryview(data)
    got = 0
    while got < size:
        n = await loop.sock_recv_into(sock, view[got:])
        if not n:
            raise EOFError("the scanner closed its socket")
        got += n
    return data


# -- the scanner process --


def _receive(sock: socket.socket) -> tuple[bytes, list[int]] | None:
    header, fds, _, _ = socket.recv_fds(sock, FRAME.size, MAX_FDS)
    if not header:
        return None
    while len(header) < FRAME.size:
        more = sock.recv(FRAME.size - len(header))
        if not more:
            return None
        header += more
    (size,) = FRAME.unpack(header)
    body = bytearray()
    while len(body) < size:
        more = sock.recv(size - len(body))
        if not more:
            return None
        body += more
    return bytes(body), fds


def serve(sock: socket.socket) -> None:
    """Answer scans until the server closes the socket."""
    queries: dict[tuple[str, bool, bool], Query] = {}
    while True:
        got = _receive(sock)
        if got is None:
            return
        body, fds = got
        try:
            req = pickle.loads(body)
            key = (req.text, req.regex, req.case)
            query = queries.get(key) or Query(req.text, req.regex, req.case)
            if len(queries) > 32:
                queries.clear()
            queries[key] = query
            result = answer(fds[:-1] if req.out else fds, req, query)
            if req.out:
                send_chunk(fds[-1], result.matches)
                result = result._replace(matches=b"")
            reply: tuple[str, object] = ("ok", result)
        except ClientGone as exc:
            reply = ("gone", str(exc))
        except Exception as exc:  # told to the server, which answers the request with it
            reply = ("error", f"{type(exc).__name__}: {exc}")
        finally:
            for fd in fds:
                os.close(fd)
        payload = pickle.dumps(reply)
        sock.sendall(FRAME.pack(len(payload)) + payload)


def send_chunk(fd: int, data: bytes) -> None:
    """``data`` to the client's socket ``fd`` as one chunk of an HTTP/1.1 answer, whole."""
    if not data:
        raise ValueError("an empty chunk would end the answer")
    sock = socket.socket(fileno=fd)
    try:
        sock.settimeout(WRITE_SECONDS)  # (the socket is the server's too: never blocking)
        sock.sendall(b"%x\r\n%b\r\n" % (len(data), data))
    except OSError as exc:  # the client went away, or took nothing for WRITE_SECONDS
        raise ClientGone(f"the matches could not be written to the client: {exc}") from exc
    finally:
        sock.detach()  # the descriptor is closed with the others


scanners = Scanners()
atexit.register(scanners.stop)


def lower_priority() -> None:
    """Let the server (and everything else) go first: a scanner runs at ``nice`` 19, in a
    session of its own whose autogroup is at nice 19 too.

    Where Linux groups processes by session (``kernel.sched_autogroup_enabled``), a nice
    value only counts against the processes of the same session: the scanner, in the
    server's, would go after the server but share the processors evenly with a browser or
    a shell in another. Its own session, at the lowest weight, goes after all of them.

    Not in Linux's SCHED_IDLE class, which sounds made for this and is worse: the kernel
    counts a processor that runs only such a process as idle when it places a waking task,
    so wake-ups land on the scanner's processor, yet a task of another session does not
    take it over at once. With a scan looping beside the server on 2 cores, the live p99
    was 2.9 to 4.3 ms in SCHED_IDLE against 0.6 to 0.7 ms at nice 19 (0.56 ms with no scan).
    """
    os.nice(NICE)
    try:
        with open(AUTOGROUPS) as f:
            grouped = f.read().strip() == "1"
        if grouped:
            os.setsid()  # the server's end of the socket still ends the scanner when it closes
            with open("/proc/self/autogroup", "w") as f:
                f.write(str(NICE))
    except OSError:
        pass  # no autogroups here (or no /proc): the nice value is all there is


def main(argv: list[str]) -> int:
    lower_priority()
    sock = socket.socket(fileno=int(argv[1]))
    try:
        serve(sock)
    except (BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
