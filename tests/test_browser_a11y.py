"""The viewer for everyone, in a real browser: colours that stay readable, a status that is
always true, and pages that work with a keyboard and a screen reader (axe-core)."""

from __future__ import annotations

import re

import pytest

from tests import test_browser
from tests.test_browser import line_texts, scroll_up, wait_rows, wait_status, write_lines

# The browser tests' fixtures: one chromium for the module, fresh pages checked for errors.
browser = test_browser.browser
new_page = test_browser.new_page

ESC = "\x1b"

# ---------------------------------------------------------------------------- colour


def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(v: float) -> float:
        s = v / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


# For every piece of text in the log: its colour and the colour behind it as rendered, the
# backgrounds of it and its ancestors laid over each other (getComputedStyle).
RENDERED_COLOURS = """() => {
  const parse = (s) => {
    const m = /^(?:rgba?\\(|color\\(srgb )([^)]*)\\)$/.exec(s);
    if (!m) throw new Error('unexpected colour ' + s);
    const srgb = s.startsWith('color(');
    const v = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    const rgb = srgb ? v.slice(0, 3).map((x) => x * 255) : v.slice(0, 3);
    return [...rgb, v.length > 3 ? v[3] : 1];
  };
  const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3])).concat(1);
  const out = [];
  const pieces = [...document.querySelectorAll('#log .row .tx, #log .row .tx *')];
  for (const el of pieces) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const chain = [];
    for (let a = el; a; a = a.parentElement) chain.push(parse(getComputedStyle(a).backgroundColor));
    let back = [255, 255, 255, 1];
    for (const bg of chain.reverse()) back = over(bg, back);
    out.push({ text: el.textContent, cls: el.className, fg: parse(getComputedStyle(el).color).slice(0, 3),
               bg: back.slice(0, 3) });
  }
  return out;
}"""

ANSI_LINES = [
    f"2026-11-24 12:00:00 {ESC}[97;41mFATAL{ESC}[0m disk full",
    f"2026-11-24 12:00:01 {ESC}[32mINFO{ESC}[0m started",
    f"{ESC}[38;5;17mnavy, 256 colours{ESC}[0m {ESC}[38;5;226myellow{ESC}[0m {ESC}[38;5;231mwhite{ESC}[0m",
    f"{ESC}[38;2;250;250;250mnear white{ESC}[0m {ESC}[38;2;13;17;23mnear black{ESC}[0m",
    f"{ESC}[38;5;231;48;5;230mwhite on cream{ESC}[0m {ESC}[30;40mblack on black{ESC}[0m",
    f"{ESC}[2;37mfaint grey{ESC}[0m {ESC}[7minverse{ESC}[0m {ESC}[33;43myellow on yellow{ESC}[0m",
    f"ERROR {ESC}[31mred text{ESC}[0m plain text",
    f"{ESC}[38;2;255;135;0;48;2;255;160;0morange on orange{ESC}[0m",
]


@pytest.mark.parametrize(
    ("scheme", "theme", "dark"),
    [("light", "", False), ("dark", "", True), ("dark", "light", False), ("light", "dark", True)],
)
def test_ansi_colours_win_and_stay_readable(server_process, log_file, new_page, scheme, theme, dark):
    write_lines(log_file, ANSI_LINES)
    server = server_process(str(log_file))
    page = new_page(color_scheme=scheme).page
    page.goto(server.url + "view/app.log" + (f"?theme={theme}" if theme else ""))
    wait_rows(page, len(ANSI_LINES))
    page.mouse.move(1, 1)  # no row under the mouse (hover has its own background)
    page_bg = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert (luminance(tuple(map(float, page_bg[4:-1].split(",")))) < 0.1) == dark, page_bg
    pieces = page.evaluate(RENDERED_COLOURS)
    assert len(pieces) >= 18
    for piece in pieces:
        ratio = contrast(piece["fg"], piece["bg"])
        assert ratio >= 4.5, (f"{ratio:.2f}", piece)
    by_text = {p["text"]: p for p in pieces}
    # The program's colours win over the level's: a green INFO is green, not the level's blue.
    info = by_text["INFO"]
    assert "lvl" not in info["cls"]
    r, g, b = info["fg"]
    assert g > r and g > b, info
    # White on red stays on red, with text that can be read on it.
    fatal = by_text["FATAL"]
    assert fatal["bg"][0] > 1.5 * max(fatal["bg"][1], fatal["bg"][2]), fatal
    # A level word the program did not colour is still the level's.
    assert "lvl" in by_text["ERROR"]["cls"]


# ---------------------------------------------------------------------------- status

# Every state the status badge takes, from the very start of the page.
RECORD_STATES = """
window.__states = [];
new MutationObserver((records) => {
  for (const r of records) {
    if (r.target.id === 'status') window.__states.push(r.target.getAttribute('data-state'));
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-state'] });
"""


