"""What operators reach for, in a real browser: levels, exclude and highlight rules, entries
of several lines, the lines' own times, JSON and logfmt fields, the background tab, phones."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests import test_browser
from tests.test_browser import line_texts, wait_rows, wait_status, write_lines

# The browser tests' fixtures: one chromium for the module, fresh pages checked for errors.
browser = test_browser.browser
new_page = test_browser.new_page


def wait_counts(page, counts: dict[str, int]) -> None:
    """Wait until the level buttons show these counts (they are redrawn a few times a second)."""
    page.wait_for_function(
        """counts => Object.entries(counts).every(([lv, n]) =>
             document.querySelector(`#levels button[data-level=${lv}] .n`)?.textContent === String(n))""",
        arg=counts,
    )


def target_text(page) -> str:
    return page.inner_text("#log .row[data-target] .tx")


def wait_target(page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('#log .row[data-target] .tx')?.textContent === t", arg=text
    )


# ---------------------------------------------------------------------------- levels

LEVELED = [
    "2026-12-01T10:00:00Z INFO started",
    "2026-12-01T10:00:01Z DEBUG cache warm",
    "2026-12-01T10:00:02Z ERROR db: boom one",
    "2026-12-01T10:00:03Z WARN slow query",
    "2026-12-01T10:00:04Z DEBUG cache hit",
    "2026-12-01T10:00:05Z ERROR db: boom two",
    "no level on this one",
]


def test_level_buttons_count_filter_lines_and_the_url(server_process, log_file, new_page):
    write_lines(log_file, LEVELED)
    server = server_process(str(log_file))
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 7)
    wait_counts(page, {"error": 2, "warn": 1, "info": 1, "debug": 2, "other": 1})
    # Levels with no line have no button.
    assert page.locator("#levels button[data-level=fatal]").is_hidden()

    page.click("#levels button[data-level=debug]")
    wait_rows(page, 5)
    assert not any("DEBUG" in t for t in line_texts(page))
    assert page.get_attribute("#levels button[data-level=debug]", "aria-pressed") == "false"
    assert page.inner_text("#count") == "5 of 7 lines"
    page.wait_for_function(
        "() => new URLSearchParams(location.search).get('levels') === 'fatal,error,warn,info,trace,other'"
    )
    # New lines go through the filter; the counts follow.
    write_lines(log_file, ["2026-12-01T10:00:06Z DEBUG again", "2026-12-01T10:00:07Z ERROR three"])
    wait_rows(page, 6)
    wait_counts(page, {"debug": 3, "error": 3})

    # Shift+click: that level alone; the filter box narrows further.
    page.click("#levels button[data-level=error]", modifiers=["Shift"])
    wait_rows(page, 3)
    assert all(" ERROR " in t for t in line_texts(page))
    page.fill("#filter", "boom")
    wait_rows(page, 2)
    assert page.inner_text("#count") == "2 matches in 2 of 9 lines"

    # The link says it: a new page shows the same.
    page.goto(server.url + "view/app.log?levels=warn,other")
    wait_rows(page, 2)
    assert line_texts(page) == ["2026-12-01T10:00:03Z WARN slow query", "no level on this one"]


def test_level_filter_applies_to_the_whole_file_search(server_process, log_file, new_page):
    write_lines(log_file, LEVELED)
    server = server_process(str(log_file))
    page = new_page().page
    page.goto(server.url + "view/app.log?levels=error")
    wait_rows(page, 2)
    page.fill("#find", "db:")
    page.press("#find", "Enter")
    page.wait_for_selector("#results-count:has-text('2 matches in the whole file')")
    page.fill("#find", "slow")
    page.press("#find", "Enter")
    page.wait_for_selector("#results-count:has-text('1 more hidden by the level, field or exclude filters')")
    assert page.locator("#results-list button").count() == 0
    # Showing warnings again searches again.
    page.click("#levels button[data-level=warn]")
    page.wait_for_function("() => document.querySelectorAll('#results-list button').length === 1")
    assert page.inner_text("#results-list button") == LEVELED[3]
    assert "hidden" not in page.inner_text("#results-count")


def test_next_and_previous_error_with_the_keyboard(server_process, log_file, new_page):
    lines = [f"2026-12-01 {'ERROR' if i % 100 == 50 else 'INFO'} line {i:04d}" for i in range(400)]
    write_lines(log_file, lines)
    server = server_process(str(log_file), "--lines", "400")
    page = new_page().page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 400)
    wait_status(page, "live")
    page.locator("#log").focus()
    page.keyboard.press("Shift+E")  # following: the last error
    wait_target(page, lines[350])
    page.wait_for_selector("html.paused", state="attached")
    page.keyboard.press("Shift+E")
    wait_target(page, lines[250])
    page.keyboard.press("e")
    wait_target(page, lines[350])
    page.keyboard.press("e")  # none below: it stays, and says so
    page.wait_for_selector("#toast:has-text('No error below')")
    assert target_text(page) == lines[350]
    assert page.locator("#log .row[data-target]").count() == 1
    # The line gone to is in view.
    box, view = page.locator("#log .row[data-target]").bounding_box(), page.locator("#log").bounding_box()
    assert view["y"] <= box["y"] and box["y"] + box["height"] <= view["y"] + view["height"]


# ---------------------------------------------------------------------------- exclude and highlight

COLOURS = ["yellow", "green", "blue", "purple", "red", "orange"]

# The colour and the background a painted element shows, as [r, g, b] each.
PAINT = """el => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const cs = getComputedStyle(el);
  return { fg: rgb(cs.color), bg: rgb(cs.backgroundColor) };
}"""


def luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def query(page) -> dict:
    return parse_qs(urlsplit(page.url).query)


def test_exclude_and_highlight_from_the_url_and_the_page(server_process, log_file, new_page):
    write_lines(
        log_file,
        [
            "GET /healthz 200",
            "GET /api/users 200 in 3 ms",
            "POST /api/orders 503 upstream timeout",
            "GET /healthz 200",
            "GET /api/orders 200",
        ],
    )
    server = server_process(str(log_file))
    page = new_page().page
    page.goto(server.url + "view/app.log?exclude=/healthz&highlight=red:timeout&highlight=/5\\d\\d/")
    wait_rows(page, 3)
    assert not any("healthz" in t for t in line_texts(page))
    assert page.input_value("#exclude") == "/healthz"
    assert page.locator("#log .hl-red").all_inner_texts() == ["timeout"]
    assert page.locator("#log .hl-green").all_inner_texts() == ["503"]
    assert page.locator("#hl-list .hl-chip > span").all_inner_texts() == ["timeout", "/5\\d\\d/"]
    assert page.inner_text("#count") == "3 of 5 lines"

    # In the page: exclude more, add a rule; the URL follows, so the link shows the same.
    page.fill("#exclude", "orders")
    page.wait_for_function("() => !document.querySelector('#log').textContent.includes('orders')")
    assert line_texts(page) == ["GET /healthz 200", "GET /api/users 200 in 3 ms", "GET /healthz 200"]
    page.fill("#hl-text", "users")
    page.select_option("#hl-colour", "blue")
    page.click("#hl-add")
    page.wait_for_selector("#log .hl-blue")
    assert page.locator("#log .hl-blue").all_inner_texts() == ["users"]
    page.wait_for_function("() => new URLSearchParams(location.search).getAll('highlight').length === 3")
    assert query(page)["exclude"] == ["orders"]
    assert query(page)["highlight"] == ["red:timeout", "green:/5\\d\\d/", "blue:users"]
    # New lines are painted and excluded too.
    write_lines(log_file, ["GET /api/orders 200", "GET /api/users 200 timeout"])
    page.wait_for_function("() => document.querySelectorAll('#log .hl-blue').length === 2")
    assert page.locator("#log .hl-red").count() == 1
    # A chip's button removes its rule.
    page.click("#hl-list .hl-chip:has-text('users') button")
    page.wait_for_function("() => !document.querySelector('#log .hl-blue')")
    page.wait_for_function("() => new URLSearchParams(location.search).getAll('highlight').length === 2")

    url = page.url
    other = new_page().page
    other.goto(url)
    wait_rows(other, 4)
    assert line_texts(other) == line_texts(page)
    assert other.locator("#log .hl-red").count() == 1


def test_highlights_stay_readable_in_both_themes(server_process, log_file, new_page):
    ansi = "\x1b[32mgreen\x1b[0m"
    write_lines(log_file, [f"2026-12-01 ERROR {c}-word {ansi} here" for c in COLOURS])
    server = server_process(str(log_file))
    rules = (
        "&".join(f"highlight={c}:{c}-word" for c in COLOURS) + "&highlight=orange:ERROR&highlight=blue:green"
    )
    for theme in ("light", "dark"):
        page = new_page().page
        page.goto(server.url + f"view/app.log?theme={theme}&{rules}")
        wait_rows(page, len(COLOURS))
        for colour in COLOURS:
            for el in page.locator(f"#log .hl-{colour}").element_handles():
                paint = el.evaluate(PAINT)
                assert contrast(paint["fg"], paint["bg"]) >= 4.5, (theme, colour, paint)
        # A level word and ANSI text inside a highlight take the highlight's colour.
        for inner in ("#log .hl-orange .lvl", "#log .hl-blue span"):
            el = page.locator(inner).first
            outer = el.evaluate("el => getComputedStyle(el.closest('.hl')).color")
            assert el.evaluate("el => getComputedStyle(el).color") == outer, (theme, inner)
        paint = page.locator("#log .hl-blue").first.evaluate(PAINT)
        assert contrast(paint["fg"], paint["bg"]) >= 4.5


# ---------------------------------------------------------------------------- entries of several lines

JAVA = [
    "2026-12-01 10:00:00 ERROR request failed",
    "java.lang.IllegalStateException: boom",
    "\tat com.example.Foo.bar(Foo.java:10)",
    "\tat com.example.Main.main(Main.java:3)",
    "Caused by: java.io.IOException: NullPointer in disk",
    "\t... 12 more",
]
PYTHON = [
    "2026-12-01 10:00:02 ERROR handler crashed",
    "Traceback (most recent call last):",
    '  File "app.py", line 3, in <module>',
    "    main()",
    "ValueError: bad value",
]
INFO = "2026-12-01 10:00:03 INFO all good"


def rows_shown(page) -> int:
    return page.locator("#log .row:not(.meta)").count()


def test_a_stack_trace_is_one_entry_folded_filtered_and_copied_whole(server_process, log_file, new_page):
    write_lines(log_file, [*JAVA, INFO, *PYTHON])
    server = server_process(str(log_file))
    p = new_page(permissions=["clipboard-read", "clipboard-write"])
    page = p.page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 12)
    assert page.locator("#log .row.cont").count() == 9
    assert page.locator("#log .row.head").count() == 2
    # One entry counts once for its level.
    wait_counts(page, {"error": 2, "info": 1, "other": 0})
    assert page.locator("#levels button[data-level=other]").is_hidden()

    # A match in one line of the trace shows the whole entry.
    page.fill("#filter", "nullpointer")
    wait_rows(page, 6)
    assert line_texts(page) == JAVA
    assert page.locator("#log mark").all_inner_texts() == ["NullPointer"]
    # An exclude that matches one line hides all of it.
    page.fill("#filter", "")
    wait_rows(page, 12)
    page.fill("#exclude", "Main.java")
    wait_rows(page, 6)
    assert line_texts(page) == [INFO, *PYTHON]
    page.fill("#exclude", "")
    wait_rows(page, 12)

    # Folded: only the first line stays, saying how many more there are.
    head = page.locator("#log .row.head", has_text="handler crashed")
    head.locator(".fold").click()
    wait_rows(page, 8)
    assert page.inner_text("#log .row.head .folded") == "+4 more lines"
    assert page.get_attribute("#log .row.head:has-text('handler crashed') .fold", "aria-expanded") == "false"
    page.keyboard.press("Enter")  # the fold keeps the focus: the keyboard opens it again
    wait_rows(page, 12)

    # Copying any line of an entry copies the entry.
    row = page.locator("#log .row", has_text="Foo.java:10")
    row.hover()
    row.locator("[data-act=copy]").click()
    page.wait_for_selector("#toast:has-text('copied')")
    assert page.evaluate("() => navigator.clipboard.readText()") == "\n".join(JAVA)


def test_continuation_lines_that_come_later_join_and_keep_their_own_ids(server_process, log_file, new_page):
    write_lines(log_file, [INFO, PYTHON[0]])
    server = server_process(str(log_file))
    p = new_page(permissions=["clipboard-read", "clipboard-write"])
    page = p.page
    page.goto(server.url + "view/app.log?filter=valueerror")
    wait_status(page, "live")
    assert rows_shown(page) == 0
    # The line that matches comes after its entry's first line was drawn (hidden).
    write_lines(log_file, PYTHON[1:3])
    page.wait_for_function("() => window.tailsse.stats().kept === 4")
    write_lines(log_file, PYTHON[3:])
    wait_rows(page, 5)
    assert line_texts(page) == PYTHON
    page.fill("#filter", "")
    wait_rows(page, 6)
    page.wait_for_selector("#log .row.head .fold")

    # A permalink to a continuation line opens that very line, inside its entry.
    row = page.locator("#log .row", has_text="main()")
    row.hover()
    row.locator("[data-act=link]").click()
    page.wait_for_selector("#toast:has-text('Link to the line copied')")
    link = page.evaluate("() => navigator.clipboard.readText()")
    other = new_page().page
    other.goto(link)
    wait_target(other, PYTHON[3])
    assert other.locator("#log .row[data-target]").get_attribute("class").split().count("cont") == 1
    assert line_texts(other)[-5:] == PYTHON


# ---------------------------------------------------------------------------- the lines' own times


def times(page) -> list[str]:
    return page.eval_on_selector_all("#log .row:not(.meta) .ts", "els => els.map(e => e.textContent)")


def test_the_time_column_shows_each_line_s_own_time_in_the_zone_asked(server_process, log_file, new_page):
    write_lines(
        log_file,
        [
            "2026-12-01T12:03:04.123Z INFO iso",
            '{"ts": 1764590584, "msg": "json seconds"}',
            '10.0.0.1 - - [01/Dec/2026:12:03:04 +0100] "GET / HTTP/1.1" 200 5',
            "no time in this one",
        ],
    )
    server = server_process(str(log_file))
    page = new_page(timezone_id="America/New_York").page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 4)
    page.click("#time")
    page.wait_for_selector("#log .row .ts")
    shown = times(page)
    assert shown[:3] == ["07:03:04.123", "07:03:04.000", "06:03:04.000"]
    # A line without a time of its own: when it arrived, marked as such.
    assert page.locator("#log .ts.arrival").count() == 1
    assert page.locator("#log .row:last-child .ts").get_attribute("class") == "ts arrival"

    page.click("#tz")
    page.wait_for_function("() => document.querySelector('#log .ts').textContent.endsWith('Z')")
    assert times(page)[:3] == ["12:03:04.123Z", "12:03:04.000Z", "11:03:04.000Z"]
    assert page.get_attribute("#tz", "aria-pressed") == "true"
    # Hovering a time gives its date and how long ago it was.
    page.hover("#log .row:first-child .ts")
    page.wait_for_function("() => document.querySelector('#log .row:first-child .ts').title")
    title = page.get_attribute("#log .row:first-child .ts", "title")
    assert title.startswith("2026-12-01 12:03:04.123 UTC · ") and title.endswith("ago"), title
    page.hover("#log .row:last-child .ts")
    page.wait_for_function("() => document.querySelector('#log .row:last-child .ts').title")
    assert "when it arrived" in page.get_attribute("#log .row:last-child .ts", "title")

    # Remembered by this browser.
    page.reload()
    wait_rows(page, 4)
    assert times(page)[0] == "12:03:04.123Z"


# ---------------------------------------------------------------------------- fields

FIELDED = [
    '{"ts":"2026-12-01T10:00:00Z","level":"info","msg":"login","user":{"id":42},"duration_ms":12}',
    '{"ts":"2026-12-01T10:00:01Z","level":"error","msg":"db down","user":{"id":7},"duration_ms":900}',
    '{"ts":"2026-12-01T10:00:02Z","level":"warn","msg":"slow","user":{"id":42},"duration_ms":600}',
    'ts=2026-12-01T10:00:03Z level=info msg="logfmt line" user.id=42 duration_ms=700',
    "a plain line",
]


def cells(page, row: int) -> list[str]:
    return page.eval_on_selector_all(
        f"#log .row:nth-child({row + 1}) .col", "els => els.map(e => e.textContent)"
    )


def test_json_and_logfmt_lines_as_columns_filtered_by_field(server_process, log_file, new_page):
    write_lines(log_file, FIELDED)
    server = server_process(str(log_file))
    page = new_page().page
    page.goto(server.url + "view/app.log?columns=1&fields=user.id,duration_ms")
    wait_rows(page, 5)
    assert page.get_attribute("#columns", "aria-pressed") == "true"
    assert page.input_value("#fields") == "user.id, duration_ms"
    assert cells(page, 0) == ["2026-12-01T10:00:00Z", "info", "42", "12", "login"]
    assert cells(page, 3) == ["2026-12-01T10:00:03Z", "info", "42", "700", "logfmt line"]
    # A line without fields stays text.
    assert page.locator("#log .row.cols").count() == 4
    assert line_texts(page)[4] == "a plain line"

    page.fill("#where", "duration_ms>500")
    wait_rows(page, 3)
    assert [cells(page, i)[-1] for i in range(3)] == ["db down", "slow", "logfmt line"]
    page.fill("#where", "level=error")
    wait_rows(page, 1)
    page.fill("#where", "")
    wait_rows(page, 5)

    # A click on a value keeps only the lines with it; the link says so.
    page.locator("#log .row:first-child .col-field", has_text="42").click()
    wait_rows(page, 3)
    assert page.input_value("#where") == "user.id=42"
    page.wait_for_function("() => new URLSearchParams(location.search).get('where') === 'user.id=42'")
    # More columns picked in the page; the view off shows the lines as they are.
    page.fill("#fields", "user.id")
    page.press("#fields", "Enter")
    page.locator("#fields").blur()
    page.wait_for_function("() => document.querySelectorAll('#log .row:first-child .col').length === 4")
    page.click("#columns")
    page.wait_for_function("() => !document.querySelector('#log .row.cols')")
    assert line_texts(page) == [FIELDED[0], FIELDED[2], FIELDED[3]]


# ---------------------------------------------------------------------------- a tab in the background

# The page told it is hidden or shown at will, and notifications recorded instead of shown.
BACKGROUND = """
window.__hidden = false;
Object.defineProperty(Document.prototype, "hidden", { get: () => window.__hidden, configurable: true });
Object.defineProperty(Document.prototype, "visibilityState", {
  get: () => (window.__hidden ? "hidden" : "visible"), configurable: true });
