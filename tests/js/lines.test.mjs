import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { isJsonish, jsonRuns, prettyJson } from "../../web/json.js";
import { displayText, fileEventMessage, lineEntry, metaEntry, prepare, prettyOf, showsPretty } from "../../web/lines.js";

describe("JSON", () => {
  test("what looks like a JSON object", () => {
    assert.equal(isJsonish('{"a": 1}'), true);
    assert.equal(isJsonish("{not json}"), true); // cheap: parsing decides later
    for (const no of ["{", "{}x", "[1, 2]", "plain", ""]) assert.equal(isJsonish(no), false, no);
  });

  test("pretty-printed with two-space indents, or null", () => {
    assert.equal(prettyJson('{"a":[1,true],"b":{"c":null}}'), '{\n  "a": [\n    1,\n    true\n  ],\n  "b": {\n    "c": null\n  }\n}');
    assert.equal(prettyJson("{not json}"), null);
    assert.equal(prettyJson("42"), null);
    assert.equal(prettyJson("null"), null);
  });

  test("runs colour keys, strings, numbers and literals", () => {
    const text = prettyJson('{"msg":"a \\"q\\" b","code":-4.5e2,"ok":false,"n":null}');
    const runs = jsonRuns(text).map((r) => [text.slice(r.s, r.e), r.cls]);
    assert.deepEqual(runs, [
      ['"msg"', "j-key"],
      ['"a \\"q\\" b"', "j-str"],
      ['"code"', "j-key"],
      ["-450", "j-num"],
      ['"ok"', "j-key"],
      ["false", "j-lit"],
      ['"n"', "j-key"],
      ["null", "j-lit"],
    ]);
  });
});

describe("entries", () => {
  test("prepare finds the plain text, colours and level once", () => {
    const e = prepare(lineEntry("\x1b[1;31mERROR\x1b[0m disk", "id", 1));
    assert.equal(e.plain, "ERROR disk");
    assert.deepEqual(e.runs, [{ s: 0, e: 5, cls: "a-fg1 a-b", fgx: null, bgx: null }]);
    assert.equal(e.level, "error");
    assert.deepEqual(e.lvl, [0, 5]);
    assert.equal(e.jsonish, false);
    e.raw = "changed";
    assert.equal(prepare(e).plain, "ERROR disk");
  });

  test("a plain line has no runs and maybe no level", () => {
    const e = prepare(lineEntry("just words", "id"));
    assert.equal(e.runs, null);
    assert.equal(e.level, null);
    assert.equal(e.lvl, null);
  });

  test("JSON lines follow the toggle unless the line chose for itself", () => {
    const e = prepare(lineEntry('{"level":"info","a":1}', "id"));
    assert.equal(e.level, "info");
    assert.equal(showsPretty(e, false), false);
    assert.equal(showsPretty(e, true), true);
    assert.equal(displayText(e, true), '{\n  "level": "info",\n  "a": 1\n}');
    assert.equal(e.prettyRuns.filter((r) => r.cls === "j-key").length, 2);
    e.pretty = false;
    assert.equal(showsPretty(e, true), false);
    e.pretty = true;
    assert.equal(showsPretty(e, false), true);
  });

  test("a line that only looks like JSON is shown as it is", () => {
    const e = prepare(lineEntry("{oops}", "id"));
    assert.equal(e.jsonish, true);
    assert.equal(showsPretty(e, true), false);
    assert.equal(prettyOf(e), null);
    assert.equal(displayText(e, true), "{oops}");
  });

  test("file events", () => {
    const e = metaEntry("rotated", "app.log was rotated", 3);
    assert.equal(showsPretty(e, true), false);
    assert.equal(e.shown, true);
    assert.equal(fileEventMessage("rotated", '{"message": "app.log was rotated"}'), "app.log was rotated");
    assert.equal(fileEventMessage("missing", "not json"), "missing");
    assert.equal(fileEventMessage("missing", '{"message": 3}'), "missing");
    assert.equal(fileEventMessage("lost", "null"), "lost");
  });
});
