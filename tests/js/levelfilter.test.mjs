import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { LEVEL_ORDER, isError, levelShown, levelsParam, onlyLevel, parseLevels, toggleLevel } from "../../web/levelfilter.js";
import { lineEntry } from "../../web/lines.js";
import { applyRules, compileRules, dropHidden } from "../../web/rules.js";
import { compileFilter } from "../../web/filter.js";
import { append, createStore, recount } from "../../web/store.js";

const filterOf = (opts) => Object.assign(compileFilter(opts.filter || "", opts), compileRules(opts));

describe("levels in the URL", () => {
  test("parsed, unknown names dropped, nothing known means all", () => {
    assert.deepEqual([...parseLevels("error,WARN, bogus")], ["error", "warn"]);
    assert.equal(parseLevels(""), null);
    assert.equal(parseLevels(null), null);
    assert.equal(parseLevels("loud"), null);
  });
  test("written in severity order, empty when all are shown", () => {
    assert.equal(levelsParam(new Set(["warn", "fatal", "error"])), "fatal,error,warn");
    assert.equal(levelsParam(null), "");
    assert.equal(levelsParam(new Set(LEVEL_ORDER)), "");
  });
  test("toggling and only-this", () => {
    const noDebug = toggleLevel(null, "debug");
    assert.deepEqual([...noDebug], LEVEL_ORDER.filter((n) => n !== "debug"));
    assert.equal(toggleLevel(noDebug, "debug"), null);
    assert.deepEqual([...onlyLevel(null, "error")], ["error"]);
    assert.equal(onlyLevel(new Set(["error"]), "error"), null);
  });
  test("a line with no level is other; errors are error and fatal", () => {
    assert.equal(levelShown(new Set(["other"]), { level: null }), true);
    assert.equal(levelShown(new Set(["error"]), { level: null }), false);
    assert.equal(levelShown(null, { level: "debug" }), true);
    assert.deepEqual(
      ["fatal", "error", "warn", null].map((level) => isError({ level })),
      [true, true, false, false],
    );
  });
});

describe("the level filter applied", () => {
  const lines = ["2026 ERROR boom", "2026 WARN slow error", "2026 DEBUG x", "plain words", "2026 INFO error budget"];
  test("with and without the filter box, counting every level", () => {
    const filter = filterOf({ levels: new Set(["error", "warn"]) });
    const shown = lines.map((l) => applyRules(lineEntry(l, "i"), filter, false).shown);
    assert.deepEqual(shown, [true, true, false, false, false]);
    const both = filterOf({ filter: "error", levels: new Set(["warn", "info"]) });
    const es = lines.map((l) => applyRules(lineEntry(l, "i"), both, false));
    assert.deepEqual(es.map((e) => e.shown), [false, true, false, false, true]);
    assert.deepEqual(es.map((e) => e.count), [0, 1, 0, 0, 1]);
    const store = createStore();
    append(store, es, 100, true);
    assert.deepEqual(store.levels, { fatal: 0, error: 1, warn: 1, info: 1, debug: 1, trace: 0, other: 1 });
    assert.equal(store.matchLines, 2);
    recount(store, true);
    assert.equal(store.levels.other, 1);
  });
  test("search results the filter hides leave the list and are counted", () => {
    const search = { matches: [{ id: "a", text: "old ERROR" }], hidden: 0 };
    const added = lines.map((text, i) => ({ id: String(i), text }));
    search.matches.push(...added);
    const kept = dropHidden(search, added, filterOf({ levels: new Set(["error"]) }));
    assert.deepEqual(kept.map((m) => m.text), ["2026 ERROR boom"]);
    assert.deepEqual(search.matches.map((m) => m.id), ["a", "0"]);
    assert.equal(search.hidden, 4);
    assert.equal(dropHidden(search, added, filterOf({})), added);
  });
});