window.__setHidden = (h) => { window.__hidden = h; document.dispatchEvent(new Event("visibilitychange")); };
window.__notes = []; window.__asked = 0;
window.Notification = class {
  constructor(title, opts) { window.__notes.push([title, opts.body]); }
  static permission = "default";
  static async requestPermission() { window.__asked++; window.Notification.permission = "granted"; return "granted"; }
};
"""


def icon(page) -> str:
    return page.get_attribute("link[rel=icon]", "href")


def test_a_tab_in_the_background_counts_new_lines_and_notifies_when_asked(server_process, log_file, new_page):
    write_lines(log_file, ["INFO first"])
    server = server_process(str(log_file))
    page = new_page().page
    page.add_init_script(BACKGROUND)
    page.goto(server.url + "view/app.log")
    wait_rows(page, 1)
    wait_status(page, "live")
    plain_icon = icon(page)

    page.evaluate("() => window.__setHidden(true)")
    write_lines(log_file, ["INFO two", "\x1b[31mERROR\x1b[0m three", "INFO four"])
    page.wait_for_function("() => document.title === '(3 new, 1 error) app.log · tailsse'")
    page.wait_for_function("() => document.querySelector('link[rel=icon]').href.includes('circle')")
    assert "%23cf222e" in icon(page) and "%3E1%3C/text" in icon(page)
    # Looked at again: as it was.
    page.evaluate("() => window.__setHidden(false)")
    page.wait_for_function("() => document.title === 'app.log · tailsse'")
    assert icon(page) == plain_icon
    # Nothing asked the user for permission so far.
    assert page.evaluate("() => window.__asked") == 0 and page.evaluate("() => window.__notes") == []

    page.fill("#notify-text", "disk full")
    page.click("#notify")
    page.wait_for_selector("#notify[aria-pressed=true]")
    assert page.evaluate("() => window.__asked") == 1
    page.evaluate("() => window.__setHidden(true)")
    write_lines(
        log_file,
        ["ERROR Disk full on /var", "INFO unrelated", "WARN disk full again", "WARN disk full still"],
    )
    page.wait_for_function("() => window.__notes.length === 1")
    assert page.evaluate("() => window.__notes") == [["app.log", "ERROR Disk full on /var"]]
    # Those close behind are summed up in one.
    page.wait_for_function("() => window.__notes.length === 2", timeout=15000)
    assert page.evaluate("() => window.__notes[1]") == ["app.log", "2 more matching lines"]
    # Turned off: no more.
    page.evaluate("() => window.__setHidden(false)")
    page.click("#notify")
    page.wait_for_selector("#notify[aria-pressed=false]")
    page.evaluate("() => window.__setHidden(true)")
    write_lines(log_file, ["ERROR disk full once more"])
    page.wait_for_function("() => document.title.startsWith('(1 new, 1 error)')")
    assert page.evaluate("() => window.__notes.length") == 2


# ---------------------------------------------------------------------------- phones

# The left edge of every line box of a row's text, in order.
LINE_LEFTS = """el => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = new Map();
  for (const r of range.getClientRects()) if (r.width > 0 && !tops.has(Math.round(r.top))) tops.set(Math.round(r.top), r.left);
  return [...tops.values()];
}"""


def in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"]


def test_on_a_phone_the_keep_limit_and_count_are_reachable_and_lines_hang(server_process, log_file, new_page):
    long = "2026-12-01T10:00:00Z INFO " + " ".join(f"word{i}" for i in range(60))
    write_lines(log_file, [f"line {i}" for i in range(150)] + [long])
    server = server_process(str(log_file), "--lines", "200")
    page = new_page(viewport={"width": 390, "height": 740}, is_mobile=True, has_touch=True).page
    page.goto(server.url + "view/app.log")
    wait_rows(page, 151)
    for selector in ("#keep", "#count"):
        assert page.locator(selector).is_visible() and in_view(page, selector), selector
    assert page.inner_text("#count") == "151 lines"
    page.fill("#keep", "100")
    page.press("#keep", "Enter")
    wait_rows(page, 100)
    page.wait_for_function("() => document.getElementById('count').textContent === '100 lines'")

    # The long line wraps; every line after its first starts further in.
    lefts = page.locator("#log .row .tx").last.evaluate(LINE_LEFTS)
    assert len(lefts) > 2, lefts
    assert all(left > lefts[0] + 8 for left in lefts[1:]), lefts
    # Not wrapped, nothing hangs.
    page.click("#wrap")
    page.wait_for_selector("#log.nowrap")
    assert len(page.locator("#log .row .tx").last.evaluate(LINE_LEFTS)) == 1
