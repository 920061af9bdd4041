"""tailsse behind a real nginx, configured exactly as docs/nginx.conf (shown in the README) says.

nginx runs in the foreground (``daemon off``) as a separate process on a free loopback port,
with a main config this module writes around docs/nginx.conf; its pid file, logs and temp
directories live in a directory of the test's own. It never runs as root: when the tests
do, nginx is started as ``nobody`` (its master and worker alike, so it cannot listen on a
privileged port or read what nobody may not), and since pytest's tmp_path sits in a
directory only root can enter, its directory is then a fresh one in the system temp
directory, owned by nobody and removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from tornado.httpclient import AsyncHTTPClient
from tornado.simple_httpclient import HTTPStreamClosedError
from tornado.web import RequestHandler

from tailsse.cli.main import build_parser
from tailsse.config import Config, cli_options
from tailsse.webapp.app import TailApp, make_app
from tests.conftest import TEST_CONFIG, EventReader, append, free_port, system_program

SITE = Path(__file__).resolve().parent.parent / "docs" / "nginx.conf"

MAIN = """\
daemon off;
master_process on;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {dir}/site.conf;
}}
"""


def replace_once(text: str, old: str, new: str) -> str:
    """Replace a line of docs/nginx.conf that must be there exactly once."""
    assert text.count(old) == 1, f"docs/nginx.conf should contain {old!r} exactly once"
    return text.replace(old, new)


def site_config(listen: int, upstream: int, edits: dict[str, str]) -> str:
    """docs/nginx.conf with the test's ports, and each of ``edits`` made to one of its lines."""
    text = SITE.read_text(encoding="utf-8")
    text = replace_once(text, "listen 80;", f"listen 127.0.0.1:{listen};")
    text = replace_once(text, "proxy_pass http://127.0.0.1:8080;", f"proxy_pass http://127.0.0.1:{upstream};")
    for old, new in edits.items():
        text = replace_once(text, old, new)
    return text


# nginx's own default for proxy_http_version is 1.0: what a minimal config gets.
MINIMAL = {"proxy_http_version 1.1;": ""}
SHORT_READ_TIMEOUT = {"proxy_read_timeout 60s;": "proxy_read_timeout 3s;"}


class Nginx:
    """One nginx process in front of one tailsse, at /logs/."""

    def __init__(self, directory: Path, upstream: int, edits: dict[str, str]) -> None:
        self.dir = directory
        self.port = free_port()
        (directory / "site.conf").write_text(site_config(self.port, upstream, edits))
        (directory / "nginx.conf").write_text(MAIN.format(dir=directory))
        self.url = f"http://127.0.0.1:{self.port}/logs/"
        with open(directory / "output", "wb") as output:
            self.proc = subprocess.Popen(
                [system_program("nginx"), "-p", f"{directory}/", "-c", str(directory / "nginx.conf")],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **unprivileged(),
            )
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(self.url + "healthz", timeout=1).read()
                return
            except OSError:  # refused, or 502 until nginx reaches tailsse
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"nginx did not become ready:\n{self.log()}") from None
                time.sleep(0.02)

    def log(self) -> str:
        """nginx's own output and error log."""
        parts = [(self.dir / name) for name in ("output", "error.log")]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())

    def stop(self) -> None:
        """Fast shutdown; the whole process group is killed if that hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def unprivileged() -> dict[str, Any]:
    """Popen arguments that run a child as nobody when the tests run as root."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}


@pytest.fixture
def nginx(tmp_path) -> Iterator:
    """Factory: ``nginx(tailsse_port, edits={})`` starts one nginx in front of that tailsse."""
    started: list[Nginx] = []
    made: list[str] = []

    def start(upstream: int, edits: dict[str, str] | None = None) -> Nginx:
        if os.geteuid() == 0:
            directory = tempfile.mkdtemp(prefix="tailsse-nginx-")
            made.append(directory)
            os.chown(directory, unprivileged()["user"], unprivileged()["group"])
            path = Path(directory)
        else:
            path = tmp_path / f"nginx{len(started)}"
            path.mkdir()
        for attempt in range(3):
            try:
                proxy = Nginx(path, upstream, edits or {})
                break
            except RuntimeError as exc:
                # Another process may have taken the free port before nginx bound it.
                if "Address already in use" not in str(exc) or attempt == 2:
                    raise
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()
    for directory in made:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def client(io_loop) -> Iterator[AsyncHTTPClient]:
    """An HTTP client of the test's own, for URLs outside the in-process server."""
    http = AsyncHTTPClient(force_instance=True, max_clients=20)
    yield http
    http.close()


def stream(client: AsyncHTTPClient, url: str, headers: dict[str, str] | None = None):
    """Open an event stream; returns (reader, future of the response)."""
    reader = EventReader()
    future = client.fetch(
        url, headers=headers or {}, streaming_callback=reader.feed, request_timeout=3600, raise_error=False
    )
    return reader, future


def comments(reader: EventReader) -> int:
    """How many comment (heartbeat) lines a stream has carried."""
    return bytes(reader.raw).split(b"\n").count(b":")


