import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { clockIn, entryTime, fullTime, lineTime, relative } from "../../web/linetime.js";
import { lineEntry, prepare } from "../../web/lines.js";
import { timeTitle } from "../../web/timecol.js";

const utc = (...a) => Date.UTC(...a);
const local = (...a) => new Date(...a).getTime();

describe("a line's own time, as the server reads it", () => {
  const cases = [
    ["2026-12-01T12:03:04.123Z GET /", utc(2026, 11, 1, 12, 3, 4, 123)],
    ["2026-12-01 12:03:04,5+01:00 INFO x", utc(2026, 11, 1, 11, 3, 4, 500)],
    ["2026-12-01T12:03:04-0530 x", utc(2026, 11, 1, 17, 33, 4)],
    ["2026-12-01T12:03:04.123456789Z", utc(2026, 11, 1, 12, 3, 4) + (123456789 / 1e9) * 1000],
    ["2026-12-01 12:03 no seconds", local(2026, 11, 1, 12, 3, 0)],
    ["2026-12-01T12:03:04 local", local(2026, 11, 1, 12, 3, 4)],
    ['127.0.0.1 - - [01/Dec/2026:12:03:04 +0000] "GET / HTTP/1.1" 200', utc(2026, 11, 1, 12, 3, 4)],
    ['{"ts": 1764590584, "msg": "x"}', 1764590584000],
    ['{"timestamp":1764590584123,"msg":"x"}', 1764590584123],
    ['{"level":"info","time":"2026-12-01T12:03:04Z"}', utc(2026, 11, 1, 12, 3, 4)],
    ["2026-02-31T00:00:00Z not a day", null],
    ["no time at all", null],
    ["<34>Dec  1 12:03:04 host su: x", local(2026, 11, 1, 12, 3, 4)],
  ];
  for (const [line, expected] of cases) {
    test(line, () => assert.equal(lineTime(line, utc(2026, 11, 2)), expected));
  }
  test("syslog has no year: the latest not after now", () => {
    assert.equal(lineTime("Dec 31 23:00:00 host x", utc(2026, 0, 5)), local(2025, 11, 31, 23, 0, 0));
    assert.equal(lineTime("Jan  2 01:00:00 host x", utc(2026, 0, 5)), local(2026, 0, 2, 1, 0, 0));
  });
  test("only the first 512 characters are looked at", () => {
    assert.equal(lineTime("x".repeat(600) + " 2026-12-01T12:03:04Z"), null);
  });
});

describe("times written", () => {
  const t = utc(2026, 11, 1, 12, 3, 4, 5);
  test("in UTC or the user's zone", () => {
    assert.equal(clockIn(t, "utc"), "12:03:04.005Z");
    const d = new Date(t);
    assert.equal(clockIn(t, "local"), [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":") + ".005");
    assert.equal(fullTime(t, "utc"), "2026-12-01 12:03:04.005 UTC");
    assert.match(fullTime(t, "local"), /^2026-12-0[12] \d\d:\d\d:04\.005 [+-]\d\d:\d\d$/);
  });
  test("relative", () => {
    assert.equal(relative(t, t + 300), "just now");
    assert.equal(relative(t, t + 5000), "5 s ago");
    assert.equal(relative(t, t + 3 * 60000 + 10), "3 min ago");
    assert.equal(relative(t, t + 2 * 3600000), "2 h ago");
    assert.equal(relative(t, t + 4 * 86400000), "4 days ago");
    assert.equal(relative(t, t - 5000), "in 5 s");
  });
  test("an entry's own time, else its arrival; the title says which", () => {
    const own = prepare(lineEntry("2026-12-01T12:03:04.005Z x", "a", 42));
    assert.deepEqual(entryTime(own), { t, own: true });
    const bare = prepare(lineEntry("nothing", "b", t));
    assert.deepEqual(entryTime(bare), { t, own: false });
    assert.equal(timeTitle(own, "utc", t + 60000), "2026-12-01 12:03:04.005 UTC · 1 min ago");
    assert.match(timeTitle(bare, "utc", t), /when it arrived/);
  });
});
