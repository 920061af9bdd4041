"""``tailsse follow``: against tailsse itself and against a plain SSE server written here."""

from __future__ import annotations

import io
import itertools
import json
import os
import queue
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tailsse.cli import follow as follow_command
from tailsse.cli.main import build_parser
from tailsse.client import follow as client_follow
from tailsse.client import http as client_http
from tailsse.sse.parse import Event
from tests.conftest import append, free_port

BOM = b"\xef\xbb\xbf"


# --- the chunked transfer decoder ---------------------------------------------------

CHUNKED = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nafter"


def decode_chunked(pieces: list[bytes]) -> tuple[bytes, bool]:
    decoder = client_http.ChunkedDecoder()
    return b"".join(decoder.feed(piece) for piece in pieces), decoder.done


def test_chunked_every_split_point():
    expected = (b"hello 0123456789", True)
    assert decode_chunked([CHUNKED]) == expected
    for a, b in itertools.combinations(range(len(CHUNKED) + 1), 2):
        assert decode_chunked([CHUNKED[:a], CHUNKED[a:b], CHUNKED[b:]]) == expected, (a, b)


@pytest.mark.parametrize("bad", [b"zz\r\nhello\r\n", b"0x5\r\nhello\r\n", b"2\r\nhello\r\n"])
def test_chunked_rejects_garbage(bad):
    with pytest.raises(client_http.FollowError):
        client_http.ChunkedDecoder().feed(bad)


# --- options --------------------------------------------------------------------------


def parse(*argv: str):
    return build_parser().parse_args(["follow", *argv])


def test_token_from_option_environment_and_header():
    url = "http://127.0.0.1:1/e"
    assert follow_command.target_from_args(parse(url, "--token", "t1"), {}).headers == {
        "Authorization": "Bearer t1"
    }
    env = {"TAILSSE_TOKEN": "t2"}
    assert follow_command.target_from_args(parse(url), env).headers == {"Authorization": "Bearer t2"}
    assert follow_command.target_from_args(parse(url, "--token", "t1"), env).headers == {
        "Authorization": "Bearer t1"
    }
    args = parse(url, "--token", "t1", "-H", "authorization: Basic eA==")
    assert follow_command.target_from_args(args, {}).headers == {"authorization": "Basic eA=="}


def test_last_event_id_header_is_only_the_start():
    target = follow_command.target_from_args(parse("http://h/e", "-H", "Last-Event-ID: 7"), {})
    assert (target.headers, target.last_event_id) == ({}, "7")
    target = follow_command.target_from_args(
        parse("http://h/e", "--last-event-id", "8", "-H", "last-event-id: 7"), {}
    )
    assert target.last_event_id == "8"


@pytest.mark.parametrize("argv", [["--last-event-id", "a\nb"], ["--token", "x\ry"]])
def test_line_breaks_in_sent_values_are_refused(argv):
    err = io.StringIO()
    assert follow_command.run(parse("http://127.0.0.1:1/e", *argv), io.BytesIO(), err) == 2
    assert "line breaks" in one_error_line(err.getvalue())


@pytest.mark.parametrize(
    "argv",
    [
        ["ftp://host/x"],
        ["not a url"],
        ["http://h:99999/x"],
        ["http://h/x", "-H", "no colon"],
        ["http://h/x", "-H", "Bad Name: v"],
        ["http://h/x", "--raw", "--json"],
        ["http://h/x", "--timeout", "0"],
    ],
)
def test_bad_options_are_one_line_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(*argv)
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


# --- helpers: the client as a subprocess, and a scripted SSE server ---------------------


class Follow:
    """A ``python -m tailsse follow`` subprocess whose stdout lines arrive on a queue."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tailsse", "follow", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self.lines: queue.Queue[bytes] = queue.Queue()
        self.out = bytearray()
        self.err = bytearray()
        self._readers = [
            threading.Thread(target=self._read, daemon=True),
            threading.Thread(target=lambda: self.err.extend(self.proc.stderr.read()), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.out += line
            self.lines.put(line)

    def take(self, count: int, timeout: float = 10) -> list[bytes]:
        """The next ``count`` stdout lines."""
        deadline = time.monotonic() + timeout
        got = []
        for _ in range(count):
            try:
                got.append(self.lines.get(timeout=max(0.01, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"got {len(got)} of {count} lines: {got!r} {self.err!r}") from None
        return got

    def finish(self, timeout: float = 10, sig: int | None = None) -> tuple[int, bytes, str]:
        """Wait for the end (after sending ``sig``); (exit status, all stdout, stderr)."""
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"tailsse follow did not end: {self.err!r}") from None
        for reader in self._readers:
            reader.join(5)
        return self.proc.returncode, bytes(self.out), self.err.decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for reader in self._readers:
            reader.join(5)


@pytest.fixture
def follow():
    """Factory for ``tailsse follow`` processes; every one is ended after the test."""
    started: list[Follow] = []

    def start(*args: str, **kwargs) -> Follow:
        proc = Follow(*args, **kwargs)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.kill()


@dataclass
class Reply:
    """What the scripted server answers to one request."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False  # keep the connection open until the server stops


