import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { compileFilter } from "../../web/filter.js";
import { COLOURS, compileHighlights, highlightMarks, parseRule, parseRules, ruleParam } from "../../web/highlight.js";
import { lineEntry } from "../../web/lines.js";
import { applyRules, compileRules, dropHidden } from "../../web/rules.js";
import { pageQuery, readOptions } from "../../web/settings.js";

const filterOf = (opts) => Object.assign(compileFilter(opts.filter || "", opts), compileRules(opts));

describe("highlight rules", () => {
  test("colour:pattern, or the next colour in turn; an unknown colour is part of the pattern", () => {
    assert.deepEqual(parseRule("red:timeout"), { colour: "red", pattern: "timeout" });
    assert.deepEqual(parseRule("timeout", 1), { colour: COLOURS[1], pattern: "timeout" });
    assert.deepEqual(parseRule("12:03:04"), { colour: COLOURS[0], pattern: "12:03:04" });
    assert.deepEqual(parseRule("Blue:/5\\d\\d/"), { colour: "blue", pattern: "/5\\d\\d/" });
    assert.equal(parseRule("red:"), null);
    assert.deepEqual(parseRules(["a", "", "b"]), [
      { colour: COLOURS[0], pattern: "a" },
      { colour: COLOURS[2], pattern: "b" },
    ]);
    assert.equal(ruleParam({ colour: "green", pattern: "x:y" }), "green:x:y");
  });

  test("marks: plain text in any case, /regex/, no overlap, invalid rules left out", () => {
    const rules = compileHighlights([
      { colour: "red", pattern: "ERROR" },
      { colour: "blue", pattern: "/5\\d\\d/" },
      { colour: "green", pattern: "/(/" },
      { colour: "yellow", pattern: "or" },
    ]);
    assert.equal(rules.length, 3);
    const text = "error 503 after 500 tries, or more";
    assert.deepEqual(highlightMarks(rules, text), [
      { s: 0, e: 5, colour: "red" },
      { s: 6, e: 9, colour: "blue" },
      { s: 16, e: 19, colour: "blue" },
      { s: 27, e: 29, colour: "yellow" },
      { s: 31, e: 33, colour: "yellow" },
    ]);
    assert.equal(highlightMarks(rules, "nothing here"), null);
    assert.equal(highlightMarks([], text), null);
    // A pattern that matches empty strings marks nothing and ends.
    assert.equal(highlightMarks(compileHighlights([{ colour: "red", pattern: "/x*/" }]), "abc"), null);
  });
});

describe("the exclude filter", () => {
  const lines = ["GET /healthz 200", "GET /api/users 200", "POST /api/orders 500", "GET /HEALTHZ 200"];
  test("hides what it matches, in any case unless asked, with the filter box and highlights", () => {
    const filter = filterOf({ exclude: "/healthz", highlight: [{ colour: "red", pattern: "500" }] });
    const es = lines.map((l) => applyRules(lineEntry(l, "x"), filter, false));
    assert.deepEqual(es.map((e) => e.shown), [false, true, true, false]);
    assert.deepEqual(es[2].hl, [{ s: 17, e: 20, colour: "red" }]);
    assert.equal(es[0].hl, null);
    const cased = filterOf({ exclude: "/healthz", matchCase: true, filter: "GET" });
    assert.deepEqual(lines.map((l) => applyRules(lineEntry(l, "x"), cased, false).shown), [false, true, false, true]);
    const regex = filterOf({ exclude: "health|orders", regex: true });
    assert.deepEqual(lines.map((l) => applyRules(lineEntry(l, "x"), regex, false).shown), [false, true, false, false]);
  });
  test("an invalid expression excludes nothing and says so", () => {
    const filter = filterOf({ exclude: "(", regex: true });
    assert.equal(filter.excludeInvalid, true);
    assert.equal(applyRules(lineEntry("(", "x"), filter, false).shown, true);
  });
  test("search results it hides are counted", () => {
    const search = { matches: lines.map((text, id) => ({ id, text })) };
    assert.equal(dropHidden(search, search.matches.slice(), filterOf({ exclude: "healthz" })).length, 2);
    assert.equal(search.hidden, 2);
  });
});

describe("rules in the URL", () => {
  test("read, and written back in the page URL", () => {
    const params = new URLSearchParams("exclude=%2Fhealthz&highlight=red:timeout&highlight=db&levels=error,warn");
    const opts = readOptions(params);
    assert.equal(opts.exclude, "/healthz");
    assert.deepEqual(opts.highlight, [
      { colour: "red", pattern: "timeout" },
      { colour: COLOURS[1], pattern: "db" },
    ]);
    assert.equal(
      pageQuery("?theme=dark&highlight=old", opts),
      "theme=dark&levels=error%2Cwarn&exclude=%2Fhealthz&highlight=red%3Atimeout&highlight=green%3Adb",
    );
  });
});
