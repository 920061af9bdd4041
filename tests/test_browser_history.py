"""The whole file in the browser: scrolling back through rotated generations, searching the
file on the server, jumping to a time, permalinks, and the page's bounds under load."""

from __future__ import annotations

import json
import os
import re
import threading
import time

from tests import test_browser
from tests.test_browser import RECORD_STREAMS, pour, wait_status, write_lines

# The browser tests' fixtures: one chromium for the module, fresh pages checked for errors.
browser = test_browser.browser
new_page = test_browser.new_page

# ---------------------------------------------------------------------------- helpers


def stats(page) -> dict:
    return page.evaluate("() => window.tailsse.stats()")


def kept_texts(page) -> list[str]:
    return page.evaluate("() => window.tailsse.texts()")


def wheel_until(page, condition: str, dy: int, timeout: float = 30) -> None:
    """Turn the mouse wheel over the log until condition (a JS expression) holds."""
    box = page.locator("#log").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    deadline = time.monotonic() + timeout
    while not page.evaluate(f"() => {condition}"):
        assert time.monotonic() < deadline, (condition, stats(page))
        page.mouse.wheel(0, dy)
        page.wait_for_timeout(30)


COUNT_NODES = """() => { let n = 0; const w = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  while (w.nextNode()) n++; return n; }"""


def rotate(path) -> None:
    os.replace(path, str(path) + ".1")
    path.write_bytes(b"")


def line(i: int) -> str:
    return f"line {i:05d}"


# ---------------------------------------------------------------------------- scrolling back


def test_scroll_back_to_the_first_line_of_the_rotated_generation_and_down_again(
    server_process, log_file, new_page
):
    write_lines(log_file, [line(i) for i in range(1500)])
    rotate(log_file)
    write_lines(log_file, [line(i) for i in range(1500, 3000)])
    server = server_process(str(log_file), "--lines", "100")
    page = new_page().page
    page.add_init_script(RECORD_STREAMS)
    page.goto(server.url + "view/app.log?keep=1000")
    page.wait_for_function("() => window.tailsse.stats().kept === 100")
    wait_status(page, "live")

    wheel_until(page, "window.tailsse.stats().first === 'line 00000'", -4000)
    assert stats(page)["older"] is False
    # The page keeps 1000 lines: the newest went, and with them the stream.
    assert stats(page)["kept"] == 1000 and stats(page)["detached"] is True
    assert kept_texts(page) == [line(i) for i in range(1000)]
    assert page.evaluate(COUNT_NODES) < 20000
    # Written meanwhile: read from the file when the view comes down again.
    write_lines(log_file, [line(i) for i in range(3000, 3050)])

    wheel_until(page, "!window.tailsse.stats().detached", 4000)
    wheel_until(page, "window.tailsse.stats().mode === 'live'", 4000)
    write_lines(log_file, [line(i) for i in range(3050, 3060)])
    page.wait_for_function("() => window.tailsse.stats().last === 'line 03059'")
    assert kept_texts(page) == [line(i) for i in range(2060, 3060)]
    streams = page.evaluate("() => window.__streams")
    assert len(streams) == 2 and "?after=" in streams[1]["url"], streams
    assert streams[1]["data"] == [line(i) for i in range(3050, 3060)]


# ---------------------------------------------------------------------------- search


def target(page) -> str:
    return page.inner_text("#log .row[data-target] .tx")


def test_search_the_whole_file_and_show_a_result_in_context(server_process, log_file, new_page):
    lines = [f"{line(i)} {'needle' if i % 700 == 3 else 'hay'}" for i in range(3000)]
    write_lines(log_file, lines[:1500])
    rotate(log_file)
    write_lines(log_file, lines[1500:])
    server = server_process(str(log_file), "--lines", "100")
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_status(page, "live")

    page.fill("#find", "NEEDLE")
    page.press("#find", "Enter")
    page.wait_for_selector("#results-count:has-text('5 matches in the whole file')")
    results = page.locator("#results-list button")
    assert results.all_inner_texts() == [lines[i] for i in (2803, 2103, 1403, 703, 3)]
    assert page.locator("#results-list mark").all_inner_texts() == ["needle"] * 5

    results.nth(3).click()  # line 703, in the rotated generation, far from what was loaded
    page.wait_for_function("() => document.querySelector('#log .row[data-target]')")
    assert target(page) == lines[703]
    texts = kept_texts(page)
    at = texts.index(lines[703])
    assert at > 50 and texts[at - 50 : at + 51] == lines[653:754]
    # The highlighted line is in view.
    box, view = page.locator("#log .row[data-target]").bounding_box(), page.locator("#log").bounding_box()
    assert view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"]
    # n and N go to the next and the previous result.
    page.locator("#log").focus()
    page.keyboard.press("n")
    page.wait_for_function(
        "t => document.querySelector('#log .row[data-target] .tx')?.textContent === t", arg=lines[3]
    )
    page.keyboard.press("Shift+N")
    page.wait_for_function(
        "t => document.querySelector('#log .row[data-target] .tx')?.textContent === t", arg=lines[703]
    )

    # No hit says so.
    page.fill("#find", "no such thing")
    page.press("#find", "Enter")
    page.wait_for_selector("#results-count:has-text('No match for')")
    assert results.count() == 0
    # A bad regular expression is the server's to refuse.
    page.click("#regex")
    page.fill("#find", "(")
    page.press("#find", "Enter")
    page.wait_for_selector("#results-count.bad:has-text('not a valid regular expression')")


