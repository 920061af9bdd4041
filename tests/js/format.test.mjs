import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { clock, countLabel, downloadName, downloadText, human, isoLocal, jumpLabel, pad, stamp } from "../../web/format.js";
import { lineEntry, metaEntry, prepare } from "../../web/lines.js";

const at = new Date(2026, 10, 24, 6, 5, 4, 3); // local time

test("times and stamps", () => {
  assert.equal(pad(7, 3), "007");
  assert.equal(pad(1234, 2), "1234");
  assert.equal(clock(at.getTime()), "06:05:04.003");
  assert.equal(stamp(at), "20261124-060504");
});

test("file sizes", () => {
  assert.equal(human(0), "0 B");
  assert.equal(human(1023), "1023 B");
  assert.equal(human(1536), "1.5 KB");
  assert.equal(human(12 * 1024 * 1024), "12 MB");
  assert.equal(human(5 * 1024 ** 5), "5120 TB");
  assert.equal(human(undefined), "—");
});

describe("the count", () => {
  const counts = (lines, matchLines = 0, matchCount = 0, kept = lines) => ({
    lines,
    matchLines,
    matchCount,
    entries: { length: kept },
  });

  test("lines, singular and plural", () => {
    assert.deepEqual(countLabel(counts(1), { filtering: false, invalid: false, keep: 100 }), {
      text: "1 line",
      bad: false,
      title: "",
    });
    assert.equal(countLabel(counts(5), { filtering: false, invalid: false, keep: 100 }).text, "5 lines");
  });

  test("matches while filtering", () => {
    const label = countLabel(counts(5, 2, 4), { filtering: true, invalid: false, keep: 100 });
    assert.equal(label.text, "4 matches in 2 of 5 lines");
    assert.equal(countLabel(counts(1, 1, 1), { filtering: true, invalid: false, keep: 100 }).text, "1 match in 1 of 1 lines");
  });

  test("large numbers are written for the reader's locale", () => {
    const text = countLabel(counts(12345), { filtering: false, invalid: false, keep: 100000 }).text;
    assert.equal(text, (12345).toLocaleString() + " lines");
  });

  test("a full page says it keeps only the newest lines", () => {
    const label = countLabel(counts(100, 0, 0, 100), { filtering: false, invalid: false, keep: 100 });
    assert.equal(label.title, "The page keeps 100 lines at a time: scroll up for older ones, or search the whole file");
  });

  test("an invalid regular expression says so, and leaves the title", () => {
    assert.deepEqual(countLabel(counts(5), { filtering: false, invalid: true, keep: 100 }), {
      text: "invalid regular expression",
      bad: true,
      title: null,
    });
  });
});

test("the jump button", () => {
  assert.equal(jumpLabel(1, "scroll"), "1 new line");
  assert.equal(jumpLabel(50, "user"), "50 new lines");
  assert.equal(jumpLabel(0, "user"), "Paused · resume");
  assert.equal(jumpLabel(0, "scroll"), "Jump to end");
  // paused past the keep limit: the lines were dropped and are read again on resume
  assert.equal(jumpLabel(0, "user", 1000), "More than 1,000 new lines · resume to load them");
  assert.equal(jumpLabel(0, "scroll", 100), "More than 100 new lines · resume to load them");
});

describe("download", () => {
  const shown = (e, yes = true) => Object.assign(prepare(e), { shown: yes });

  test("the lines shown, without escapes, file events marked", () => {
    const entries = [
      shown(lineEntry("\x1b[31mred\x1b[0m one", "a", at.getTime())),
      shown(lineEntry("hidden", "b", at.getTime()), false),
      Object.assign(metaEntry("truncated", "app.log was truncated", at.getTime()), { shown: true }),
    ];
    assert.equal(downloadText(entries, { json: false, time: false }), "red one\n--- app.log was truncated ---\n");
    assert.equal(
      downloadText(entries.slice(0, 1), { json: false, time: true }),
      "06:05:04.003 red one\n",
    );
    assert.equal(downloadText([], { json: false, time: false }), "");
    // A line's own time, as the time column shows it.
    const own = shown(lineEntry("2026-12-01T10:00:00.5Z x", "b", at.getTime()));
    assert.equal(downloadText([own], { json: false, time: true, tz: "utc" }), "10:00:00.500Z 2026-12-01T10:00:00.5Z x\n");
  });

  test("JSON lines as shown", () => {
    const entries = [shown(lineEntry('{"a":1}', "a"))];
    assert.equal(downloadText(entries, { json: true, time: false }), '{\n  "a": 1\n}\n');
  });

  test("file names", () => {
    assert.equal(downloadName("app.log", false, at), "app-20261124-060504.log");
    assert.equal(downloadName("notes.txt", true, at), "notes-filtered-20261124-060504.log");
    assert.equal(downloadName("data.csv", false, at), "data.csv-20261124-060504.log");
    assert.equal(downloadName(null, false, at), "log-20261124-060504.log");
  });
});

test("a time for api/time: ISO 8601 with the local offset", () => {
  const d = new Date(2026, 10, 24, 6, 5, 4);
  const iso = isoLocal(d);
  assert.match(iso, /^2026-11-24T06:05:04[+-]\d\d:\d\d$/);
  assert.equal(new Date(iso).getTime(), d.getTime());
});
