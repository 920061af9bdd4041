"""Who can read what: the file allow-list, authentication, log redaction, TLS and CORS."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from tailsse.cli.options import load_config
from tailsse.config import Config
from tailsse.following.paths import expand
from tailsse.sources.local import FileCatalog
from tailsse.webapp import auth
from tailsse.webapp.security import redact_uri
from tests.conftest import TEST_CONFIG, append, open_stream

TOKEN = "correct-horse-battery-staple-42"
SECRET = b"TOP-SECRET-CONTENT"


@pytest.fixture
def served(tmp_path):
    """A served directory with app.log and links in and out, next to a secret file."""
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "app.log").write_bytes(b"hello\n")
    (tmp_path / "secret.txt").write_bytes(SECRET + b"\n")
    os.symlink("../secret.txt", logs / "evil.log")  # inside the directory, pointing out
    os.symlink("app.log", logs / "current.log")  # inside, pointing inside
    return logs


# ---- the allow-list


def test_symlink_out_of_a_served_directory_is_not_served(served, tmp_path):
    found = {os.path.basename(p) for p in expand([str(served)])}
    assert found == {"app.log", "current.log"}
    found = {os.path.basename(p) for p in expand([str(served / "*.log")])}
    assert found == {"app.log", "current.log"}
    # Named outright, a symlink is served: the operator chose it.
    assert expand([str(served / "evil.log")]) == [str(served / "evil.log")]


def test_rescan_skips_new_symlinks_that_lead_out(served, tmp_path):
    catalog = FileCatalog(replace(TEST_CONFIG, paths=(str(served),)), {})
    catalog.rescan()
    os.symlink(str(tmp_path / "secret.txt"), served / "late.log")
    os.symlink("app.log", served / "also.log")
    catalog.rescan()
    assert set(catalog.channels) == {"app.log", "current.log", "also.log"}
    catalog.close()


async def test_symlink_retargeted_out_of_the_directory_stops_being_read(http_server_client, served, tmp_path):
    reader, _ = open_stream(http_server_client, "/events/current.log?lines=0")
    await reader.ready()
    os.unlink(served / "current.log")
    os.symlink("../secret.txt", served / "current.log")
    append(tmp_path / "secret.txt", SECRET + b" more\n")
    event = await reader.next()
    assert event["event"] == "unreadable"
    assert json.loads(event["data"])["detail"] == "outside the served directory"
    await reader.nothing_more(0.5)
    assert SECRET not in reader.raw


@pytest.fixture
def settings() -> dict:
    """Config fields a test sets with ``with_settings``."""
    return {}


def with_settings(**fields):
    """Run a test with these Config fields (token, users, cors_origin, ...)."""

    def mark(test):
        # usefixtures puts "settings" in the test's closure: the app is requested dynamically.
        test = pytest.mark.parametrize("settings", [fields], ids=["-".join(fields)])(test)
        return pytest.mark.usefixtures("settings")(test)

    return mark


@pytest.fixture
def app_config(served, settings) -> Config:
    return replace(TEST_CONFIG, paths=(str(served),), **settings)


TRAVERSALS = [
    "..%2fsecret.txt",
    "%2e%2e%2fsecret.txt",
    "%2E%2E%2Fsecret.txt",
    "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%252e%252e%252fsecret.txt",
    "..%255csecret.txt",
    "..%5csecret.txt",
    "..%5c..%5csecret.txt",
    "..\\secret.txt",
    "%2fetc%2fpasswd",
    "%2F{tmp}%2Fsecret.txt",
    "{tmp}/secret.txt",
    "app.log%00",
    "app.log%00.txt",
    "%00",
    "APP.LOG",
    "App.log",
    "app.log.",
    "app.log%20",
    "evil.log",
    "secret.txt",
    "x" * 5000,
    "..",
    "%2e%2e",
    ".",
]


@pytest.mark.parametrize("route", ["events", "view", "embed", "static"])
@pytest.mark.parametrize("name", TRAVERSALS)
async def test_only_listed_files_are_readable(http_server_client, tmp_path, route, name):
    path = f"/{route}/" + name.format(tmp=str(tmp_path).strip("/").replace("/", "%2F"))
    response = await http_server_client.fetch(path, raise_error=False, request_timeout=10)
    assert response.code == 404, (path, response.code)
    assert SECRET not in response.body and b"root:" not in response.body


@pytest.mark.parametrize(
    "name", ["..%2f..%2fsetup.cfg", "..%2findex.html", "viewer.JS", "VIEWER.js", "%2e%2e%2fREADME.md"]
)
async def test_static_is_an_allow_list_too(http_server_client, name):
    response = await http_server_client.fetch("/static/" + name, raise_error=False)
    assert response.code == 404
    assert b"[metadata]" not in response.body


async def test_listed_names_do_not_include_links_out(http_server_client):
    body = json.loads((await http_server_client.fetch("/api/files")).body)
    assert {f["name"] for f in body["files"]} == {"app.log", "current.log"}
    reader, _ = open_stream(http_server_client, "/events/current.log?lines=1")
    assert (await reader.next())["data"] == "hello"


# ---- authentication

PROTECTED = [
    "/",
    "/view/app.log",
    "/embed/app.log",
    "/events/app.log",
    "/api/files",
    "/events/nope",
    "/view/nope",
]


@with_settings(token=TOKEN)
@pytest.mark.parametrize("path", PROTECTED)
async def test_token_required_and_nothing_leaks(http_server_client, path):
    response = await http_server_client.fetch(path, raise_error=False)
    assert response.code == 401
    assert b"app.log" not in response.body and b"hello" not in response.body
    assert response.headers.get_list("WWW-Authenticate") == ['Bearer realm="tailsse"']
    assert "Set-Cookie" not in response.headers


@with_settings(token=TOKEN)
async def test_bearer_token(http_server_client):
    ok = await http_server_client.fetch("/api/files", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.code == 200 and b"app.log" in ok.body
    for value in [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer", f"Basic {TOKEN}", TOKEN]:
        response = await http_server_client.fetch(
            "/api/files", headers={"Authorization": value}, raise_error=False
        )
        assert response.code == 401, value
    assert (await http_server_client.fetch("/healthz")).code == 200  # stays open, names no file
    assert (await http_server_client.fetch("/static/viewer.js")).code == 200  # the viewer's code is public


@with_settings(token=TOKEN)
async def test_bearer_stream_for_curl(http_server_client):
    reader, _ = open_stream(
        http_server_client, "/events/app.log", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert (await reader.next())["data"] == "hello"


@with_settings(token=TOKEN)
@pytest.mark.parametrize(
    "page", ["/view/app.log?theme=dark&token={t}", "/embed/app.log?token={t}&wrap=0", "/?token={t}"]
)
async def test_token_in_url_becomes_a_cookie(http_server_client, page):
    response = await http_server_client.fetch(page.format(t=TOKEN), follow_redirects=False, raise_error=False)
    assert response.code == 302
    location = response.headers["Location"]
    assert TOKEN not in location and "token" not in location
    assert location == page.split("?")[0] + (
        "?" + "&".join(p for p in page.split("?")[1].split("&") if "token" not in p) if "&" in page else ""
    )
    cookie = response.headers["Set-Cookie"]
    attrs = [a.strip() for a in cookie.split(";")]
    assert "HttpOnly" in attrs and "SameSite=Lax" in attrs and "Path=/" in attrs and "Secure" not in attrs
    name_value = attrs[0]
    assert TOKEN not in name_value  # the browser holds a derived value, never the token
    followed = await http_server_client.fetch(location, headers={"Cookie": name_value})
    assert followed.code == 200 and b"tailsse" in followed.body
    files = await http_server_client.fetch("/api/files", headers={"Cookie": name_value})
    assert b"app.log" in files.body
    reader, _ = open_stream(http_server_client, "/events/app.log", headers={"Cookie": name_value})
    assert (await reader.next())["data"] == "hello"


@with_settings(token=TOKEN, base_path="/logs")
async def test_token_exchange_under_a_base_path(http_server_client):
    response = await http_server_client.fetch(
        f"/logs/embed/app.log?token={TOKEN}", follow_redirects=False, raise_error=False
    )
    assert response.code == 302 and response.headers["Location"] == "/logs/embed/app.log"
    assert "Path=/logs/" in response.headers["Set-Cookie"]
    response = await http_server_client.fetch("/logs/embed/app.log", raise_error=False)
    assert response.code == 401


@with_settings(token=TOKEN)
async def test_wrong_token_or_cookie_is_refused(http_server_client):
    response = await http_server_client.fetch(
        "/view/app.log?token=wrong-token-wrong-token", raise_error=False
    )
    assert response.code == 401 and "Set-Cookie" not in response.headers
    response = await http_server_client.fetch(
        "/view/app.log", headers={"Cookie": "tailsse_auth=" + "0" * 64}, raise_error=False
    )
    assert response.code == 401


@with_settings(token=TOKEN, trusted_proxy=("127.0.0.1",))
async def test_cookie_over_https_works_in_third_party_frames(http_server_client):
    response = await http_server_client.fetch(
        f"/embed/app.log?token={TOKEN}",
        headers={"X-Forwarded-Proto": "https"},
        follow_redirects=False,
        raise_error=False,
    )
    attrs = [a.strip() for a in response.headers["Set-Cookie"].split(";")]
    assert {"Secure", "SameSite=None", "Partitioned", "HttpOnly"} <= set(attrs)


@with_settings(token=TOKEN)
async def test_token_in_stream_url_is_accepted_without_redirect(http_server_client):
    reader, _ = open_stream(http_server_client, f"/events/app.log?token={TOKEN}")
    assert (await reader.next())["data"] == "hello"


HASHED = auth.hash_password("wonderland")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@with_settings(users=(("alice", HASHED),))
async def test_basic_auth(http_server_client, monkeypatch):
    response = await http_server_client.fetch("/view/app.log", raise_error=False)
    assert response.code == 401
    assert response.headers.get_list("WWW-Authenticate") == ['Basic realm="tailsse", charset="UTF-8"']
    assert b"app.log" not in response.body
    for headers in [
        basic("alice", "wrong"),
        basic("bob", "wonderland"),
        basic("alice", ""),
        {"Authorization": "Basic !!!"},
    ]:
        response = await http_server_client.fetch("/api/files", headers=headers, raise_error=False)
        assert response.code == 401
    ok = await http_server_client.fetch("/api/files", headers=basic("alice", "wonderland"))
    assert b"app.log" in ok.body
    # Verified once: later requests do not hash again (scrypt is slow on purpose).
    monkeypatch.setattr(auth, "verify_password", lambda *a: pytest.fail("hashed again"))
    reader, _ = open_stream(http_server_client, "/events/app.log", headers=basic("alice", "wonderland"))
    assert (await reader.next())["data"] == "hello"


@with_settings(users=(("alice", HASHED),), token=TOKEN)
async def test_token_and_users_together(http_server_client):
    response = await http_server_client.fetch("/", raise_error=False)
    assert response.code == 401 and len(response.headers.get_list("WWW-Authenticate")) == 2
    assert (await http_server_client.fetch("/", headers=basic("alice", "wonderland"))).code == 200
    assert (await http_server_client.fetch("/", headers={"Authorization": f"Bearer {TOKEN}"})).code == 200


def test_password_hashes():
    encoded = auth.hash_password("s3cret")
    assert encoded.startswith("$scrypt$ln=14,r=8,p=1$")
    assert auth.verify_password("s3cret", encoded)
    assert not auth.verify_password("s3cret!", encoded)
    assert not auth.verify_password("s3cret", "$scrypt$garbage")
    # PBKDF2 (python3 -c one-liner in the README) is accepted too.
    salt = b"0123456789abcdef"
    digest = __import__("hashlib").pbkdf2_hmac("sha256", b"pw", salt, 600000)
    pbkdf2 = f"$pbkdf2-sha256$i=600000${base64.b64encode(salt).decode().rstrip('=')}${base64.b64encode(digest).decode().rstrip('=')}"
    assert auth.verify_password("pw", pbkdf2) and not auth.verify_password("px", pbkdf2)


def test_hash_password_command_makes_a_users_file_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tailsse", "hash-password", "alice"],
        input="wonderland\n",
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    assert "wonderland" not in result.stdout
    users = tmp_path / "users"
    users.write_text("# who may read\n\n" + result.stdout)
    ((user, encoded),) = auth.read_users(str(users))
    assert user == "alice" and auth.verify_password("wonderland", encoded)


@pytest.mark.parametrize(
    "content",
    [
        "",
        "# only comments\n",
        "alice\n",
        "alice:plaintext\n",
        ":$scrypt$ln=14,r=8,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA\n",
        "alice:$scrypt$ln=30,r=8,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA\n",
    ],
)
def test_bad_users_file_is_a_clear_error(tmp_path, content):
    users = tmp_path / "users"
    users.write_text(content)
    with pytest.raises(ValueError, match="--users-file"):
        load_config(users_file=str(users))


# ---- the real program: secrets from the environment or a file, never in its log


def test_token_from_environment_and_file_never_logged(tmp_path, server_process):
    log = tmp_path / "app.log"
    log.write_bytes(b"line\n")
    env = dict(os.environ, TAILSSE_TOKEN=TOKEN)
    server = server_process(str(log), env=env)
    assert TOKEN not in " ".join(server.proc.args)
    url = server.url
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url + "api/files", timeout=5)
    assert refused.value.code == 401
    request = urllib.request.Request(url + "api/files", headers={"Authorization": f"Bearer {TOKEN}"})
    assert b"app.log" in urllib.request.urlopen(request, timeout=5).read()
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(url + f"view/app.log?token={TOKEN}", timeout=5)
    assert redirected.value.code == 302
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url + f"view/app.log?%74oken={TOKEN}x&lines=1", timeout=5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        # A header tornado cannot parse is quoted in its log message; the secret must not be.
        sock.sendall(
            f"GET /api/files HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\x01\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    server.stop()
    assert "Malformed HTTP message" in server.stderr
    assert TOKEN not in server.stderr
    assert "token=REDACTED" in server.stderr and "%74oken=REDACTED" in server.stderr
    assert "Traceback" not in server.stderr

    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    env.pop("TAILSSE_TOKEN")
    server = server_process(str(log), "--token-file", str(token_file), env=env)
    request = urllib.request.Request(server.url + "api/files", headers={"Authorization": f"Bearer {TOKEN}"})
    assert urllib.request.urlopen(request, timeout=5).status == 200
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(server.url + "api/files", timeout=5)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@with_settings(token=TOKEN, users=(("alice", HASHED),))
async def test_access_log_redacts_tokens_and_never_logs_authorization(http_server_client, caplog):
    caplog.set_level(logging.DEBUG)
    await http_server_client.fetch(
        f"/view/app.log?token={TOKEN}&theme=dark", follow_redirects=False, raise_error=False
    )
    await http_server_client.fetch(f"/view/app.log?token={TOKEN}x", raise_error=False)
    await http_server_client.fetch(f"/nope?TOKEN={TOKEN}", raise_error=False)
    await http_server_client.fetch(f"/static/..%2fx?token={TOKEN}", raise_error=False)
    await http_server_client.fetch("/api/files", headers={"Authorization": f"Bearer {TOKEN}"})
    await http_server_client.fetch("/api/files", headers=basic("alice", "wonderland"))
    await http_server_client.fetch(
        "/api/files", headers=basic("alice", "not-the-password"), raise_error=False
    )
    text = caplog.text
    assert text.count("REDACTED") >= 4
    assert TOKEN not in text and "wonderland" not in text and "not-the-password" not in text
    assert base64.b64encode(b"alice:wonderland").decode() not in text
    assert "Authorization" not in text and "Bearer" not in text


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("/a?token=x", "/a?token=REDACTED"),
        ("/a?b=1&token=x&c=2", "/a?b=1&token=REDACTED&c=2"),
        ("/a?%74oken=x", "/a?%74oken=REDACTED"),
        ("/a?Token=x&token", "/a?Token=REDACTED&token=REDACTED"),
        ("/a?tokens=x", "/a?tokens=x"),
        ("/a", "/a"),
    ],
)
def test_redact_uri(uri, expected):
    assert redact_uri(uri) == expected


# ---- TLS


def make_certificate(directory) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    cert, key = str(directory / "cert.pem"), str(directory / "key.pem")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return cert, key


def test_https_with_certfile_and_keyfile(tmp_path):
    cert, key = make_certificate(tmp_path)
    log = tmp_path / "app.log"
    log.write_bytes(b"over tls\n")
    cmd = [
        sys.executable,
        "-m",
        "tailsse",
        "serve",
        str(log),
        "--port",
        "0",
        "--certfile",
        cert,
        "--keyfile",
        key,
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"https://127\.0\.0\.1:(\d+)/", line)
        assert match, line + (proc.stderr.read() if proc.poll() is not None else "")
        url = match.group(0)
        context = ssl.create_default_context(cafile=cert)
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(url + "healthz", timeout=2, context=context).read()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        with urllib.request.urlopen(url + "events/app.log", timeout=5, context=context) as stream:
            assert stream.headers["Content-Type"].startswith("text/event-stream")
            seen = b""
            while b"data: over tls" not in seen:
                seen += stream.read1(65536)
            append(log, b"second\n")
            while b"data: second" not in seen:
                seen += stream.read1(65536)
        # A search over TLS is answered whole by the server (a scanner cannot speak TLS).
        with urllib.request.urlopen(url + "api/search/app.log?q=second", timeout=5, context=context) as found:
            assert [m["text"] for m in json.loads(found.read())["matches"]] == ["second"]
        # Plain HTTP to the TLS port gets nothing.
        with pytest.raises(OSError):
            urllib.request.urlopen(url.replace("https", "http") + "healthz", timeout=2).read()
    finally:
        proc.terminate()
        proc.wait(5)
        stderr = proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--certfile", "/nonexistent.pem"], "--certfile"),
        (["--keyfile", "/nonexistent.pem"], "--keyfile needs --certfile"),
        (["--certfile", __file__], "--certfile"),
    ],
)
def test_bad_certificates_are_one_line(tmp_path, args, needle):
    result = subprocess.run(
        [sys.executable, "-m", "tailsse", "serve", str(tmp_path / "a.log"), *args],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2 and needle in result.stderr and len(result.stderr.strip().splitlines()) == 1


# ---- CORS


def cors_headers(response) -> dict[str, str]:
    return {
        k.lower(): v
        for k, v in response.headers.get_all()
        if k.lower().startswith("access-control") or k.lower() == "vary"
    }


async def stream_head(client, path: str, headers: dict[str, str]) -> dict[str, str]:
    """The response headers of an event stream (which never ends by itself)."""
    import asyncio

    got: dict[str, str] = {}
    started = asyncio.get_running_loop().create_future()

    def header(line: str) -> None:
        key, sep, value = line.partition(":")
        if sep:
            got[key.strip().lower()] = value.strip()
        elif line.strip() == "" and not started.done():
            started.set_result(None)

    client.fetch(
        path,
        headers=headers,
        header_callback=header,
        streaming_callback=lambda c: None,
        request_timeout=60,
        raise_error=False,
    )
    await asyncio.wait_for(started, 5)
    return {k: v for k, v in got.items() if k.startswith("access-control") or k == "vary"}


async def test_no_cors_headers_without_the_option(http_server_client):
    assert (
        await stream_head(http_server_client, "/events/app.log", {"Origin": "https://dash.example.com"}) == {}
    )
    response = await http_server_client.fetch("/events/app.log", method="OPTIONS", raise_error=False)
    assert response.code == 405 and cors_headers(response) == {}


@with_settings(cors_origin=("https://dash.example.com", "http://localhost:3000"))
async def test_cors_for_listed_origins_only(http_server_client):
    got = await stream_head(http_server_client, "/events/app.log", {"Origin": "https://dash.example.com"})
    assert got == {
        "access-control-allow-origin": "https://dash.example.com",
        "access-control-allow-credentials": "true",
        "vary": "Origin",
    }
    got = await stream_head(http_server_client, "/events/app.log", {"Origin": "https://evil.example.com"})
    assert got == {"vary": "Origin"}
    preflight = await http_server_client.fetch(
        "/events/app.log",
        method="OPTIONS",
        headers={"Origin": "http://localhost:3000", "Access-Control-Request-Headers": "last-event-id"},
    )
    assert preflight.code == 204
    headers = cors_headers(preflight)
    assert headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "Last-Event-ID" in headers["access-control-allow-headers"]
    # Only the event stream is offered to other origins.
    assert (
        cors_headers(
            await http_server_client.fetch("/api/files", headers={"Origin": "http://localhost:3000"})
        )
        == {}
    )


@with_settings(cors_origin=("*",), token=TOKEN)
async def test_cors_any_origin_never_with_credentials(http_server_client):
    got = await stream_head(
        http_server_client, f"/events/app.log?token={TOKEN}", {"Origin": "https://a.example"}
    )
    assert got["access-control-allow-origin"] == "*" and "access-control-allow-credentials" not in got
    # The preflight needs no credentials; the stream itself does.
    preflight = await http_server_client.fetch(
        "/events/app.log", method="OPTIONS", headers={"Origin": "https://a.example"}
    )
    assert preflight.code == 204
    refused = await http_server_client.fetch(
        "/events/app.log", headers={"Origin": "https://a.example"}, raise_error=False
    )
    assert refused.code == 401


@pytest.mark.parametrize(
    "origin", ["dash.example.com", "https://dash.example.com/path", "ftp://x", "https://", "https://a:b@x"]
)
def test_bad_cors_origins(origin):
    with pytest.raises(ValueError, match="--cors-origin"):
        Config(cors_origin=(origin,))


def test_browser_trades_the_token_for_a_cookie_and_streams(tmp_path, server_process):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("chromium is not installed (scripts/install-system-deps installs it)")
    log = tmp_path / "app.log"
    log.write_bytes(b"first line\n")
    server = server_process(str(log), env=dict(os.environ, TAILSSE_TOKEN=TOKEN))
    with sync_api.sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
        except sync_api.Error as exc:
            pytest.skip(f"chromium does not start here: {exc}")
        try:
            page = browser.new_page()
            page.goto(server.url + f"embed/app.log?theme=dark&token={TOKEN}")
            assert page.url == server.url + "embed/app.log?theme=dark"
            page.wait_for_selector("#log .row:has-text('first line')", timeout=10000)
            append(log, b"second line\n")
            page.wait_for_selector("#log .row:has-text('second line')", timeout=10000)
            (cookie,) = page.context.cookies()
            assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and TOKEN not in cookie["value"]
            # The server comes back with another token: the page says why it cannot go on.
            port = server.port
            server.stop()
            env = dict(os.environ, TAILSSE_TOKEN=TOKEN + "-rotated")
            server_process(str(log), "--port", str(port), env=env)
            page.wait_for_selector(
                "#status[title^='Authentication required']", state="attached", timeout=15000
            )
            fresh = browser.new_page()
            assert fresh.goto(server.url + "view/app.log").status == 401
        finally:
            browser.close()