# ---------------------------------------------------------------------------- permalinks


def test_permalink_after_a_restart_a_rotation_and_once_its_generation_is_gone(
    server_process, log_file, new_page
):
    write_lines(log_file, [line(i) for i in range(2000)])
    first = server_process(str(log_file), "--lines", "100", "--base-path", "/logs/")
    p = new_page(permissions=["clipboard-read", "clipboard-write"])
    page = p.page
    page.goto(first.url + "view/app.log")
    page.wait_for_function("() => window.tailsse.stats().kept === 100")
    row = page.locator("#log .row", has_text=line(1990))
    row.hover()
    row.locator("[data-act=link]").click()
    page.wait_for_selector("#toast:has-text('Link to the line copied')")
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert re.fullmatch(re.escape(first.url) + r"view/app\.log\?at=[0-9a-f]+-\d+-[0-9a-f]+", link), link

    def opens_the_line(expected: str) -> None:
        other = new_page().page
        other.goto(link)
        other.wait_for_function("() => document.querySelector('#log .row[data-target]')")
        assert target(other) == expected
        assert other.url == link

    first.stop()
    server_process(str(log_file), "--lines", "100", "--base-path", "/logs/", "--port", str(first.port))
    opens_the_line(line(1990))
    rotate(log_file)
    write_lines(log_file, [line(i) for i in range(2000, 2100)])
    opens_the_line(line(1990))

    os.remove(str(log_file) + ".1")
    gone = new_page().page
    gone.goto(link)
    gone.wait_for_selector("#notice:has-text('This line no longer exists')")
    # And the page goes on with the file as it is.
    gone.wait_for_function("() => window.tailsse.stats().last === 'line 02099'")


def test_permalink_in_the_embed(server_process, log_file, new_page):
    write_lines(log_file, [line(i) for i in range(500)])
    server = server_process(str(log_file))
    page = new_page().page
    page.goto(server.url + "view/app.log")
    page.wait_for_function("() => window.tailsse.stats().kept === 100")
    lid = page.evaluate("() => document.querySelector('#log .row').tailsseEntry.id")
    page.goto(server.url + "embed/app.log?at=" + lid)
    page.wait_for_function("() => document.querySelector('#log .row[data-target]')")
    assert target(page) == line(400)


# ---------------------------------------------------------------------------- time, Home, End


