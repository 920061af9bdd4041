import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { compileFilter } from "../../web/filter.js";
import { lineEntry, metaEntry, prepare } from "../../web/lines.js";
import { continuation, entryLines, filterLines, joinsAbove, lastLine } from "../../web/multiline.js";
import { compileRules } from "../../web/rules.js";

const stateOf = (opts = {}) => ({
  opts: { json: false, ...opts },
  filter: Object.assign(compileFilter(opts.filter || "", opts), compileRules(opts)),
});
const entries = (lines) => lines.map((l, i) => lineEntry(l, "id" + i));

const JAVA = [
  "2026-12-01 10:00:00 ERROR request failed",
  "java.lang.IllegalStateException: boom",
  "\tat com.example.Foo.bar(Foo.java:10)",
  "\tat com.example.Main.main(Main.java:3)",
  "Caused by: java.io.IOException: NullPointer in disk",
  "\t... 12 more",
  "2026-12-01 10:00:01 INFO next",
];
const PYTHON = [
  "2026-12-01 10:00:02 ERROR handler crashed",
  "Traceback (most recent call last):",
  '  File "app.py", line 3, in <module>',
  "    main()",
  "ValueError: bad value",
  "2026-12-01 10:00:03 WARN after",
];

describe("continuation lines", () => {
  test("indented, at, Caused by, ..., Traceback and the line that ends it", () => {
    assert.equal(continuation("\tat x(Y.java:1)").cont, true);
    assert.equal(continuation("    at Object.<anonymous> (/app/x.js:1:1)").cont, true);
    assert.equal(continuation("at foo (bar.js:1)").cont, true);
    assert.equal(continuation("Caused by: x").cont, true);
    assert.equal(continuation("java.lang.IllegalStateException: boom").cont, true);
    assert.equal(continuation("com.example.Boom$InnerError").cont, true);
    assert.equal(continuation("Exceptional day").cont, false);
    assert.equal(continuation("... 3 more").cont, true);
    assert.deepEqual(continuation("Traceback (most recent call last):"), { cont: true, trace: true });
    assert.deepEqual(continuation("  File \"a.py\", line 1", true), { cont: true, trace: true });
    assert.deepEqual(continuation("ValueError: bad", true), { cont: true, trace: false });
    assert.equal(continuation("ValueError: bad", false).cont, false);
  });
  test("a line with its own time, an empty line or a JSON line starts an entry", () => {
    for (const line of ["", "   ", "  2026-12-01T10:00:00Z INFO indented", '{"a": 1}', "Dec  1 10:00:00 host x"]) {
      assert.equal(continuation(line, true).cont, false, line);
    }
    assert.equal(continuation("plain").cont, false);
  });
});

describe("grouping and filtering as one entry", () => {
  test("each line keeps its entry; continuations know their head and take its level", () => {
    const es = entries([...JAVA, ...PYTHON]);
    filterLines(stateOf(), es, null);
    assert.deepEqual(es.map((e) => e.cont), [false, true, true, true, true, true, false, false, true, true, true, true, false]);
    assert.equal(es[2].head, es[0]);
    assert.equal(es[0].size, 6);
    assert.equal(es[9].head, es[7]);
    assert.equal(es[11].head, es[7]);
    assert.equal(es[10].level, "error");
    assert.equal(es[7].size, 5);
    assert.deepEqual(es.map((e) => e.id), es.map((_, i) => "id" + i));
    assert.deepEqual(entryLines(es, es[9]).map((e) => e.raw), PYTHON.slice(0, 5));
    assert.deepEqual(entryLines(es, es[12]).map((e) => e.raw), [PYTHON[5]]);
  });
  test("a match in any line shows the whole entry; an exclude in any line hides it", () => {
    const es = entries(JAVA);
    filterLines(stateOf({ filter: "nullpointer" }), es, null);
    assert.deepEqual(es.map((e) => e.shown), [true, true, true, true, true, true, false]);
    assert.equal(es[4].count, 1);
    assert.equal(es[0].count, 0);
    filterLines(stateOf({ exclude: "Main.java" }), es, null);
    assert.deepEqual(es.map((e) => e.shown), [false, false, false, false, false, false, true]);
  });
  test("the level filter takes the whole entry; a collapsed entry shows its first line", () => {
    const es = entries(PYTHON);
    filterLines(stateOf({ levels: new Set(["warn"]) }), es, null);
    assert.deepEqual(es.map((e) => e.shown), [false, false, false, false, false, true]);
    es[0].collapsed = true;
    filterLines(stateOf(), es, null);
    assert.deepEqual(es.map((e) => e.shown), [true, false, false, false, false, true]);
  });
  test("lines that come later join the entry of the line before; a changed decision is stale", () => {
    const state = stateOf({ filter: "valueerror" });
    const first = entries(PYTHON.slice(0, 3));
    filterLines(state, first, null);
    assert.deepEqual(first.map((e) => e.shown), [false, false, false]);
    const rest = entries(PYTHON.slice(3));
    const { stale, heads: touched } = filterLines(state, rest, lastLine(first));
    assert.equal(stale, true);
    assert.deepEqual(touched, [first[0]]);
    assert.equal(rest[1].head, first[0]);
    assert.deepEqual(rest.map((e) => e.shown), [true, true, false]);
    // Stale: everything is filtered again; then a line more that changes nothing is not.
    const all = [...first, ...rest];
    filterLines(state, all, null);
    assert.deepEqual(all.map((e) => e.shown), [true, true, true, true, true, false]);
    const again = filterLines(state, entries(["  more"]), rest[1]);
    assert.equal(again.stale, false);
  });
  test("a file event ends an entry; older lines joining the first kept one are seen", () => {
    const es = [lineEntry("ERROR x", "a"), metaEntry("truncated", "truncated"), lineEntry("  indented", "b")];
    filterLines(stateOf(), es, null);
    assert.equal(es[2].cont, false);
    const kept = entries(["  at top", "next"]);
    filterLines(stateOf(), kept, null);
    const older = entries(["ERROR above"]);
    filterLines(stateOf(), older, null);
    assert.equal(joinsAbove([...older, ...kept], older), true);
    const fine = entries(["INFO fine"]);
    filterLines(stateOf(), fine, null);
    assert.equal(joinsAbove([...older, ...fine], older), false);
    // Linked again from the top, the first kept line joins the entry above it.
    assert.equal(kept[0].cont, false);
    const all = [...older, ...kept];
    filterLines(stateOf(), all, null);
    assert.deepEqual(all.map((e) => e.head.id), ["id0", "id0", "id1"]);
  });
});

test("with nothing to hide, lines are linked and counted by level without being prepared", () => {
  const es = entries(["\x1b[31mERROR\x1b[0m coloured", "\x1b[2m    at dim.frame\x1b[0m", "INFO next"]);
  filterLines(stateOf(), es, null);
  assert.deepEqual(es.map((e) => e.plain), [null, null, null]);
  assert.deepEqual(es.map((e) => e.level), ["error", "error", "info"]);
  assert.deepEqual(es.map((e) => e.cont), [false, true, false]);
  assert.deepEqual(es.map((e) => e.shown), [true, true, true]);
  // Prepared later (drawn), a continuation keeps its entry's level.
  assert.equal(prepare(es[1]).level, "error");
  assert.equal(es[1].plain, "    at dim.frame");
});
