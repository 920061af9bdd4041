import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { createSearch, goesOn, MAX_RESULTS, PAGE_LIMIT, searchLabel, searchQuery, takePage } from "../../web/search.js";

const MB = 1024 * 1024;
const match = (n) => ({ id: `a-${n}-f`, text: `needle ${n}` });

describe("searching the whole file", () => {
  test("the first page starts at the end; the next ones before where the last stopped", () => {
    const s = createSearch("needle", { regex: true, matchCase: true });
    assert.deepEqual(searchQuery(s), { q: "needle", limit: PAGE_LIMIT, regex: 1, case: 1 });
    takePage(s, { matches: [match(9)], next: "a-5-f", scanned: 2 * MB, size: 10 * MB });
    assert.deepEqual(searchQuery(s), { q: "needle", limit: PAGE_LIMIT, regex: 1, case: 1, before: "a-5-f" });
  });

  test("matches add up, newest first; so do the bytes searched, up to the size", () => {
    const s = createSearch("needle");
    assert.deepEqual(takePage(s, { matches: [match(9), match(8)], next: "a-5-f", scanned: 4 * MB, size: 10 * MB }), [
      match(9),
      match(8),
    ]);
    takePage(s, { matches: [], next: "a-3-f", scanned: 4 * MB, size: 10 * MB });
    assert.equal(s.scanned, 8 * MB);
    assert.equal(goesOn(s), true);
    takePage(s, { matches: [match(1)], next: null, scanned: 4 * MB, size: 10 * MB });
    assert.deepEqual(s.matches, [match(9), match(8), match(1)]);
    assert.equal(s.scanned, 10 * MB);
    assert.equal(goesOn(s), false);
  });

  test("it stops when stopped, on an error, and after MAX_RESULTS matches", () => {
    const s = createSearch("x");
    takePage(s, { matches: [], next: "a-1-f", scanned: 1, size: 10 });
    s.stopped = true;
    assert.equal(goesOn(s), false);
    const many = createSearch("x");
    takePage(many, { matches: Array.from({ length: MAX_RESULTS }, (_, i) => match(i)), next: "a-1-f", scanned: 1, size: 10 });
    assert.equal(goesOn(many), false);
    const bad = createSearch("(");
    bad.error = "not a valid regular expression";
    assert.equal(goesOn(bad), false);
    assert.deepEqual(searchLabel(bad, false), { text: "not a valid regular expression", bad: true });
  });

  test("what the pane says, from the first request to the end", () => {
    const s = createSearch("needle");
    assert.match(searchLabel(s, true).text, /^Searching for “needle”/);
    takePage(s, { matches: [match(9)], next: "a-5-f", scanned: 3 * MB, size: 10 * MB });
    assert.equal(searchLabel(s, true).text, "1 match · searched 3.0 MB of 10 MB…");
    assert.equal(searchLabel(s, false).text, "1 match · searched 3.0 MB of 10 MB");
    takePage(s, { matches: [match(2)], next: null, scanned: 7 * MB, size: 10 * MB });
    assert.equal(searchLabel(s, false).text, "2 matches in the whole file (10 MB)");
  });

  test("no hit says so, never a blank pane", () => {
    const s = createSearch("nothing");
    takePage(s, { matches: [], next: "a-5-f", scanned: MB, size: 10 * MB });
    assert.equal(searchLabel(s, false).text, "No match yet · searched 1.0 MB of 10 MB");
    takePage(s, { matches: [], next: null, scanned: MB, size: 10 * MB });
    assert.equal(searchLabel(s, false).text, "No match for “nothing” in the whole file (10 MB)");
  });

  test("without a size (a Redis stream) it says what it can", () => {
    const s = createSearch("needle");
    takePage(s, { matches: [match(1)], next: "a-5-f", scanned: MB, size: null });
    assert.equal(searchLabel(s, false).text, "1 match · searched 1.0 MB");
    takePage(s, { matches: [], next: null, scanned: MB, size: null });
    assert.equal(searchLabel(s, false).text, "1 match in the whole file");
    const none = createSearch("x");
    takePage(none, { matches: [], next: null, scanned: 0, size: null });
    assert.equal(searchLabel(none, false).text, "No match for “x” in the whole file");
  });
});
