import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  columnCells,
  fieldsMatch,
  getPath,
  parseColumns,
  parseFields,
  parseLogfmt,
  parseWhere,
  termHolds,
  valueText,
  whereTerm,
} from "../../web/fields.js";
import { compileFilter } from "../../web/filter.js";
import { lineEntry } from "../../web/lines.js";
import { applyRules, compileRules } from "../../web/rules.js";
import { pageQuery, readOptions } from "../../web/settings.js";

describe("lines as fields", () => {
  test("JSON objects; arrays, broken JSON and plain text are not", () => {
    assert.deepEqual(parseFields('{"level":"error","user":{"id":42}}'), { level: "error", user: { id: 42 } });
    assert.equal(parseFields("[1, 2]"), null);
    assert.equal(parseFields('{"broken": }'), null);
    assert.equal(parseFields("just words"), null);
  });
  test("logfmt, quoted values, and at least two pairs", () => {
    assert.deepEqual(parseLogfmt('ts=2026-12-01T10:00:00Z level=warn msg="slow query" duration_ms=812 empty='), {
      ts: "2026-12-01T10:00:00Z",
      level: "warn",
      msg: "slow query",
      duration_ms: "812",
      empty: "",
    });
    assert.deepEqual(parseLogfmt('a=1 b="say \\"hi\\""'), { a: "1", b: 'say "hi"' });
    assert.equal(parseLogfmt("GET /x?a=1 only one"), null);
    assert.equal(parseLogfmt("see https://x/?a=1&b=2 here"), null);
  });
  test("nested paths, keys with dots", () => {
    const f = { user: { id: 42, name: "ann" }, "http.status": 503, a: { "b.c": 1 }, list: [1, 2] };
    assert.equal(getPath(f, "user.id"), 42);
    assert.equal(getPath(f, "http.status"), 503);
    assert.equal(getPath(f, "a.b.c"), 1);
    assert.equal(getPath(f, "list.1"), 2);
    assert.equal(getPath(f, "user.missing"), undefined);
    assert.equal(getPath(null, "x"), undefined);
    assert.deepEqual([null, { a: 1 }, 3, undefined].map(valueText), ["null", '{"a":1}', "3", ""]);
  });
});

describe("field filters", () => {
  test("parsed, quoted values", () => {
    assert.deepEqual(parseWhere('level=error user.id=42 duration_ms>500 msg~"time out" host!=a n<=3'), [
      { path: "level", op: "=", value: "error" },
      { path: "user.id", op: "=", value: "42" },
      { path: "duration_ms", op: ">", value: "500" },
      { path: "msg", op: "~", value: "time out" },
      { path: "host", op: "!=", value: "a" },
      { path: "n", op: "<=", value: "3" },
    ]);
    assert.deepEqual(parseWhere(""), []);
    assert.equal(whereTerm("msg", "=", "slow query"), 'msg="slow query"');
    assert.equal(whereTerm("user.id", "=", 42), "user.id=42");
  });
  test("numbers compare as numbers, text in any case, a missing field only for !=", () => {
    const f = { level: "ERROR", duration_ms: "812", user: { id: 42 }, msg: "upstream timed out" };
    const holds = (t) => termHolds(f, parseWhere(t)[0]);
    assert.deepEqual(
      ["level=error", "duration_ms>500", "duration_ms>1000", "duration_ms<=812", "user.id=42", "user.id=042"].map(holds),
      [true, true, false, true, true, true],
    );
    assert.deepEqual(["msg~TIMED", "level!=info", "nope=1", "nope!=1", "level>D"].map(holds), [true, true, false, true, true]);
    assert.equal(fieldsMatch(f, parseWhere("level=error duration_ms>500")), true);
    assert.equal(fieldsMatch(null, parseWhere("level=error")), false);
    assert.equal(fieldsMatch(null, []), true);
  });
  test("applied with the other rules: a line without fields fails a field filter", () => {
    const opts = { where: "duration_ms>500" };
    const filter = Object.assign(compileFilter("", opts), compileRules(opts));
    const shown = ['{"msg":"a","duration_ms":900}', '{"msg":"b","duration_ms":20}', "level=info duration_ms=501", "plain"].map(
      (l) => applyRules(lineEntry(l, "x"), filter, false).shown,
    );
    assert.deepEqual(shown, [true, false, true, false]);
  });
});

describe("the column view", () => {
  test("time, level, the picked fields, then the message", () => {
    const f = { ts: "2026-12-01T10:00:00Z", level: "info", msg: "hi", user: { id: 7 } };
    assert.deepEqual(columnCells(f, ["user.id", "nope"]), [
      { name: "time", path: "ts", text: "2026-12-01T10:00:00Z" },
      { name: "level", path: "level", text: "info" },
      { name: "user.id", path: "user.id", text: "7" },
      { name: "nope", path: null, text: "" },
      { name: "message", path: "msg", text: "hi" },
    ]);
    assert.deepEqual(parseColumns(" user.id, ,duration_ms,user.id"), ["user.id", "duration_ms"]);
  });
  test("in the URL", () => {
    const opts = readOptions(new URLSearchParams("columns=1&fields=user.id,duration_ms&where=level%3Derror"));
    assert.equal(opts.columns, true);
    assert.deepEqual(opts.fields, ["user.id", "duration_ms"]);
    assert.equal(opts.where, "level=error");
    assert.equal(pageQuery("", opts), "where=level%3Derror&columns=1&fields=user.id%2Cduration_ms");
  });
});