def test_jump_to_a_time_home_and_end(server_process, log_file, new_page):
    stamped = [f"2026-11-24T06:{i // 60:02d}:{i % 60:02d}Z job {i}" for i in range(3000 // 2)]
    write_lines(log_file, stamped)
    server = server_process(str(log_file), "--lines", "100")
    page = new_page(timezone_id="Asia/Kolkata").page  # +05:30
    page.goto(server.url + "view/app.log?lines=500&keep=200")
    wait_status(page, "live")
    # More was asked for than the page keeps: it says so, and how to see the rest.
    page.wait_for_selector("#notice:has-text('keeps 200 lines at a time')")
    assert "scroll up" in page.inner_text("#notice")
    page.click("#notice-close")

    page.fill("#when", "2026-11-24T11:40:42")  # 06:10:42Z
    page.click("#when-go")
    page.wait_for_function("() => document.querySelector('#log .row[data-target]')")
    assert target(page) == stamped[642]
    page.fill("#when", "2026-11-25T00:00:00")
    page.click("#when-go")
    page.wait_for_selector("#notice:has-text('every line is older')")

    page.locator("#log").focus()
    page.keyboard.press("Home")
    page.wait_for_function("() => window.tailsse.stats().first === '2026-11-24T06:00:00Z job 0'")
    assert page.evaluate("() => document.getElementById('log').scrollTop") == 0
    page.click("#to-end")
    page.wait_for_function(
        "t => window.tailsse.stats().last === t && window.tailsse.stats().mode === 'live'", arg=stamped[-1]
    )
    write_lines(log_file, ["after the end"])
    page.wait_for_function("() => window.tailsse.stats().last === 'after the end'")


# ---------------------------------------------------------------------------- bounds under load


def heap_and_nodes(page) -> tuple[float, int]:
    """JS heap in MB and DOM nodes, after a garbage collection (Chrome DevTools Protocol)."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("HeapProfiler.collectGarbage")
        heap = cdp.send("Runtime.getHeapUsage")["usedSize"] / 2**20
        nodes = cdp.send("Memory.getDOMCounters")["nodes"]
    finally:
        cdp.detach()
    return heap, nodes


def write_million(path, start: int, count: int) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for base in range(start, start + count, 10000):
            f.write(
                "".join(
                    f"2026-11-24T06:00:00.{i % 1000:03d}Z {'ERROR' if i % 10 == 0 else 'INFO'} "
                    f"worker-{i % 8}: job {i:07d} done\n"
                    for i in range(base, base + 10000)
                )
            )


# Puts the log at one edge until what the page keeps changed, up to `most` times or until
# `done` holds; returns how many times it changed. Polls once a frame, with a deadline.
SCROLL_PAGES = """async ({edge, done, most}) => {
  const log = document.getElementById("log");
  const ends = () => { const s = window.tailsse.stats(); return s.first + "|" + s.last; };
  const isDone = new Function("return " + done);
  let n = 0;
  while (n < most && !isDone()) {
    const before = ends();
    log.scrollTop = edge === "0" ? 0 : log.scrollHeight;
    const deadline = performance.now() + 20000;
    while (ends() === before) {
      if (performance.now() > deadline) throw new Error("nothing more was read: " + before);
      await new Promise(requestAnimationFrame);
    }
    n++;
  }
  return n;
}"""


def job(i: int) -> str:
    level = "ERROR" if i % 10 == 0 else "INFO"
    return f"2026-11-24T06:00:00.{i % 1000:03d}Z {level} worker-{i % 8}: job {i:07d} done"


def test_a_million_lines_scrolled_through_keep_the_page_bounded(server_process, log_file, new_page):
    write_million(str(log_file), 0, 500_000)
    rotate(log_file)
    write_million(str(log_file), 500_000, 500_000)
    server = server_process(str(log_file), "--lines", "100")
    page = new_page().page
    page.goto(server.url + "view/app.log")
    page.wait_for_function("() => window.tailsse.stats().kept === 100")
    samples = []

    def scroll_through(edge: str, done: str) -> int:
        """Put the view at one edge of what the page keeps until done; returns the pages read."""
        pages = 0
        while not page.evaluate(f"() => {done}"):
            # 100 pages at a time in the page itself, then a measurement.
            pages += page.evaluate(SCROLL_PAGES, {"edge": edge, "done": done, "most": 100})
            samples.append(heap_and_nodes(page))
        return pages

    page.mouse.move(500, 300)
    page.mouse.wheel(0, -1000)  # the user scrolls up: the page stops following
    page.wait_for_selector("html.paused", state="attached")
    up = scroll_through("0", "window.tailsse.stats().first === " + json.dumps(job(0)))
    samples.append(heap_and_nodes(page))
    down = scroll_through("l.scrollHeight", "!window.tailsse.stats().detached")
    samples.append(heap_and_nodes(page))
    assert page.evaluate("() => window.tailsse.stats().last") == job(999_999)
    heap = max(h for h, _ in samples)
    nodes = max(n for _, n in samples)
    print(f"1M lines, {up} pages up and {down} down: heap max {heap:.1f} MB, DOM nodes max {nodes}")
    assert heap < 100, samples
    assert nodes < 20000, samples


LAG_PROBE = """() => {
  window.__lag = [];
  let expected = performance.now() + 10;
  window.__probe = setInterval(() => {
    const now = performance.now();
    window.__lag.push(Math.max(0, now - expected));
    expected = now + 10;
  }, 10);
}"""


def test_twenty_thousand_lines_a_second_keep_the_page_responsive(server_process, log_file, new_page):
    server = server_process(str(log_file), "--lines", "0")
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_status(page, "live")
    page.evaluate(LAG_PROBE)
    written = [0]
    pour(log_file, threading.Event(), written, 20_000, 15)  # the page reads while this writes
    total = written[0]
    assert total == 300_000
    page.wait_for_function("n => window.tailsse.stats().received === n", arg=total, timeout=30000)
    page.wait_for_function("t => window.tailsse.stats().last.endsWith(t)", arg=f"job {total - 1:06d} done")
    lag = sorted(page.evaluate("() => { clearInterval(window.__probe); return window.__lag; }"))
    p99 = lag[int(len(lag) * 0.99)]
    heap, nodes = heap_and_nodes(page)
    print(
        f"20k lines/s for 15 s: lag p99 {p99:.1f} ms (max {lag[-1]:.0f}, {len(lag)} probes); "
        f"heap {heap:.1f} MB, DOM nodes {nodes}; load average {os.getloadavg()[0]:.1f}"
    )
    # Every line arrived, once: the page keeps the newest 10,000 of them.
    assert stats(page)["kept"] == 10_000
    assert nodes < 20000
    # Each chunk's lines are handled at once (web/eventstream.js), drawn at the next frame.
    load = os.getloadavg()[0]
    assert p99 < 50, f"event-loop lag p99 {p99:.0f} ms, not under 50 ms (load average {load:.1f})"
