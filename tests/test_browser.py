"""The viewer in a real browser: Playwright driving Debian's chromium against real servers."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import append

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')"
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

XSS = ["<img src=x onerror=alert(1)>", "</script><script>alert(1)</script>", "<b>bold</b> &amp; <i>x</i>"]


@pytest.fixture(scope="module")
def browser():
    """One chromium for the module; skipped with a reason when it cannot run here."""
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        pytest.skip("chromium is not installed (scripts/install-system-deps installs it)")
    manager = sync_api.sync_playwright().start()
    try:
        try:
            instance = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30000)
        except sync_api.Error as exc:
            pytest.skip(f"chromium does not start here: {exc}")
        yield instance
        instance.close()
    finally:
        manager.stop()


class Page:
    """A page in a fresh context, with its dialogs and script errors recorded."""

    def __init__(self, browser, csp: bool = False, **options) -> None:
        options.setdefault("viewport", {"width": 1100, "height": 640})
        # Tests evaluate scripts in the page, which the viewer's CSP (rightly) forbids; the
        # XSS checks therefore prove the rendering itself is safe, without the CSP's help.
        self.context = browser.new_context(bypass_csp=not csp, **options)
        self.context.set_default_timeout(10000)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", self._dialog)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def new_page(browser):
    pages: list[Page] = []

    def make(**options) -> Page:
        page = Page(browser, **options)
        pages.append(page)
        return page

    yield make
    for page in pages:
        assert page.errors == [], page.errors
        page.close()


def write_lines(path, lines: list[str]) -> None:
    append(path, "".join(line + "\n" for line in lines).encode())


def line_texts(page) -> list[str]:
    return page.eval_on_selector_all("#log .row:not(.meta) .tx", "els => els.map(e => e.textContent)")


def wait_rows(page, count: int, timeout: float = 10000) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('#log .row:not(.meta)').length === n", arg=count, timeout=timeout
    )


def wait_status(page, state: str, timeout: float = 10000) -> None:
    page.wait_for_function(
        "s => document.getElementById('status').dataset.state === s", arg=state, timeout=timeout
    )


def at_bottom(page) -> bool:
    return page.evaluate(
        "() => { const l = document.getElementById('log'); "
        "return l.scrollHeight - l.scrollTop - l.clientHeight <= 24; }"
    )


def scroll_up(page) -> None:
    box = page.locator("#log").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, -800)
    page.wait_for_selector("html.paused", state="attached")


# ---------------------------------------------------------------------------- viewing


def test_live_lines_xss_and_file_events_under_a_base_path(server_process, log_file, new_page):
    write_lines(log_file, ["first line", *XSS])
    server = server_process(str(log_file), "--base-path", "/logs/")
    p = new_page()
    page = p.page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 4)
    wait_status(page, "live")
    write_lines(log_file, ["second <script>window.pwned = 1</script>", "third"])
    wait_rows(page, 6)
    assert line_texts(page) == ["first line", *XSS, "second <script>window.pwned = 1</script>", "third"]
    # Shown literally; nothing ran and nothing became an element.
    assert page.locator("#log img, #log script, #log b, #log i").count() == 0
    assert page.evaluate("() => window.pwned === undefined")
    page.wait_for_timeout(200)
    assert p.dialogs == []
    assert page.locator("#log", has_text="<img src=x onerror=alert(1)>").is_visible()

    # Truncation shows as a separator row, then lines continue.
    with open(log_file, "wb"):
        pass
    page.wait_for_selector("#log .row.meta-truncated")
    write_lines(log_file, ["after truncation"])
    wait_rows(page, 7)
    assert line_texts(page)[-1] == "after truncation"
    assert "truncated" in page.inner_text("#log .row.meta-truncated")
    assert page.url.startswith(server.url + "view/app.log")


def test_follow_pause_resume_loses_nothing(server_process, log_file, new_page):
    write_lines(log_file, [f"line {i:04d}" for i in range(200)])
    server = server_process(str(log_file), "--lines", "1000")
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 200)
    assert at_bottom(page)

    # Scrolling up pauses: the view stays still and new lines are counted, not shown.
    scroll_up(page)
    top = page.evaluate("() => document.getElementById('log').scrollTop")
    write_lines(log_file, [f"line {i:04d}" for i in range(200, 250)])
    page.wait_for_selector("#jump:has-text('50 new lines')")
    assert page.locator("#log .row").count() == 200
    assert page.evaluate("() => document.getElementById('log').scrollTop") == top
    # End jumps back down and shows every held line.
    page.keyboard.press("End")
    wait_rows(page, 250)
    assert at_bottom(page) and page.locator("#jump").is_hidden()

    # The explicit pause button holds lines even at the bottom of the page.
    page.click("#pause")
    assert page.get_attribute("#pause", "aria-pressed") == "true"
    write_lines(log_file, [f"line {i:04d}" for i in range(250, 280)])
    page.wait_for_selector("#jump:has-text('30 new lines')")
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(150)
    assert page.locator("#log .row").count() == 250
    page.click("#pause")
    wait_rows(page, 280)

    # Following again: new lines arrive at the bottom; the jump button also resumes.
    write_lines(log_file, [f"line {i:04d}" for i in range(280, 300)])
    wait_rows(page, 300)
    assert at_bottom(page)
    scroll_up(page)
    write_lines(log_file, [f"line {i:04d}" for i in range(300, 301)])
    page.wait_for_selector("#jump:has-text('1 new line')")
    page.click("#jump")
    wait_rows(page, 301)
    assert line_texts(page) == [f"line {i:04d}" for i in range(301)]

    # The page keeps only the newest lines it is told to keep (the file keeps them all).
    page.goto(server.url + "view/app.log?keep=100")
    wait_rows(page, 100)
    assert line_texts(page) == [f"line {i:04d}" for i in range(201, 301)]
    assert page.input_value("#keep") == "100"


def test_filter_highlight_count_url_copy_and_download(server_process, log_file, new_page, tmp_path):
    lines = [
        "2026-11-24 INFO GET /api/users 200",
        "2026-11-24 ERROR db: connection reset",
        "2026-11-24 INFO GET /api/orders 201",
        "2026-11-24 WARN error budget at 80% (error, error)",
        "2026-11-24 DEBUG cache hit",
    ]
    write_lines(log_file, lines)
    server = server_process(str(log_file))
    p = new_page(permissions=["clipboard-read", "clipboard-write"])
    page = p.page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 5)

    page.fill("#filter", "error")
    wait_rows(page, 2)
    assert page.inner_text("#count") == "4 matches in 2 of 5 lines"
    assert page.eval_on_selector_all("#log mark", "ms => ms.map(m => m.textContent)") == [
        "ERROR",
        "error",
        "error",
        "error",
    ]
    page.wait_for_function("() => location.search.includes('filter=error')")
    # New lines are filtered too.
    write_lines(log_file, ["2026-11-24 INFO all good", "2026-11-24 ERROR disk full"])
    wait_rows(page, 3)
    assert line_texts(page)[-1] == "2026-11-24 ERROR disk full"

    page.click("#case")
    wait_rows(page, 1)
    assert line_texts(page) == ["2026-11-24 WARN error budget at 80% (error, error)"]
    page.click("#case")
    page.click("#regex")
    page.fill("#filter", r"GET /api/(users|orders) 20\d")
    wait_rows(page, 2)
    assert page.eval_on_selector_all("#log mark", "ms => ms.map(m => m.textContent)") == [
        "GET /api/users 200",
        "GET /api/orders 201",
    ]
    page.fill("#filter", "(")
    page.wait_for_selector("#count.bad")
    page.fill("#filter", "users|disk")
    wait_rows(page, 2)

    # The URL carries the filter: a shared link opens the same view.
    shared = page.url
    assert "regex=1" in shared
    other = new_page().page
    other.goto(shared)
    wait_rows(other, 2)
    assert other.input_value("#filter") == "users|disk"
    assert line_texts(other) == line_texts(page)

    # Download what is shown.
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "shown.log"
    info.value.save_as(saved)
    assert saved.read_text(encoding="utf-8").splitlines() == line_texts(page)

    # Copy one line.
    page.hover("#log .row:first-child")
    page.click("#log .row:first-child [data-act=copy]")
    page.wait_for_selector("#toast:has-text('copied')")
    assert page.evaluate("() => navigator.clipboard.readText()") == "2026-11-24 INFO GET /api/users 200"


def test_levels_ansi_and_json(server_process, log_file, new_page):
    lines = [
        "\x1b[31mred text\x1b[0m then plain",
        "\x1b[1;32mINFO\x1b[0m started \x1b[38;5;208morange\x1b[0m \x1b[38;2;10;200;30mtrue\x1b[39m \x1b[2Kdone",
        "2026-11-24 FATAL out of memory",
        "2026-11-24 CRITICAL disk",
        "2026-11-24 ERR timeout",
        "2026-11-24 WARNING slow",
        "2026-11-24 TRACE enter f()",
        "ts=1 level=debug msg=hello",
        '{"level": "error", "msg": "payment declined", "code": 402}',
        "\x1b[7minverse\x1b[27m \x1b[4;9munder-struck\x1b[0m \x1b]0;title\x07after osc",
    ]
    write_lines(log_file, lines)
    server = server_process(str(log_file))
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_rows(page, len(lines))
    texts = line_texts(page)
    assert all("\x1b" not in t and "[31m" not in t and "\x07" not in t for t in texts)
    assert texts[0] == "red text then plain"
    assert texts[1] == "INFO started orange true done"
    assert texts[9] == "inverse under-struck after osc"
    assert page.inner_text("#log .row:nth-child(1) .a-fg1") == "red text"
    assert page.inner_text("#log .row:nth-child(2) .a-fg2.a-b") == "INFO"
    assert page.locator("#log .row:nth-child(2) .a-fgx").count() == 2
    assert page.locator("#log .row:nth-child(10) .a-fg-inv.a-bg-inv").count() == 1

    classes = page.eval_on_selector_all("#log .row", "rs => rs.map(r => r.className)")
    levels = [next((c for c in cls.split() if c.startswith("lv-")), None) for cls in classes]
    assert levels == [
        None,
        "lv-info",
        "lv-fatal",
        "lv-fatal",
        "lv-error",
        "lv-warn",
        "lv-trace",
        "lv-debug",
        "lv-error",
        None,
    ]

    # The 16 ANSI colours stay readable on both themes (WCAG contrast of at least 3:1).
    contrast = """() => {
      const lum = c => { const v = c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(x => +x / 255)
        .map(x => x <= 0.03928 ? x / 12.92 : Math.pow((x + 0.055) / 1.055, 2.4));
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      const bg = getComputedStyle(document.getElementById('log')).backgroundColor === 'rgba(0, 0, 0, 0)'
        ? getComputedStyle(document.body).backgroundColor : getComputedStyle(document.getElementById('log')).backgroundColor;
      const out = [];
      for (let i = 1; i < 16; i++) {
        if (i === 8) continue;
        const s = document.createElement('span'); s.className = 'a-fg' + i; document.getElementById('log').appendChild(s);
        const a = lum(getComputedStyle(s).color), b = lum(bg); s.remove();
        out.push((Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05));
      }
      return Math.min(...out);
    }"""
    assert page.evaluate(contrast) >= 3
    page.click("#theme")
    page.click("#theme")
    assert page.get_attribute("html", "data-theme") == "dark"
    assert page.evaluate(contrast) >= 3

    # JSON lines can be pretty-printed, one at a time or all together.
    json_row = "#log .row:nth-child(9)"
    page.hover(json_row)
    page.click(json_row + " [data-act=json]")
    page.wait_for_selector("#log .row.pretty")
    assert '\n  "msg": "payment declined",\n' in page.inner_text("#log .row.pretty .tx")
    page.click("#json")
    page.click("#json")
    assert page.locator("#log .row.pretty").count() == 0
    page.click("#json")
    assert page.locator("#log .row.pretty").count() == 1
    assert page.locator("#log .row.pretty .j-key").count() == 3


def test_theme_follows_system_and_toggles(server_process, log_file, new_page):
    write_lines(log_file, ["hello"])
    server = server_process(str(log_file))
    background = "() => getComputedStyle(document.body).backgroundColor"
    dark = new_page(color_scheme="dark").page
    dark.goto(server.url + "view/app.log")
    wait_rows(dark, 1)
    assert dark.get_attribute("html", "data-theme") is None
    assert dark.evaluate(background) == "rgb(13, 17, 23)"

    page = new_page(color_scheme="light").page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 1)
    assert page.evaluate(background) == "rgb(255, 255, 255)"
    assert page.inner_text("#theme-label") == "Auto"
    page.click("#theme")
    assert page.inner_text("#theme-label") == "Light"
    page.click("#theme")
    assert page.inner_text("#theme-label") == "Dark"
    assert page.evaluate(background) == "rgb(13, 17, 23)"
    # Remembered by this browser, and wrap / times toggle.
    page.reload()
    wait_rows(page, 1)
    assert page.get_attribute("html", "data-theme") == "dark"
    page.click("#wrap")
    assert "nowrap" in page.get_attribute("#log", "class")
    page.click("#time")
    assert page.locator("#log .row .ts").count() == 1


def test_several_files_listed_and_switchable(server_process, tmp_path, new_page):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    write_lines(a, ["from a"])
    write_lines(b, ["from b 1", "from b 2"])
    server = server_process(str(a), str(b))
    page = new_page().page
    page.goto(server.url)
    page.wait_for_selector("#picker li >> nth=1")
    assert page.inner_text("#picker").count(".log") == 2
    page.click("#picker a:has-text('b.log')")
    wait_rows(page, 2)
    assert page.url == server.url + "view/b.log"
    page.select_option("#file", "a.log")
    wait_rows(page, 1)
    assert line_texts(page) == ["from a"] and page.url == server.url + "view/a.log"
    page.go_back()
    wait_rows(page, 2)
    assert line_texts(page) == ["from b 1", "from b 2"]
    # A file that goes missing says so, in the status and the log.
    b.unlink()
    wait_status(page, "missing")
    page.wait_for_selector("#log .row.meta-missing")


def test_reconnects_after_a_server_restart_without_duplicates(server_process, log_file, new_page):
    write_lines(log_file, [f"line {i:03d}" for i in range(20)])
    first = server_process(str(log_file), "--lines", "1000")
    page = new_page().page
    page.goto(first.url + "view/app.log")
    wait_rows(page, 20)
    wait_status(page, "live")
    first.stop()
    page.wait_for_function("() => document.getElementById('status').dataset.state !== 'live'")
    write_lines(log_file, [f"line {i:03d}" for i in range(20, 30)])  # written while down
    second = server_process(str(log_file), "--lines", "1000", "--port", str(first.port))
    assert second.url == first.url
    wait_status(page, "live")
    write_lines(log_file, [f"line {i:03d}" for i in range(30, 40)])
    wait_rows(page, 40)
    page.wait_for_timeout(300)
    assert line_texts(page) == [f"line {i:03d}" for i in range(40)]


def test_over_long_lines_arrive_whole_and_busy_servers_say_so(server_process, log_file, new_page):
    long_line = "".join(f"{i:03d}é" for i in range(300))  # sent in pieces of at most 64 bytes
    write_lines(log_file, ["short", long_line, "after"])
    server = server_process(str(log_file), "--max-line-bytes", "64", "--max-clients", "1")
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 3)
    assert line_texts(page) == ["short", long_line, "after"]
    # A second viewer beyond --max-clients is told to come back later, and shows it.
    other = new_page().page
    other.goto(server.url + "view/app.log")
    wait_status(other, "busy")
    assert other.inner_text("#status") == "Server busy"


# ---------------------------------------------------------------------------- resuming


class FlakyProxy:
    """A reverse proxy in front of a server that can be made to answer 502 Bad Gateway, as
    a real one does while its upstream restarts (the stream then gives up for good). Going
    down also cuts every connection open through it. One request per connection, so every
    request is seen: ``requests`` holds (down?, request line, Last-Event-ID header or None).
    """

    def __init__(self, port: int) -> None:
        self.upstream = ("127.0.0.1", port)
        self.down = False
        self.requests: list[tuple[bool, str, str | None]] = []
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/"
        threading.Thread(target=self._accept, daemon=True).start()

    def go_down(self) -> None:
        with self._lock:
            self.down = True
            cut = list(self._open)
        for sock in cut:
            self._shut(sock)

    def go_up(self) -> None:
        with self._lock:
            self.down = False

    def events_requests(self) -> list[tuple[bool, str, str | None]]:
        with self._lock:
            return [r for r in self.requests if " /events/" in r[1]]

    def close(self) -> None:
        self.listener.close()
        self.go_down()

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                head += chunk
            lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            fields = dict(h.partition(":")[::2] for h in lines[1:])
            last_id = next((v.strip() for k, v in fields.items() if k.lower() == "last-event-id"), None)
            with self._lock:
                down = self.down
                self.requests.append((down, lines[0], last_id))
            if down:
                conn.sendall(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\n"
                    b"Content-Length: 11\r\nConnection: close\r\n\r\nBad Gateway"
                )
                return
            kept = [h for h in lines[1:] if not h.lower().startswith("connection:")]
            request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode("latin-1")
            with socket.create_connection(self.upstream) as up:
                with self._lock:
                    self._open.update((conn, up))
                back = threading.Thread(target=self._pipe, args=(up, conn, True), daemon=True)
                back.start()
                up.sendall(request + head.split(b"\r\n\r\n", 1)[1])
                self._pipe(conn, up, False)
                back.join(10)
                with self._lock:
                    self._open.difference_update((conn, up))

    def _pipe(self, src: socket.socket, dst: socket.socket, response: bool) -> None:
        head = b"" if response else None  # the response head, until Connection: close is in
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if head is not None:
                    head += data
                    if b"\r\n\r\n" not in head:
                        continue
                    top, rest = head.split(b"\r\n\r\n", 1)
                    fields = [h for h in top.split(b"\r\n") if not h.lower().startswith(b"connection:")]
                    data = b"\r\n".join([*fields, b"Connection: close", b"", b""]) + rest
                    head = None
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._shut(src)
            self._shut(dst)


@pytest.fixture
def flaky_proxy():
    proxies: list[FlakyProxy] = []

    def make(port: int) -> FlakyProxy:
        proxy = FlakyProxy(port)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


# Records every event stream the page opens (web/eventstream.js reads them with fetch): its
# URL, and the lines and ids the server sent on it, read from a copy of the response body.
RECORD_STREAMS = """
window.__streams = [];
const realFetch = window.fetch;
window.fetch = async function (input, init) {
  const response = await realFetch.call(this, input, init);
  const url = new URL(String(input), document.baseURI).href;
  const accept = init && init.headers && init.headers.Accept;
  if (accept !== "text/event-stream" || !response.body) return response;
  const rec = { url, data: [], ids: [], status: response.status };
  window.__streams.push(rec);
  const [mine, theirs] = response.body.tee();
  (async () => {
    const reader = theirs.getReader();
    const decoder = new TextDecoder();
    let rest = "", data = null, type = "", id = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const lines = (rest + decoder.decode(value, { stream: true })).split("\\n");
        rest = lines.pop();
        for (const line of lines) {
          if (line === "") {
            if (data !== null && type === "") { rec.data.push(data); rec.ids.push(id); }
            data = null; type = "";
          } else if (line.startsWith("data: ")) data = data === null ? line.slice(6) : data + "\\n" + line.slice(6);
          else if (line.startsWith("id: ")) id = line.slice(4);
          else if (line.startsWith("event: ")) type = line.slice(7);
        }
      }
    } catch {
      // aborted: the viewer closed this stream
    }
  })();
  return new Response(mine, { status: response.status, statusText: response.statusText, headers: response.headers });
};
"""


def wait_texts(page, texts: list[str], timeout: float = 20000) -> None:
    page.wait_for_function(
        """want => { const got = [...document.querySelectorAll('#log .row:not(.meta) .tx')].map(e => e.textContent);
           return got.length === want.length && got.every((t, i) => t === want[i]); }""",
        arg=texts,
        timeout=timeout,
    )


def resume_through_a_failing_proxy(
    page, proxy: FlakyProxy, log_file, shown: list[str], more: list[str]
) -> None:
    """The proxy answers 502 while more lines than the backlog are written; the page then
    shows every line exactly once, in order, and every stream it opened again resumed."""
    wait_texts(page, shown)
    wait_status(page, "live")
    proxy.go_down()
    wait_status(page, "offline")  # the stream gave up for good
    write_lines(log_file, more)
    # The viewer's own first retry is refused too.
    deadline = time.monotonic() + 10
    while sum(1 for down, _, _ in proxy.events_requests() if down) < 2:
        assert time.monotonic() < deadline, proxy.events_requests()
        time.sleep(0.05)
    proxy.go_up()
    wait_texts(page, shown + more)
    wait_status(page, "live")
    page.wait_for_timeout(300)
    assert line_texts(page) == shown + more
    requests = proxy.events_requests()
    # Every stream after the first resumed from a position: the stream's own reconnects with
    # Last-Event-ID, the viewer's with ?after= (and no backlog asked for then).
    assert all("after=" in line or last_id for _, line, last_id in requests[1:]), requests
    mine = [line for _, line, _ in requests if "after=" in line]
    assert mine and all("lines=" not in line for line in mine), requests
    assert any("after=" in line for down, line, _ in requests if not down), requests


def test_resumes_after_the_last_line_when_the_browser_gives_up(
    server_process, log_file, new_page, flaky_proxy
):
    write_lines(log_file, [f"line {i:03d}" for i in range(150)])
    server = server_process(str(log_file), "--lines", "100")
    proxy = flaky_proxy(server.port)
    page = new_page().page
    page.goto(proxy.url + "view/app.log?lines=100")
    shown = [f"line {i:03d}" for i in range(50, 150)]
    more = [f"line {i:03d}" for i in range(150, 450)]  # three times the backlog
    resume_through_a_failing_proxy(page, proxy, log_file, shown, more)
    # And live lines keep coming, once each.
    write_lines(log_file, ["line 450"])
    wait_rows(page, 401)
    assert line_texts(page)[-2:] == ["line 449", "line 450"]


def test_redis_mode_resumes_after_the_last_line_when_the_browser_gives_up(
    server_process, tmp_path, new_page, flaky_proxy
):
    redis_tests = pytest.importorskip("tests.test_redis")
    directory = tmp_path / "redis"
    directory.mkdir()
    redis_server = redis_tests.RedisServer(str(directory))
    redis_server.start()
    log = tmp_path / "app.log"
    write_lines(log, [f"line {i:03d}" for i in range(150)])
    agent = subprocess.Popen(
        [sys.executable, "-m", "tailsse", "agent", str(log), "--redis", redis_server.url, "--source", "web1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "source web1" in agent.stdout.readline()
        server = server_process("--redis", redis_server.url, "--lines", "100")
        proxy = flaky_proxy(server.port)
        page = new_page().page
        page.add_init_script(RECORD_STREAMS)
        page.goto(proxy.url + "view/web1%2Fapp.log")
        shown = [f"line {i:03d}" for i in range(50, 150)]
        more = [f"line {i:03d}" for i in range(150, 450)]
        resume_through_a_failing_proxy(page, proxy, log, shown, more)
        streams = page.evaluate("() => window.__streams")
        assert all(i.count("-") == 1 and i.replace("-", "").isdigit() for s in streams for i in s["ids"])
        assert len(streams) >= 2 and "web1%2Fapp.log?after=" in streams[-1]["url"]
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(10)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()
        agent.stdout.close()
        agent.stderr.close()
        redis_server.stop()


def test_paused_view_holds_at_most_keep_lines_and_reads_them_again(server_process, log_file, new_page):
    write_lines(log_file, [f"line {i:04d}" for i in range(100)])
    server = server_process(str(log_file), "--lines", "1000")
    page = new_page().page
    page.add_init_script(RECORD_STREAMS)
    page.goto(server.url + "view/app.log?keep=100")
    wait_rows(page, 100)
    wait_status(page, "live")

    def stats() -> dict:
        return page.evaluate("() => window.tailsse.stats()")

    page.click("#pause")
    # The most lines the page ever held, sampled while they come.
    page.evaluate("""() => { window.__most = 0;
      setInterval(() => { window.__most = Math.max(window.__most, window.tailsse.stats().waiting); }, 2); }""")
    for start in range(100, 350, 25):
        write_lines(log_file, [f"line {i:04d}" for i in range(start, start + 25)])
        page.wait_for_timeout(20)
    wait_status(page, "paused")
    assert page.evaluate("() => window.__most") <= 100
    assert stats()["waiting"] == 0 and stats()["overflow"] == 100
    assert line_texts(page) == [f"line {i:04d}" for i in range(100)]
    assert page.locator("#log .row").count() == 100
    assert "More than 100 new lines" in page.inner_text("#jump")
    title = page.get_attribute("#status", "title")
    assert "more than 100 new lines; they are fetched again when you resume" in title
    # Past the limit nothing more is read while paused: the file holds it.
    received = stats()["received"]
    write_lines(log_file, [f"line {i:04d}" for i in range(350, 400)])
    page.wait_for_timeout(400)
    assert stats()["received"] == received and stats()["waiting"] == 0

    page.click("#pause")  # resume
    wait_texts(page, [f"line {i:04d}" for i in range(300, 400)])
    wait_status(page, "live")
    first, again = page.evaluate("() => window.__streams")
    last_kept = first["ids"][first["data"].index("line 0099")]
    assert again["url"].endswith("events/app.log?after=" + last_kept), again["url"]
    # The server sent everything after the last line kept, once each, nothing missing.
    assert again["data"] == [f"line {i:04d}" for i in range(100, 400)]
    assert stats()["kept"] == 100 and page.locator("#jump").is_hidden()
    write_lines(log_file, ["line 0400"])
    wait_texts(page, [f"line {i:04d}" for i in range(301, 401)])

    # Paused within the limit, everything is held as before and the stream stays.
    page.click("#pause")
    write_lines(log_file, [f"line {i:04d}" for i in range(401, 451)])
    page.wait_for_selector("#jump:has-text('50 new lines')")
    page.click("#pause")
    wait_texts(page, [f"line {i:04d}" for i in range(351, 451)])
    assert len(page.evaluate("() => window.__streams")) == 2


# ---------------------------------------------------------------------------- embedding


class HostSite:
    """A page on another origin (another port) that embeds the viewer in an iframe."""

    def __init__(self) -> None:
        self.body = b""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(site.body)))
                self.end_headers()
                self.wfile.write(site.body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def embed(self, src: str) -> str:
        self.body = (
            '<!doctype html><meta charset="utf-8"><h1>dashboard</h1>'
            f'<iframe src="{src}" width="800" height="300"></iframe>'
        ).encode()
        return self.origin + "/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def host_site():
    site = HostSite()
    yield site
    site.close()


def test_embed_in_a_cross_origin_iframe(server_process, log_file, new_page, host_site):
    write_lines(log_file, ["alpha one", "beta two", "\x1b[31mbeta\x1b[0m three"])
    server = server_process(str(log_file))
    p = new_page(csp=True)  # the real headers, frame-ancestors included
    page = p.page
    page.goto(host_site.embed(server.url + "embed/app.log?theme=dark&filter=beta&wrap=0&keep=500&time=1"))
    frame = page.frame_locator("iframe")
    frame.locator("#log .row").nth(1).wait_for()
    assert frame.locator("#log .row").count() == 2
    assert frame.locator("#bar").is_hidden() and frame.locator("#toolbar").is_hidden()
    assert frame.locator("#status").is_visible()
    assert frame.locator("html").get_attribute("data-theme") == "dark"
    assert "nowrap" in frame.locator("#log").get_attribute("class")
    assert frame.locator("#log .row .ts").count() == 2
    assert frame.locator("#log mark").count() == 2
    write_lines(log_file, ["beta four", "gamma five"])
    frame.locator("#log .row").nth(2).wait_for()
    assert frame.locator("#log .row .tx").all_inner_texts() == ["beta two", "beta three", "beta four"]

    # follow=0: the page shows what was there, then holds new lines until asked.
    page.goto(host_site.embed(server.url + "embed/app.log?follow=0"))
    frame = page.frame_locator("iframe")
    frame.locator("#log .row").nth(4).wait_for()
    write_lines(log_file, ["held back"])
    frame.locator("#jump", has_text="1 new line").wait_for()
    assert frame.locator("#log .row").count() == 5
    frame.locator("#jump").click()
    frame.locator("#log .row").nth(5).wait_for()


@pytest.mark.parametrize(("allow", "shown"), [("host", True), ("'self'", False)])
def test_frame_ancestors_decides_who_may_embed(server_process, log_file, new_page, host_site, allow, shown):
    write_lines(log_file, ["framed line"])
    sources = host_site.origin if allow == "host" else allow
    server = server_process(str(log_file), "--frame-ancestors", sources)
    page = new_page(csp=True).page
    page.goto(host_site.embed(server.url + "embed/app.log"), wait_until="load")
    frame = page.frame_locator("iframe")
    if shown:
        frame.locator("#log .row").first.wait_for()
        assert frame.locator("#log .row .tx").all_inner_texts() == ["framed line"]
    else:
        page.wait_for_timeout(300)
        child = page.frames[1]
        assert child.url.startswith("chrome-error://") or child.url == "about:blank"
        assert frame.locator("#log").count() == 0
        # The same server still shows the page when it is not framed.
        direct = new_page(csp=True).page
        direct.goto(server.url + "embed/app.log")
        direct.locator("#log .row").first.wait_for()


# ---------------------------------------------------------------------------- load


def pour(path, stop: threading.Event, written: list[int], rate: int = 5000, seconds: float = 10) -> None:
    """Append ``rate`` lines per second for ``seconds``, in 10 ms batches."""
    batch = rate // 100
    start = time.perf_counter()
    n = 0
    with open(path, "a", encoding="utf-8") as f:
        for tick in range(int(seconds * 100)):
            if stop.is_set():
                break
            delay = start + tick / 100 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            chunk = []
            for i in range(n, n + batch):
                if i % 10 == 0:
                    chunk.append(
                        f"2026-11-24T06:00:00.{i % 1000:03d} \x1b[31mERROR\x1b[0m job {i:06d} failed: retry"
                    )
                else:
                    chunk.append(f"2026-11-24T06:00:00.{i % 1000:03d} INFO worker-{i % 8}: job {i:06d} done")
            f.write("\n".join(chunk) + "\n")
            f.flush()
            n += batch
            written[0] = n


def test_busy_log_stays_responsive(server_process, log_file, new_page):
    server = server_process(str(log_file), "--lines", "0")
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_status(page, "live")
    page.evaluate("""() => {
      window.__latency = []; window.__long = [];
      document.addEventListener('click', ev => {
        const t0 = ev.timeStamp;
        requestAnimationFrame(() => window.__latency.push(performance.now() - t0));
      }, true);
      new PerformanceObserver(list => list.getEntries().forEach(e => window.__long.push(e.duration)))
        .observe({type: 'longtask'});
    }""")
    box = page.locator("#pause").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    stop, written = threading.Event(), [0]
    writer = threading.Thread(target=pour, args=(log_file, stop, written), daemon=True)
    writer.start()
    round_trips = []
    try:
        page.wait_for_timeout(500)
        while writer.is_alive():
            t0 = time.perf_counter()
            page.mouse.click(x, y)  # returns once the page has handled the click
            round_trips.append((time.perf_counter() - t0) * 1000)
            page.wait_for_timeout(400)
    finally:
        stop.set()
        writer.join()
    total = written[0]
    assert total == 50_000
    if page.get_attribute("#pause", "aria-pressed") == "true":
        page.mouse.click(x, y)
    # Every line reached the page; the page keeps the newest 10,000 of them.
    page.wait_for_function("n => window.tailsse.stats().received === n", arg=total, timeout=20000)
    # The newest lines are drawn at a later frame (view.js MAX_GAP): wait until nothing waits.
    page.wait_for_function(
        """n => { const s = window.tailsse.stats();
                  return s.mode === 'live' && s.waiting === 0 && s.last.includes(n); }""",
        arg=f"job {total - 1:06d} done",
    )
    assert page.evaluate("() => window.tailsse.stats().kept") == 10000
    # Only rows near the view are in the page (chunks.js ROWS); the others are kept as data.
    assert 0 < page.locator("#log .row").count() <= 1500
    last = line_texts(page)[-1]
    assert f"job {total - 1:06d} done" in last
    in_page = page.evaluate("() => window.__latency")
    longest = max(page.evaluate("() => window.__long") or [0])
    report = (
        f"clicks={len(in_page)} in-page click-to-frame ms: median {statistics.median(in_page):.0f}"
        f" max {max(in_page):.0f}; click round trip ms: median {statistics.median(round_trips):.0f}"
        f" max {max(round_trips):.0f}; longest task {longest:.0f} ms"
    )
    print(report)
    assert len(in_page) >= 15, report
    assert max(in_page) < 200, report
    assert statistics.median(round_trips) < 200, report