@dataclass
class Seen:
    """One request the scripted server received."""

    path: str
    headers: dict[str, str]
    at: float
    done_at: float = 0.0


class ScriptedServer:
    """A plain SSE server (http.server, HTTP/1.0): one Reply per request, then 204s."""

    def __init__(self, replies: list[Reply], tls: ssl.SSLContext | None = None) -> None:
        self.replies = replies
        self.requests: list[Seen] = []
        self.stopping = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                seen = Seen(self.path, dict(self.headers.items()), time.monotonic())
                owner.requests.append(seen)
                index = len(owner.requests) - 1
                reply = owner.replies[index] if index < len(owner.replies) else Reply(204)
                self.send_response(reply.status)
                if reply.status != 204:
                    self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except OSError:
                    pass
                if reply.hold:
                    owner.stopping.wait(30)
                seen.done_at = time.monotonic()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def sse_server():
    """Factory for scripted servers; every one is stopped after the test."""
    started: list[ScriptedServer] = []

    def start(replies: list[Reply], **kwargs) -> ScriptedServer:
        server = ScriptedServer(replies, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- against a plain SSE server ---------------------------------------------------------

STREAM = (
    BOM + b"retry: 50\n\n: heartbeat\n\nid: 1\ndata: first\n\n"
    b"event: note\ndata: two\r\ndata: lines\r\n\r\n: ping\ndata: no id\r"
    b"\rid: 2\ndata: last\n\nid: 3\ndata: incomplete\n"
)
EXPECTED = {
    "data": b"first\nno id\nlast\n",
    "events": b"message\t1\tfirst\nnote\t1\ttwo\nnote\t1\tlines\nmessage\t1\tno id\nmessage\t2\tlast\n",
    "json": b"".join(
        json.dumps(e).encode() + b"\n"
        for e in [
            {"event": "message", "id": "1", "data": "first"},
            {"event": "note", "id": "1", "data": "two\nlines"},
            {"event": "message", "id": "1", "data": "no id"},
            {"event": "message", "id": "2", "data": "last"},
        ]
    ),
    "raw": STREAM,
}


@pytest.mark.parametrize("mode", ["data", "events", "json", "raw"])
def test_output_modes(sse_server, follow, mode):
    server = sse_server([Reply(body=STREAM)])
    flags = [] if mode == "data" else [f"--{mode}"]
    status, out, err = follow(server.url + "/events", *flags).finish()
    assert (status, out) == (0, EXPECTED[mode]), err
    assert "Traceback" not in err
    # The incomplete event's id was not taken; retry: 50 made the reconnection quick.
    assert server.requests[1].headers.get("Last-Event-ID") == "2"
    assert "Last-Event-ID" not in server.requests[0].headers
    assert server.requests[0].headers["Accept"] == "text/event-stream"
    assert "reconnecting in 0.05 s" in err and "204" in err
    # Plain output is for the data of message events; other events are told on stderr.
    assert ("note: two lines" in err) == (mode == "data")


def test_retry_is_honoured(sse_server, follow):
    server = sse_server(
        [Reply(body=b"retry: 600\nid: a\ndata: one\n\n"), Reply(body=b"retry: 100\nid: b\ndata: two\n\n")]
    )
    status, out, err = follow(server.url + "/e").finish()
    assert (status, out) == (0, b"one\ntwo\n"), err
    first, second, third = server.requests
    assert second.at - first.done_at >= 0.6
    assert 0.1 <= third.at - second.done_at < 0.6
    assert second.headers["Last-Event-ID"] == "a" and third.headers["Last-Event-ID"] == "b"


def test_non_ascii_id_and_url(sse_server, follow):
    server = sse_server([Reply(body="retry: 10\nid: caf\u00e9 \u65e5\ndata: x\n\n".encode())])
    status, out, err = follow(server.url + "/caf\u00e9 log", "-q").finish()
    assert (status, out) == (0, b"x\n"), err
    assert [r.path for r in server.requests] == ["/caf%C3%A9%20log"] * 2
    # http.server reads header bytes as latin-1; the client sent UTF-8, as EventSource does.
    sent = server.requests[1].headers["Last-Event-ID"].encode("latin-1").decode("utf-8")
    assert sent == "caf\u00e9 \u65e5"


def test_204_is_a_clean_end(sse_server, follow):
    server = sse_server([Reply(204)])
    status, out, err = follow(server.url + "/e").finish()
    assert (status, out) == (0, b"")
    assert "Traceback" not in err
    assert len(server.requests) == 1


def test_404_is_one_line(sse_server, follow):
    server = sse_server([Reply(404, b"404 nothing here\n", content_type="text/plain")])
    status, out, err = follow(server.url + "/missing").finish()
    assert (status, out) == (1, b"")
    line = one_error_line(err)
    assert "404" in line and "nothing here" in line and "/missing" in line


def test_wrong_content_type_is_one_line(sse_server, follow):
    server = sse_server([Reply(200, b"data: x\n\n", content_type="text/html; charset=utf-8")])
    status, out, err = follow(server.url + "/page").finish()
    assert (status, out) == (1, b"")
    assert "text/html" in one_error_line(err)


def test_connection_refused_is_one_line(follow):
    status, out, err = follow(f"http://127.0.0.1:{free_port()}/e").finish()
    assert (status, out) == (1, b"")
    assert "cannot connect" in one_error_line(err)


def test_headers_and_token_reach_the_server(sse_server, follow):
    server = sse_server([Reply(body=b"retry: 10\ndata: x\n\n"), Reply(body=b"data: y\n\n")])
    env = {**os.environ, "TAILSSE_TOKEN": "s3cret"}
    args = [server.url + "/e", "-H", "X-One: 1", "-H", "X-Two:  two words ", "--last-event-id", "99", "-q"]
    status, out, err = follow(*args, env=env).finish()
    assert (status, out, err) == (0, b"x\ny\n", "")
    for seen in server.requests:
        assert seen.headers["X-One"] == "1"
        assert seen.headers["X-Two"] == "two words"
        assert seen.headers["Authorization"] == "Bearer s3cret"
        assert seen.headers["Last-Event-ID"] == "99"


def test_token_option(sse_server, follow):
    server = sse_server([])
    env = {k: v for k, v in os.environ.items() if k != "TAILSSE_TOKEN"}
    assert follow(server.url + "/e", "--token", "abc", env=env).finish()[0] == 0
    assert server.requests[0].headers["Authorization"] == "Bearer abc"


def test_redirect_is_followed(sse_server, follow):
    server = sse_server([Reply(302, headers={"Location": "/real"}), Reply(body=b"retry: 10\ndata: here\n\n")])
    status, out, err = follow(server.url + "/old", "-q").finish()
    assert (status, out) == (0, b"here\n"), err
    assert [r.path for r in server.requests] == ["/old", "/real", "/old"]  # then 204


def test_credentials_stay_with_their_origin(sse_server, follow):
    other = sse_server([Reply(body=b"retry: 10\ndata: moved\n\n")])
    server = sse_server([Reply(307, headers={"Location": other.url + "/e"})])
    status, out, err = follow(server.url + "/e", "--token", "t", "-H", "X-One: 1", "-q").finish()
    assert (status, out) == (0, b"moved\n"), err
    assert server.requests[0].headers["Authorization"] == "Bearer t"
    assert "Authorization" not in other.requests[0].headers
    assert other.requests[0].headers["X-One"] == "1"


def test_reconnection_waits_out_a_proxy_error_but_not_a_404(sse_server, follow):
    replies = [Reply(body=b"retry: 10\ndata: a\n\n"), Reply(503), Reply(body=b"data: b\n\n"), Reply(404)]
    server = sse_server(replies)
    status, out, err = follow(server.url + "/e").finish()
    assert (status, out) == (1, b"a\nb\n"), err
    assert len(server.requests) == 4
    lines = err.strip().splitlines()
    assert "503" in lines[1] and "retrying in 0.01 s" in lines[1]
    assert "404" in lines[-1] and "Traceback" not in err


@pytest.mark.parametrize("count", [5, 20_000])
def test_head_closes_cleanly(sse_server, count, tmp_path):
    # 5: the stream then idles, so the closed pipe must be noticed without a write;
    # 20000: more than a pipe holds, so a write fails.
    body = b"".join(b"id: %d\ndata: line %d\n\n" % (i, i) for i in range(count))
    server = sse_server([Reply(body=body, hold=True)])
    err_path = tmp_path / "err"
    script = (
        f"'{sys.executable}' -m tailsse follow {server.url}/e 2>'{err_path}' | head -n 5; "
        'echo "${PIPESTATUS[@]}"'
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, timeout=15, cwd=os.getcwd())
    lines = result.stdout.decode().splitlines()
    assert lines[:5] == [f"line {i}" for i in range(5)]
    assert lines[5] == "0 0"
    assert err_path.read_text() == ""


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A self-signed certificate and key for 127.0.0.1, made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_insecure_accepts_a_self_signed_certificate(sse_server, follow, self_signed):
    server = sse_server([Reply(body=b"retry: 10\nid: 1\ndata: secret line\n\n")], tls=self_signed)
    assert server.url.startswith("https://")
    status, out, err = follow(server.url + "/e").finish()
    assert (status, out) == (1, b"")
    line = one_error_line(err)
    assert "certificate" in line and "--insecure" in line
    status, out, err = follow(server.url + "/e", "--insecure").finish()
    assert (status, out) == (0, b"secret line\n"), err
    assert server.requests[1].headers["Last-Event-ID"] == "1"


# --- against tailsse --------------------------------------------------------------------

LINES = [
    b"plain line",
    b"",
    b"   leading spaces and trailing   ",
    b"data: looks like a field",
    b": looks like a comment",
    b"id: 5",
    b"event: rotated",
    b"tab\tseparated\tvalues",
    b"\x1b[31mERROR\x1b[0m coloured",
    b'{"level": "info", "msg": "json \\"quoted\\""}',
    "unicode: caf\u00e9 \u20ac \u65e5\u672c \U0001f600".encode(),
    b"nul \x00 inside",
    b"x" * 10_000,
    b"0123456789" * 10_000,  # longer than --max-line-bytes: sent in pieces, printed whole
]


def test_client_view_equals_the_file(server_process, follow, tmp_path):
    log = tmp_path / "app.log"
    other = tmp_path / "other.log"
    log.write_bytes(b"".join(line + b"\n" for line in LINES))
    other.write_bytes(b"cr\rinside\nbad \xff byte\ncrlf line\r\n")
    server = server_process(str(log), str(other))
    # Lines written before the client started (the backlog) ...
    proc = follow(server.url + "events/app.log?lines=1000")
    assert b"".join(proc.take(len(LINES))) == log.read_bytes()
    # ... and lines written while it follows.
    live = [b"live %d %s" % (i, LINES[i % len(LINES)][:50]) for i in range(20)]
    for line in live:
        append(log, line + b"\n")
    proc.take(len(live))
    status, out, err = proc.finish(sig=signal.SIGINT)
    assert (status, out, err) == (0, log.read_bytes(), "")
    # A lone CR reaches the client as a line break; invalid UTF-8 as U+FFFD.
    proc = follow(server.url + "events/other.log")
    got = b"".join(proc.take(4))
    assert got == "cr\ninside\nbad \ufffd byte\ncrlf line\n".encode()
    # What happens to the file is a status message, not a line of the log.
    other.write_bytes(b"fresh\n")
    assert proc.take(1) == [b"fresh\n"]
    status, _, err = proc.finish(sig=signal.SIGINT)
    assert status == 0
    assert (
        err == "tailsse follow: other.log: the file was truncated; following it again from its first byte\n"
    )


def test_reconnect_across_a_server_restart(server_process, follow, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"before %d\n" % i for i in range(10)))
    port = str(free_port())
    server = server_process(str(log), "--port", port)
    proc = follow(server.url + "events/app.log")
    proc.take(10)
    append(log, b"live 1\nlive 2\n")
    proc.take(2)
    server.stop()
    append(log, b"".join(b"while down %d\n" % i for i in range(5)))
    server = server_process(str(log), "--port", port)
    assert [line.decode() for line in proc.take(5)] == [f"while down {i}\n" for i in range(5)]
    append(log, b"after restart\n")
    assert proc.take(1) == [b"after restart\n"]
    status, out, err = proc.finish(sig=signal.SIGINT)
    assert status == 0
    assert out == log.read_bytes()  # nothing lost, nothing repeated
    assert "reconnected, resuming after id" in err and "Traceback" not in err


def test_plain_output_rejoins_pieces_and_tells_notices():
    out, notices = io.BytesIO(), []
    printer = client_follow.Printer(out, "data", notices.append)
    Ev = Event
    printer.chunk(b"", [Ev("ab", id="f-2-p"), Ev("cd", id="f-4-p")])
    assert out.getvalue() == b""
    printer.chunk(b"", [Ev("ef", id="f-6"), Ev("x", id="f-8-p")])
    rotated = Ev('{"file": "app.log", "message": "the file was replaced"}', "rotated", "g-0")
    printer.chunk(b"", [rotated, Ev("new", id="g-4"), Ev("not json", "ping")])
    assert out.getvalue() == b"abcdef\nx\nnew\n"
    assert notices == ["app.log: the file was replaced", "ping: not json"]