async def test_viewer_page_assets_api_and_stream_resolve_under_the_sub_path(
    log_file, server_process, nginx, client
):
    append(log_file, b"hello through nginx\n")
    tailsse = server_process(str(log_file), "--base-path", "/logs", "--heartbeat", "0")
    proxy = nginx(tailsse.port)
    assert os.stat(f"/proc/{proxy.proc.pid}").st_uid != 0, "nginx must not run as root"

    bare = await client.fetch(proxy.url.rstrip("/"), follow_redirects=False, raise_error=False)
    assert bare.code == 301 and bare.headers["Location"].endswith("/logs/")

    page = await client.fetch(proxy.url)
    html = page.body.decode()
    assert page.headers["Content-Type"].startswith("text/html")
    base = re.search(r'<base href="([^"]+)">', html).group(1)
    assert base == "/logs/"
    assets = re.findall(r'(?:href|src)="(static/[^"]+)"', html)
    assert sorted(assets) == ["static/viewer.css", "static/viewer.js"]
    types = {}
    for asset in assets:
        response = await client.fetch(urljoin(proxy.url, asset))
        types[asset] = response.headers["Content-Type"]
        if asset.endswith(".js"):
            script = response.body.decode()
    assert types["static/viewer.css"].startswith("text/css")
    assert "javascript" in types["static/viewer.js"]
    # The viewer asks for these relative to <base>, so they must resolve under /logs/ too.
    assert '"api/files"' in script and '"events/"' in script

    listing = await client.fetch(urljoin(proxy.url, "api/files"))
    assert [f["name"] for f in json.loads(listing.body)["files"]] == ["app.log"]
    view = await client.fetch(urljoin(proxy.url, "view/app.log"))
    assert b'<base href="/logs/">' in view.body

    headers: dict[str, str] = {}

    def header(line: str) -> None:
        key, _, value = line.partition(":")
        if value:
            headers[key.strip().lower()] = value.strip()

    reader = EventReader()
    client.fetch(
        urljoin(proxy.url, "events/app.log"),
        header_callback=header,
        streaming_callback=reader.feed,
        request_timeout=3600,
        raise_error=False,
    )
    assert (await reader.next())["data"] == "hello through nginx"
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-cache"
    assert "content-encoding" not in headers
    assert bytes(reader.raw).startswith(b"retry: ")


@pytest.mark.parametrize("edits", [{}, MINIMAL], ids=["docs-config", "http-1.0-upstream"])
async def test_a_line_reaches_the_client_through_nginx_within_100ms(
    log_file, server_process, nginx, client, edits
):
    """proxy_buffering is left on: the stream's X-Accel-Buffering: no is what turns it off."""
    append(log_file, b"first\n")
    tailsse = server_process(str(log_file), "--base-path", "/logs", "--heartbeat", "0")
    proxy = nginx(tailsse.port, edits)
    reader, _ = stream(client, proxy.url + "events/app.log?lines=1")
    assert (await reader.next())["data"] == "first"
    delays = []
    for i in range(10):
        await asyncio.sleep(0.02)
        start = time.perf_counter()
        append(log_file, b"line %d\n" % i)
        event = await reader.next()
        delays.append(time.perf_counter() - start)
        assert event["data"] == f"line {i}"
    assert max(delays) < 0.1, [f"{d * 1000:.1f} ms" for d in delays]


async def test_without_x_accel_buffering_nginx_would_hold_the_lines(log_file, server_process, nginx, client):
    """The control: the minimal config, told to ignore tailsse's header, buffers the stream."""
    append(log_file, b"first\n")
    tailsse = server_process(str(log_file), "--base-path", "/logs", "--heartbeat", "0")
    ignoring = {"proxy_http_version 1.1;": "proxy_ignore_headers X-Accel-Buffering;"}
    proxy = nginx(tailsse.port, ignoring)
    reader, _ = stream(client, proxy.url + "events/app.log?lines=1")
    await asyncio.sleep(0.2)
    append(log_file, b"second\n")
    await reader.nothing_more(0.5)
    assert reader.raw == b""


async def test_last_event_id_passes_through_and_resumes(log_file, server_process, nginx, client):
    append(log_file, b"one\ntwo\nthree\n")
    tailsse = server_process(str(log_file), "--base-path", "/logs", "--heartbeat", "0")
    proxy = nginx(tailsse.port)
    first, _ = stream(client, proxy.url + "events/app.log")
    one, two, three = await first.take(3)
    assert [one["data"], two["data"], three["data"]] == ["one", "two", "three"]

    # Without the header this would start with the backlog ("one").
    resumed, _ = stream(client, proxy.url + "events/app.log", {"Last-Event-ID": two["id"]})
    assert await resumed.next() == three
    append(log_file, b"four\n")
    assert (await resumed.next())["data"] == "four"
    assert (await first.next())["data"] == "four"
    await resumed.nothing_more(0.2)