NEXT_FRAMES = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def test_a_missing_file_never_shows_live(server_process, tmp_path, new_page):
    server = server_process(str(tmp_path / "absent.log"))
    p = new_page()
    p.context.add_init_script(RECORD_STATES)
    page = p.page
    for _ in range(30):
        page.goto(server.url + "view/absent.log")
        wait_status(page, "missing")
        page.evaluate(NEXT_FRAMES)  # a late "Live" (a timer of the stream's opening) has had its turn
        states = page.evaluate("() => window.__states")
        assert "live" not in states, states
        assert states[-1] == "missing", states


def pill(page) -> list[str]:
    return page.evaluate(
        "() => [document.getElementById('status').dataset.state, document.getElementById('status-text').textContent]"
    )


def test_paused_reads_paused_everywhere(server_process, log_file, new_page):
    write_lines(log_file, [f"line {i:04d}" for i in range(300)])
    server = server_process(str(log_file), "--lines", "1000")
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 300)
    wait_status(page, "live")
    assert pill(page) == ["live", "Live"]
    # Paused by scrolling up: the badge and the button say so.
    scroll_up(page)
    wait_status(page, "paused")
    assert pill(page) == ["paused", "Paused"]
    assert page.get_attribute("#pause", "aria-pressed") == "true"
    assert page.inner_text("#pause-label") == "Resume"
    write_lines(log_file, ["while paused"])
    page.wait_for_selector("#jump:has-text('1 new line')")
    assert pill(page) == ["paused", "Paused"]  # new lines do not make it "Live"
    page.keyboard.press("End")
    wait_status(page, "live")
    assert page.inner_text("#pause-label") == "Pause"
    # Paused by the button, then resumed by it.
    page.click("#pause")
    wait_status(page, "paused")
    assert pill(page) == ["paused", "Paused"]
    page.click("#pause")
    wait_status(page, "live")
    wait_rows(page, 301)


def test_a_reconnect_is_a_row_in_the_log(server_process, log_file, new_page):
    write_lines(log_file, ["before"])
    first = server_process(str(log_file))
    page = new_page().page
    page.goto(first.url + "view/app.log")
    wait_rows(page, 1)
    wait_status(page, "live")
    first.stop()
    page.wait_for_function("() => document.getElementById('status').dataset.state !== 'live'")
    write_lines(log_file, ["while down"])
    second = server_process(str(log_file), "--port", str(first.port))
    wait_rows(page, 2)
    row = page.locator("#log .row.meta-reconnected")
    row.wait_for()
    assert re.fullmatch(
        r"disconnected \d\d:\d\d:\d\d – resumed \d\d:\d\d:\d\d, nothing missed", row.inner_text().strip()
    ), row.inner_text()
    assert line_texts(page) == ["before", "while down"]
    wait_status(page, "live")

    # Down again, and the file replaced meanwhile: the position is gone, and the row says so.
    second.stop()
    page.wait_for_function("() => document.getElementById('status').dataset.state !== 'live'")
    log_file.unlink()
    write_lines(log_file, ["a new file"])
    server_process(str(log_file), "--port", str(first.port))
    page.wait_for_function("() => document.querySelectorAll('#log .row.meta-reconnected').length === 2")
    text = page.locator("#log .row.meta-reconnected").nth(1).inner_text()
    assert "lines were lost:" in text and "nothing missed" not in text, text
    wait_rows(page, 3)
    assert line_texts(page)[-1] == "a new file"


def test_the_embed_status_is_labelled(server_process, log_file, new_page):
    write_lines(log_file, ["one"])
    server = server_process(str(log_file))
    page = new_page().page
    page.goto(server.url + "embed/app.log")
    wait_status(page, "live")
    label = page.locator("#status-text")
    assert label.is_visible() and label.inner_text() == "Live"
    box = label.bounding_box()
    assert box and box["width"] > 10


@pytest.mark.parametrize("route", ["view", "embed"])
def test_an_unknown_file_is_a_page_that_says_so_and_lists_the_files(
    server_process, tmp_path, new_page, route
):
    for name in ("app.log", "db.log"):
        (tmp_path / name).write_text("x\n")
    server = server_process(str(tmp_path / "app.log"), str(tmp_path / "db.log"))
    page = new_page().page
    response = page.goto(server.url + f"{route}/nope.log")
    assert response.status == 404
    note = page.locator("#picker-note")
    note.wait_for()
    assert "nope.log" in note.inner_text()
    page.wait_for_function("() => document.querySelectorAll('#picker-list a').length === 2")
    assert page.locator("#picker-list .name").all_inner_texts() == ["app.log", "db.log"]
    wait_status(page, "offline")
    assert page.inner_text("#status-text") == "No such file"
    page.click("#picker-list a >> text=db.log")
    page.wait_for_function("() => document.querySelectorAll('#log .row:not(.meta)').length === 1")
    assert page.url.endswith(f"{route}/db.log")
    assert note.is_hidden()
