"""Several files in one view, in a real browser: the merged view (labels, filter, pause,
download, links, the URL, embedding), one event stream per tab whatever the page shows,
and tabs of one browser sharing one connection per stream."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

from tailsse.sources.merged_ids import tags
from tests import test_browser
from tests.test_browser import XSS, line_texts, wait_status, wait_texts, write_lines

# The browser tests' fixtures: one chromium for the module, fresh pages checked for errors.
browser = test_browser.browser
new_page = test_browser.new_page
host_site = test_browser.host_site

ROOT = Path(__file__).resolve().parent.parent

# ---------------------------------------------------------------------------- helpers


def stamp(second: int) -> str:
    return f"2026-12-01T10:{second // 60:02d}:{second % 60:02d}Z"


def labels(page) -> list[str]:
    return page.eval_on_selector_all("#log .row:not(.meta) .src", "els => els.map(e => e.textContent)")


def rows(page) -> list[str]:
    """Each line as label|text."""
    return page.eval_on_selector_all(
        "#log .row:not(.meta)",
        "els => els.map(r => (r.querySelector('.src')?.textContent ?? '') + '|' + r.querySelector('.tx').textContent)",
    )


def wait_rows_are(page, want: list[str], timeout: float = 15000) -> None:
    page.wait_for_function(
        """want => { const got = [...document.querySelectorAll('#log .row:not(.meta)')].map(r =>
             (r.querySelector('.src')?.textContent ?? '') + '|' + r.querySelector('.tx').textContent);
           return got.length === want.length && got.every((t, i) => t === want[i]); }""",
        arg=want,
        timeout=timeout,
    )


def streams(server) -> int:
    """The event streams the server has open (its /healthz says)."""
    with urllib.request.urlopen(server.url + "healthz", timeout=5) as r:
        return json.load(r)["streams"]


def wait_streams(server, want: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while (got := streams(server)) != want:
        assert time.monotonic() < deadline, f"{got} streams open, not {want}"
        time.sleep(0.05)


def two_files(tmp_path):
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    write_lines(a, [f"{stamp(1)} a one", f"{stamp(3)} a two"])
    write_lines(b, [f"{stamp(2)} b one", f"{stamp(4)} b two"])
    return a, b


# ---------------------------------------------------------------------------- the merged view


def test_the_javascript_tags_are_the_servers():
    names = ["a.log", "b.log", "app-1.log", "nginx.access.log", "x" * 60]
    module = (ROOT / "web" / "selection.js").as_uri()
    script = (
        f"import({json.dumps(module)}).then(m => console.log(JSON.stringify(m.tags({json.dumps(names)}))))"
    )
    out = subprocess.run(
        ["node", "-e", script], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    assert json.loads(out) == [t.decode() for t in tags(names)]


def test_files_chosen_in_the_list_show_in_one_labelled_view(server_process, tmp_path, new_page):
    a, b = two_files(tmp_path)
    write_lines(a, [f"{stamp(5)} {XSS[0]}"])
    server = server_process(str(a), str(b), str(tmp_path / "c.log"))
    p = new_page()
    page = p.page
    page.goto(server.url)
    page.wait_for_selector("#picker li >> nth=2")
    assert page.is_disabled("#merge-go")
    page.check("#picker input.pick[value='a.log']")
    page.check("#picker input.pick[value='b.log']")
    page.click("#merge-go")
    want = [
        f"a|{stamp(1)} a one",
        f"b|{stamp(2)} b one",
        f"a|{stamp(3)} a two",
        f"b|{stamp(4)} b two",
        f"a|{stamp(5)} {XSS[0]}",
    ]
    wait_rows_are(page, want)  # the backlog, merged by the lines' own times
    wait_status(page, "live")
    assert page.url == server.url + "view?file=a.log&file=b.log"
    assert page.title() == "a.log + b.log · tailsse"
    # Labels are text, with the full name as title, and each file has its own colour.
    assert page.locator("#log img").count() == 0 and p.dialogs == []
    assert page.get_attribute("#log .row .src >> nth=0", "title") == "a.log"
    colours = page.eval_on_selector_all(
        "#log .row:not(.meta) .src", "els => [...new Set(els.map(e => getComputedStyle(e).color))]"
    )
    assert len(colours) == 2
    # The note says what the view holds, and where history and search are: file by file.
    note = page.inner_text("#merged-note")
    assert "file by file" in note and "a.log" in note and "b.log" in note
    assert page.locator("#find-form").is_visible() and page.locator("#to-start").is_hidden()

    # Live lines of both files, labelled (live lines come as they are read: one after the other).
    write_lines(b, [f"{stamp(6)} b live"])
    wait_rows_are(page, [*want, f"b|{stamp(6)} b live"])
    write_lines(a, [f"{stamp(7)} a live"])
    wait_rows_are(page, [*want, f"b|{stamp(6)} b live", f"a|{stamp(7)} a live"])


def test_search_in_a_merged_view_searches_every_file_whole(server_process, tmp_path, new_page):
    """Each file is searched whole, results labelled with their file; one opens in its file."""
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    write_lines(a, [f"{stamp(i)} a {'needle' if i % 50 == 0 else 'hay'} {i}" for i in range(1, 400)])
    write_lines(b, [f"{stamp(i)} b {'needle' if i % 70 == 0 else 'hay'} {i}" for i in range(1, 400)])
    server = server_process(str(a), str(b), "--lines", "5")
    page = new_page().page
    page.goto(server.url + "view?file=a.log&file=b.log")
    wait_status(page, "live")
    page.fill("#find", "needle")
    page.press("#find", "Enter")
    want_a = [f"a needle {i}" for i in range(350, 0, -50)]
    want_b = [f"b needle {i}" for i in range(350, 0, -70)]
    page.wait_for_function(
        "n => document.querySelectorAll('#results-list li').length === n", arg=len(want_a) + len(want_b)
    )
    results = page.eval_on_selector_all(
        "#results-list li button",
        "els => els.map(b => [b.querySelector('.src').title, b.textContent])",
    )
    # Every file's matches, from far back in it (the backlog held 5 lines), labelled.
    assert [r[0] for r in results] == ["a.log"] * len(want_a) + ["b.log"] * len(want_b)
    assert [r[1].split(" ", 1)[1] for r in results] == want_a + want_b
    page.wait_for_function(
        "() => /in all 2 files/.test(document.querySelector('#results-count').textContent)"
    )
    # A result opens in its own file's view, in context, highlighted.
    page.click("#results-list li >> nth=9")
    page.wait_for_url("**/view/b.log?at=*")
    page.wait_for_function(
        "() => { const t = document.querySelector('#log .row[data-target] .tx'); return t && t.textContent.endsWith('b needle 210'); }"
    )


def test_filter_pause_download_and_a_line_link_in_a_merged_view(server_process, tmp_path, new_page):
    a, b = two_files(tmp_path)
    server = server_process(str(a), str(b))
    p = new_page(permissions=["clipboard-read", "clipboard-write"])
    page = p.page
    # The selection and the filter are in the URL: a shared link opens the same view.
    page.goto(server.url + "view?file=b.log&file=a.log&filter=two")
    wait_rows_are(page, [f"a|{stamp(3)} a two", f"b|{stamp(4)} b two"])
    assert page.inner_text("#count") == "2 matches in 2 of 4 lines"
    assert page.input_value("#file") == "a.log + b.log"
    write_lines(a, [f"{stamp(5)} a two again", f"{stamp(5)} a other"])
    wait_rows_are(page, [f"a|{stamp(3)} a two", f"b|{stamp(4)} b two", f"a|{stamp(5)} a two again"])

    # Paused, lines of both files are counted, not shown; resuming shows them in order.
    page.fill("#filter", "")
    page.wait_for_function("() => document.querySelectorAll('#log .row:not(.meta)').length === 6")
    page.click("#pause")
    write_lines(b, [f"{stamp(6)} b held"])
    page.wait_for_selector("#jump:has-text('1 new line')")
    write_lines(a, [f"{stamp(7)} a held"])
    page.wait_for_selector("#jump:has-text('2 new lines')")
    assert len(rows(page)) == 6
    page.click("#pause")
    page.wait_for_function("() => document.querySelectorAll('#log .row:not(.meta)').length === 8")
    assert rows(page)[-2:] == [f"b|{stamp(6)} b held", f"a|{stamp(7)} a held"]

    # The download says which file each line came from.
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / "shown.log"
    info.value.save_as(saved)
    assert info.value.suggested_filename.startswith("merged-")
    assert saved.read_text(encoding="utf-8").splitlines() == [
        f"a.log | {stamp(1)} a one",
        f"b.log | {stamp(2)} b one",
        f"a.log | {stamp(3)} a two",
        f"b.log | {stamp(4)} b two",
        f"a.log | {stamp(5)} a two again",
        f"a.log | {stamp(5)} a other",
        f"b.log | {stamp(6)} b held",
        f"a.log | {stamp(7)} a held",
    ]

    # Copy the line; its link opens the line in its own file, where history and search are.
    row = page.locator("#log .row", has_text="b two")
    row.hover()
    row.locator("[data-act=copy]").click()
    page.wait_for_selector("#toast:has-text('Line copied')")
    assert page.evaluate("() => navigator.clipboard.readText()") == f"{stamp(4)} b two"
    row.hover()
    row.locator("[data-act=link]").click()
    page.wait_for_selector("#toast:has-text('Link to the line copied')")
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link.startswith(server.url + "view/b.log?at=") and ".m" not in link, link
    other = new_page().page
    other.goto(link)
    other.wait_for_function("() => document.querySelector('#log .row[data-target]')")
    assert other.inner_text("#log .row[data-target] .tx") == f"{stamp(4)} b two"


def test_every_file_merged_from_the_header_and_in_an_embed(server_process, tmp_path, new_page, host_site):
    a, b = two_files(tmp_path)
    server = server_process(str(a), str(b))
    page = new_page().page
    page.goto(server.url + "view/a.log")
    wait_rows_are(page, [f"|{stamp(1)} a one", f"|{stamp(3)} a two"])  # one file: no labels
    page.select_option("#file", "*")
    wait_rows_are(
        page, [f"a|{stamp(1)} a one", f"b|{stamp(2)} b one", f"a|{stamp(3)} a two", f"b|{stamp(4)} b two"]
    )
    assert page.url == server.url + "view?file=*"
    page.go_back()
    wait_rows_are(page, [f"|{stamp(1)} a one", f"|{stamp(3)} a two"])
    page.go_forward()
    wait_rows_are(
        page, [f"a|{stamp(1)} a one", f"b|{stamp(2)} b one", f"a|{stamp(3)} a two", f"b|{stamp(4)} b two"]
    )

    # The embed page takes the same selection, in an iframe of another site.
    framed = new_page(csp=True).page  # the real headers: the page's own CSP applies
    framed.goto(host_site.embed(server.url + "embed?file=a.log&file=b.log&filter=two&theme=dark"))
    frame = framed.frame_locator("iframe")
    frame.locator("#log .row:not(.meta)").nth(1).wait_for()
    assert frame.locator("#log .row:not(.meta) .src").all_inner_texts() == ["a", "b"]
    assert frame.locator("#log .row:not(.meta) .tx").all_inner_texts() == [
        f"{stamp(3)} a two",
        f"{stamp(4)} b two",
    ]
    write_lines(b, [f"{stamp(9)} b two live"])
    frame.locator("#log .row:not(.meta)").nth(2).wait_for()
    assert frame.locator("#log .row:not(.meta) .src").all_inner_texts() == ["a", "b", "b"]
    assert frame.locator("#merged-note").is_visible()


# ---------------------------------------------------------------------------- one stream per tab

# Counts the event streams the page has open at once (they are read with fetch), and the most.
COUNT_STREAMS = """
window.__open = 0; window.__most = 0;
const realFetch = window.fetch;
window.fetch = async function (input, init) {
  const response = await realFetch.call(this, input, init);
  if (!(init && init.headers && init.headers.Accept === "text/event-stream") || !response.body) return response;
  window.__open++; window.__most = Math.max(window.__most, window.__open);
  const [mine, theirs] = response.body.tee();
  (async () => {
    const reader = theirs.getReader();
    try { for (;;) { if ((await reader.read()).done) break; } } catch { /* aborted */ }
    window.__open--;
  })();
  return new Response(mine, { status: response.status, statusText: response.statusText, headers: response.headers });
};
"""


def test_one_stream_per_tab_whatever_the_page_shows(server_process, tmp_path, new_page):
    a, b = two_files(tmp_path)
    write_lines(a, [f"{stamp(5)} a {i}" for i in range(3000)])  # more than a page of history
    server = server_process(str(a), str(b), "--lines", "50")
    page = new_page().page
    page.add_init_script(COUNT_STREAMS)
    page.goto(server.url)
    page.wait_for_selector("#picker li >> nth=1")
    wait_streams(server, 0)  # the list holds none

    def shows(stream_count: int = 1) -> None:
        wait_status(page, "live")
        wait_streams(server, stream_count)
        page.wait_for_function("n => window.__open === n", arg=stream_count)

    page.click("#picker a:has-text('a.log')")
    shows()
    page.select_option("#file", "b.log")
    wait_rows_are(page, [f"|{stamp(2)} b one", f"|{stamp(4)} b two"])
    shows()
    page.select_option("#file", "*")
    page.wait_for_selector("#log .row .src")
    shows()
    page.click("#merged-note a:has-text('a.log')")  # from the merged view to one of its files
    page.wait_for_function("() => location.pathname.endsWith('/view/a.log')")
    shows()
    # History: Home reads the first lines (the stream stops), End follows again.
    page.keyboard.press("Home")
    page.wait_for_function("() => window.tailsse.stats().first === '2026-12-01T10:00:01Z a one'")
    wait_streams(server, 0)
    page.keyboard.press("End")
    shows()
    page.go_back()  # the merged view again
    page.wait_for_selector("#log .row .src")
    shows()
    page.go_back()
    page.go_back()
    page.go_back()  # the file list
    page.wait_for_selector("#picker li >> nth=1")
    wait_streams(server, 0)
    assert page.evaluate("() => window.__most") == 1


# ---------------------------------------------------------------------------- tabs share a stream


def share(page) -> str | None:
    return page.evaluate("() => window.tailsse.stats().share")


def test_tabs_showing_one_stream_share_one_connection_and_take_over_exactly(
    server_process, log_file, new_page
):
    write_lines(log_file, [f"line {i:03d}" for i in range(30)])
    server = server_process(str(log_file), "--lines", "20")
    first = new_page()
    leader = first.page
    leader.goto(server.url + "view/app.log")
    wait_texts(leader, [f"line {i:03d}" for i in range(10, 30)])
    wait_status(leader, "live")
    assert share(leader) == "leader"
    # A second tab of the same browser: it follows the first one's stream, with its backlog.
    follower = first.context.new_page()
    follower.on("pageerror", lambda exc: first.errors.append(str(exc)))
    follower.goto(server.url + "view/app.log")
    wait_texts(follower, [f"line {i:03d}" for i in range(10, 30)])
    wait_status(follower, "live")
    assert share(follower) == "follower"
    wait_streams(server, 1)
    write_lines(log_file, [f"line {i:03d}" for i in range(30, 40)])
    wait_texts(leader, [f"line {i:03d}" for i in range(10, 40)])
    wait_texts(follower, [f"line {i:03d}" for i in range(10, 40)])
    assert streams(server) == 1

    # A third joins late and gets the same backlog as it would on its own: the last 20 lines.
    late = first.context.new_page()
    late.on("pageerror", lambda exc: first.errors.append(str(exc)))
    late.goto(server.url + "view/app.log")
    wait_texts(late, [f"line {i:03d}" for i in range(20, 40)])
    assert share(late) == "follower" and streams(server) == 1

    # The leader goes while lines are written: another tab leads, after its last line.
    write_lines(log_file, [f"line {i:03d}" for i in range(40, 50)])
    leader.close()
    write_lines(log_file, [f"line {i:03d}" for i in range(50, 60)])
    follower.wait_for_function("() => window.tailsse.stats().share === 'leader'")
    write_lines(log_file, [f"line {i:03d}" for i in range(60, 70)])
    wait_texts(follower, [f"line {i:03d}" for i in range(10, 70)])
    wait_texts(late, [f"line {i:03d}" for i in range(20, 70)])
    wait_streams(server, 1)
    assert share(late) == "follower"
    follower.wait_for_timeout(300)
    assert line_texts(follower) == [f"line {i:03d}" for i in range(10, 70)]
    assert line_texts(late) == [f"line {i:03d}" for i in range(20, 70)]

    # The last tab leads in turn.
    follower.close()
    write_lines(log_file, [f"line {i:03d}" for i in range(70, 80)])
    wait_texts(late, [f"line {i:03d}" for i in range(20, 80)])
    assert share(late) == "leader"
    wait_streams(server, 1)


def test_merged_views_are_shared_too_and_other_streams_have_their_own(server_process, tmp_path, new_page):
    a, b = two_files(tmp_path)
    server = server_process(str(a), str(b))
    first = new_page()
    one = first.page
    one.goto(server.url + "view?file=a.log&file=b.log")
    one.wait_for_function("() => window.tailsse.stats().share === 'leader'")
    wait_status(one, "live")
    two = first.context.new_page()
    two.on("pageerror", lambda exc: first.errors.append(str(exc)))
    two.goto(server.url + "view?file=b.log&file=a.log")  # the same files: the same stream
    backlog = [f"a|{stamp(1)} a one", f"b|{stamp(2)} b one", f"a|{stamp(3)} a two", f"b|{stamp(4)} b two"]
    wait_rows_are(two, backlog)
    assert share(two) == "follower"
    wait_streams(server, 1)
    # A tab with another stream holds a connection of its own.
    three = first.context.new_page()
    three.on("pageerror", lambda exc: first.errors.append(str(exc)))
    three.goto(server.url + "view/a.log")
    wait_status(three, "live")
    assert share(three) == "leader"
    wait_streams(server, 2)
    # The merged stream's leader switches to a.log, which another tab reads already: it
    # follows that one, and the other merged tab resumes after the merged id, every file exactly.
    write_lines(b, [f"{stamp(5)} b three"])
    wait_rows_are(two, [*backlog, f"b|{stamp(5)} b three"])
    one.select_option("#file", "a.log")
    one.wait_for_function("() => window.tailsse.stats().share === 'follower'")
    wait_rows_are(one, [f"|{stamp(1)} a one", f"|{stamp(3)} a two"])
    write_lines(a, [f"{stamp(6)} a three"])
    two.wait_for_function("() => window.tailsse.stats().share === 'leader'")
    wait_rows_are(two, [*backlog, f"b|{stamp(5)} b three", f"a|{stamp(6)} a three"])
    write_lines(b, [f"{stamp(7)} b four"])
    wait_rows_are(two, [*backlog, f"b|{stamp(5)} b three", f"a|{stamp(6)} a three", f"b|{stamp(7)} b four"])
    wait_rows_are(one, [f"|{stamp(1)} a one", f"|{stamp(3)} a two", f"|{stamp(6)} a three"])
    wait_streams(server, 2)
    two.wait_for_timeout(300)
    assert len(rows(two)) == 7