async def test_heartbeat_keeps_a_stream_open_past_proxy_read_timeout(log_file, server_process, nginx, client):
    """Both cases at once, 10 s idle behind a 3 s proxy_read_timeout: only the heartbeat survives."""
    beating = server_process(str(log_file), "--base-path", "/logs", "--heartbeat", "1")
    silent = server_process(str(log_file), "--base-path", "/logs", "--heartbeat", "0")
    alive, alive_done = stream(client, nginx(beating.port, SHORT_READ_TIMEOUT).url + "events/app.log")
    silent_proxy = nginx(silent.port, SHORT_READ_TIMEOUT)
    cut, cut_done = stream(client, silent_proxy.url + "events/app.log")
    opened = time.monotonic()

    with pytest.raises(HTTPStreamClosedError):  # nginx drops it, with no final chunk
        await asyncio.wait_for(asyncio.shield(cut_done), 9)
    cut_after = time.monotonic() - opened
    await asyncio.sleep(max(0.0, 10 - (time.monotonic() - opened)))

    assert 2.5 < cut_after < 9, cut_after
    assert "upstream timed out" in silent_proxy.log()
    assert not alive_done.done()
    assert comments(alive) >= 5 and comments(cut) == 0

    append(log_file, b"after ten idle seconds\n")
    assert (await alive.next())["data"] == "after ten idle seconds"
    await cut.nothing_more(0.1)


async def test_trusted_proxy_decides_whose_forwarded_for_is_logged(log_file, server_process, nginx, client):
    trusting = server_process(str(log_file), "--base-path", "/logs", "--trusted-proxy", "127.0.0.1")
    plain = server_process(str(log_file), "--base-path", "/logs")
    for tailsse in (trusting, plain):
        proxy = nginx(tailsse.port)
        response = await client.fetch(proxy.url + "healthz", headers={"X-Forwarded-For": "198.51.100.7"})
        assert response.code == 200
        tailsse.stop()
    # nginx appends the address it saw (127.0.0.1, trusted here) to the client's header.
    assert re.search(r"tornado.access: 200 GET /logs/healthz \(198\.51\.100\.7\)", trusting.stderr)
    assert re.search(r"tornado.access: 200 GET /logs/healthz \(127\.0\.0\.1\)", plain.stderr)
    assert "198.51.100.7" not in plain.stderr


class EchoHandler(RequestHandler):
    """What the application believes about the request: client address and absolute URL."""

    def get(self) -> None:
        self.finish(f"{self.request.remote_ip} {self.request.full_url()}")


@pytest.fixture
def trusted() -> tuple[str, ...]:
    """The --trusted-proxy list of the in-process app (parametrized by tests)."""
    return ()


@pytest.fixture
def app(io_loop, log_file, trusted) -> Iterator[TailApp]:
    """The in-process app, with an echo route added."""
    application = make_app(replace(TEST_CONFIG, paths=(str(log_file),), trusted_proxy=trusted))
    application.add_handlers(r".*", [(r"/echo", EchoHandler)])
    yield application
    application.catalog.close()


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "proto", "seen"),
    [
        ((), "203.0.113.9", "https", "127.0.0.1 http"),
        (("10.0.0.0/8",), "203.0.113.9", "https", "127.0.0.1 http"),
        (("127.0.0.1",), "203.0.113.9", "https", "203.0.113.9 https"),
        (("127.0.0.0/8", "10.0.0.0/8"), "203.0.113.9, 10.0.0.5", "https", "203.0.113.9 https"),
        (("127.0.0.1",), "198.51.100.1, 203.0.113.9", "http, https", "203.0.113.9 https"),
        (("127.0.0.1", "10.0.0.0/8"), "10.0.0.7, 10.0.0.5", "", "10.0.0.7 http"),
        (("127.0.0.1",), "not-an-address", "gopher", "127.0.0.1 http"),
        (("::1", "127.0.0.1/32"), "", "https", "127.0.0.1 https"),
    ],
)
async def test_forwarded_headers_are_believed_only_from_trusted_proxies(
    http_server_client, http_server_port, trusted, forwarded_for, proto, seen
):
    headers = {"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": proto}
    response = await http_server_client.fetch("/echo", headers={k: v for k, v in headers.items() if v})
    address, url = response.body.decode().split(" ")
    scheme = seen.split(" ")[1]
    assert f"{address} {url.split(':')[0]}" == seen
    assert url == f"{scheme}://127.0.0.1:{http_server_port[1]}/echo"


def test_trusted_proxy_option_takes_addresses_and_networks():
    parser = build_parser()
    args = parser.parse_args(
        ["serve", "a.log", "--trusted-proxy", "127.0.0.1, 10.0.0.0/8", "--trusted-proxy", "::1"]
    )
    options = {name: getattr(args, name) for name, _, _ in cli_options()}
    assert Config(**options).trusted_proxy == ("127.0.0.1", "10.0.0.0/8", "::1")
    default = parser.parse_args(["serve", "a.log"])
    assert Config(**{name: getattr(default, name) for name, _, _ in cli_options()}).trusted_proxy == ()
    with pytest.raises(ValueError, match="--trusted-proxy"):
        Config(trusted_proxy=("proxy.example",))


def test_readme_shows_the_nginx_config_the_tests_run():
    readme = (SITE.parent.parent / "README.md").read_text(encoding="utf-8")
    assert "```nginx\n" + SITE.read_text(encoding="utf-8") + "```\n" in readme
