import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { applyFilter, compileFilter, escapeRegex, findHits } from "../../web/filter.js";
import { lineEntry, metaEntry } from "../../web/lines.js";

// The matched substrings of text, for readable expectations.
const matches = (filter, options, text) => {
  const { matcher } = compileFilter(filter, options);
  const { hits } = findHits(matcher, text);
  const out = [];
  for (let i = 0; hits && i < hits.length; i += 2) out.push(text.slice(hits[i], hits[i + 1]));
  return out;
};

describe("compileFilter", () => {
  test("no text, no filter", () => {
    assert.deepEqual(compileFilter("", { regex: true }), { matcher: null, invalid: false });
  });

  test("plain text matches literally, in any case by default", () => {
    assert.deepEqual(matches("a.b", {}, "a.b axb A.B"), ["a.b", "A.B"]);
    assert.deepEqual(matches("(x)", {}, "f(x) (X)"), ["(x)", "(X)"]);
  });

  test("match case", () => {
    assert.deepEqual(matches("error", { matchCase: true }, "ERROR error Error"), ["error"]);
  });

  test("regular expressions", () => {
    const line = "GET /api/users 200 GET /api/orders 201 GET /api/x 500";
    assert.deepEqual(matches("GET /api/(users|orders) 20\\d", { regex: true }, line), [
      "GET /api/users 200",
      "GET /api/orders 201",
    ]);
    assert.deepEqual(matches("^get", { regex: true }, line), ["GET"]);
    assert.deepEqual(matches("^get", { regex: true, matchCase: true }, line), []);
  });

  test("an invalid regular expression is no filter, marked invalid", () => {
    for (const bad of ["(", "[a-", "*x", "a{2,1}"]) {
      assert.deepEqual(compileFilter(bad, { regex: true }), { matcher: null, invalid: true }, bad);
    }
    // the same text is fine as plain text
    assert.equal(compileFilter("(", {}).invalid, false);
  });

  test("escapeRegex escapes every metacharacter", () => {
    const special = ".*+?^${}()|[]\\";
    assert.ok(new RegExp("^" + escapeRegex(special) + "$").test(special));
  });
});

describe("findHits", () => {
  test("hits are a flat [start, end] list; the count is how many", () => {
    const { matcher } = compileFilter("error", {});
    assert.deepEqual(findHits(matcher, "error budget (error, ERROR)"), {
      found: true,
      hits: [0, 5, 14, 19, 21, 26],
      count: 3,
    });
    assert.deepEqual(findHits(matcher, "all good"), { found: false, hits: null, count: 0 });
  });

  test("the matcher can be used again and again", () => {
    const { matcher } = compileFilter("a", {});
    assert.equal(findHits(matcher, "aaa").count, 3);
    assert.equal(findHits(matcher, "a").count, 1);
  });

  test("empty matches show the line without highlights, and end", () => {
    const { matcher } = compileFilter("x*", { regex: true });
    assert.deepEqual(findHits(matcher, "abc"), { found: true, hits: null, count: 0 });
    assert.deepEqual(findHits(matcher, "axxb"), { found: true, hits: [1, 3], count: 1 });
    const { matcher: end } = compileFilter("$", { regex: true });
    assert.deepEqual(findHits(end, ""), { found: true, hits: null, count: 0 });
  });

  test("a line with very many matches stops after about ten thousand", () => {
    const { matcher } = compileFilter("a", {});
    assert.equal(findHits(matcher, "a".repeat(50000)).count, 10001);
  });
});

describe("applyFilter", () => {
  test("sets shown, hits and count on the entry", () => {
    const { matcher } = compileFilter("error", {});
    const e = applyFilter(lineEntry("2026 ERROR db: error", "x"), matcher, false);
    assert.equal(e.shown, true);
    assert.deepEqual(e.hits, [5, 10, 15, 20]);
    assert.equal(e.count, 2);
    const other = applyFilter(lineEntry("INFO fine", "y"), matcher, false);
    assert.equal(other.shown, false);
  });

  test("matches the text without its escapes", () => {
    const { matcher } = compileFilter("red text", {});
    assert.equal(applyFilter(lineEntry("\x1b[31mred\x1b[0m text", "x"), matcher, false).shown, true);
    const { matcher: code } = compileFilter("31m", {});
    assert.equal(applyFilter(lineEntry("\x1b[31mred\x1b[0m", "x"), code, false).shown, false);
  });

  test("no filter shows everything; file events always show", () => {
    assert.equal(applyFilter(lineEntry("anything", "x"), null, false).shown, true);
    const { matcher } = compileFilter("nothing like it", {});
    assert.equal(applyFilter(metaEntry("truncated", "app.log was truncated"), matcher, false).shown, true);
  });

  test("pretty-printed JSON lines are matched as shown", () => {
    const { matcher } = compileFilter('"code": 402', {});
    const line = '{"msg":"declined","code":402}';
    assert.equal(applyFilter(lineEntry(line, "x"), matcher, false).shown, false);
    assert.equal(applyFilter(lineEntry(line, "x"), matcher, true).shown, true);
  });
});
