"""The viewer for everyone, in a real browser: colours that stay readable, a status that is
always true, and pages that work with a keyboard and a screen reader (axe-core)."""

from __future__ import annotations

import pytest

from tests import test_browser
from tests.test_browser import wait_rows, write_lines

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
