"""The viewer for everyone, in a real browser: colours that stay readable, a status that is
always true, and pages that work with a keyboard and a screen reader (axe-core)."""

from __future__ import annotations

import re
from pathlib import Path

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


# ---------------------------------------------------------------------------- accessibility

AXE = Path(__file__).resolve().parent / "js" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.exists():
        pytest.fail("axe-core is not installed: run scripts/install-js-deps (scripts/test does)")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
          const result = await axe.run(document, { resultTypes: ['violations'] });
          return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary) }));
        }"""
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("where", ["list", "view", "embed"])
def test_axe_finds_no_serious_violation(server_process, tmp_path, new_page, scheme, where):
    app_log, db_log = tmp_path / "app.log", tmp_path / "db.log"
    write_lines(app_log, [*ANSI_LINES, '{"level": "info", "msg": "json line"}', "plain line"])
    write_lines(db_log, ["db line"])
    server = server_process(str(app_log), str(db_log))
    page = new_page(color_scheme=scheme).page
    page.goto(server.url + {"list": "", "view": "view/app.log", "embed": "embed/app.log"}[where])
    if where == "list":
        page.wait_for_function("() => document.querySelectorAll('#picker-list a').length === 2")
    else:
        wait_rows(page, len(ANSI_LINES) + 2)
        wait_status(page, "live")
        page.hover("#log .row:not(.meta) >> nth=-2")  # the row tools are part of the page too
    assert axe_violations(page) == []
    if where == "view":
        page.keyboard.press("?")
        page.locator("#keys").wait_for()
        assert axe_violations(page) == []


# An element described: its id, else the row tool's act, the row's text or its tag and class.
DESCRIBE = """(el) => {
  if (!el || el === document.body) return 'body';
  if (el.id) return '#' + el.id;
  if (el.dataset.act) return 'tool:' + el.dataset.act;
  if (el.classList.contains('row')) return 'row:' + el.querySelector('.tx').textContent;
  return el.tagName.toLowerCase() + '.' + el.className;
}"""
FOCUSED = f"() => ({DESCRIBE})(document.activeElement)"

# Every control a pointer could use now: visible and enabled.
CONTROLS = f"""() => [...document.querySelectorAll('button, input, select, a[href], [tabindex]:not([tabindex="-1"])')]
  .filter((el) => !el.disabled && el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .map({DESCRIBE})"""


def tab_through(page, limit: int = 60) -> list[str]:
    """What Tab reaches, from where the focus is, until it comes round again."""
    seen: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        here = page.evaluate(FOCUSED)
        if here == "body":  # past the last control, before coming round to the first
            continue
        if seen and here == seen[0]:
            break
        if not seen or here != seen[-1]:  # a date and time field has a stop per part
            seen.append(here)
    return seen


def test_every_control_works_with_the_keyboard(server_process, log_file, new_page):
    json_line = '{"level": "info", "msg": "json line"}'
    write_lines(log_file, ["plain one", json_line, "plain three"])
    server = server_process(str(log_file))
    p = new_page(permissions=["clipboard-read", "clipboard-write"])
    page = p.page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 3)
    wait_status(page, "live")
    # The level buttons (Info, Other) are drawn a moment after the lines (levelbar.js).
    page.wait_for_function("() => document.querySelectorAll('#levels button:not([hidden])').length === 2")

    # Tab reaches every control of the page, each once.
    reached = tab_through(page)
    controls = page.evaluate(CONTROLS)
    assert sorted(set(reached) & set(controls)) == sorted(controls), (reached, controls)
    assert len(reached) == len(set(reached)), " ".join(reached)
    # A toggle works with the keyboard: Space on "Wrap".
    while page.evaluate(FOCUSED) != "#wrap":
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    assert page.get_attribute("#wrap", "aria-pressed") == "false"
    page.keyboard.press("Enter")
    assert page.get_attribute("#wrap", "aria-pressed") == "true"

    # The log: Enter goes to the last line on screen, the arrows from line to line.
    while page.evaluate(FOCUSED) != "#log":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED) == "row:plain three"
    page.keyboard.press("ArrowUp")
    assert page.evaluate(FOCUSED) == "row:" + json_line
    # Tab reaches the line's tools: pretty-print, then copy a link, then copy.
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "tool:json"
    page.keyboard.press("Enter")
    page.wait_for_selector("#log .row.pretty")
    assert page.evaluate(FOCUSED) == "tool:json"  # drawn again, the focus stayed
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "tool:link"
    page.keyboard.press("Enter")
    page.wait_for_selector("#toast:has-text('Link to the line copied')")
    assert "view/app.log?at=" in page.evaluate("() => navigator.clipboard.readText()")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "tool:copy"
    page.keyboard.press("Space")
    page.wait_for_selector("#toast:has-text('Line copied')")
    assert page.evaluate("() => navigator.clipboard.readText()") == json_line
    # Escape goes back to the log.
    page.keyboard.press("Escape")
    assert page.evaluate(FOCUSED) == "#log"


def test_question_mark_shows_the_shortcuts(server_process, log_file, new_page):
    write_lines(log_file, ["one"])
    server = server_process(str(log_file))
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 1)
    page.wait_for_function(f"() => ({DESCRIBE})(document.activeElement) === '#log'")
    page.keyboard.press("Shift+Tab")
    before = page.evaluate(FOCUSED)
    assert before == "#tz"  # the last control of the rules row, just before the log
    page.keyboard.press("?")
    dialog = page.locator("#keys")
    dialog.wait_for()
    assert page.evaluate("() => document.getElementById('keys').open")
    assert page.get_attribute("#keys", "aria-labelledby") == "keys-title"
    text = dialog.inner_text()
    for key in ("?", "/", "End", "Home", "Escape"):
        assert key in text
    assert page.evaluate("() => document.getElementById('keys').contains(document.activeElement)")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert page.evaluate(FOCUSED) == before
    # Its close button too, with the keyboard.
    page.keyboard.press("?")
    dialog.wait_for()
    page.keyboard.press("Enter")  # the focus is on its close button
    dialog.wait_for(state="hidden")
    assert page.evaluate(FOCUSED) == before


@pytest.mark.parametrize("where", ["view", "list", "embed"])
def test_touch_targets_are_at_least_24_px_on_a_phone(server_process, tmp_path, new_page, where):
    write_lines(tmp_path / "app.log", ['{"level": "error", "msg": "json line"}', "plain"])
    write_lines(tmp_path / "db.log", ["db"])
    server = server_process(str(tmp_path / "app.log"), str(tmp_path / "db.log"))
    phone = {"viewport": {"width": 390, "height": 780}, "is_mobile": True, "has_touch": True}
    page = new_page(**phone).page
    page.goto(server.url + {"list": "", "view": "view/app.log", "embed": "embed/app.log"}[where])
    if where == "list":
        page.wait_for_function("() => document.querySelectorAll('#picker-list a').length === 2")
    else:
        wait_rows(page, 2)
        wait_status(page, "live")
        page.tap("#log .row:not(.meta) >> nth=0")  # a tap shows the row's tools
        page.locator(".row-tools [data-act='copy']").wait_for()
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('button, input, select, a[href], [role=status]')]
          .filter((el) => !el.disabled && el.getClientRects().length)
          .map((el) => { const r = el.getBoundingClientRect();
                         return [el.id || el.dataset.act || el.className, r.width, r.height]; })"""
    )
    assert len(boxes) >= (2 if where == "list" else 4), boxes
    small = [b for b in boxes if b[1] < 24 or b[2] < 24]
    assert small == [], small
