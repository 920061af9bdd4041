import assert from "node:assert/strict";
import { test } from "node:test";

import { detectLevel } from "../../web/levels.js";

const cases = [
  // [line, level, the level word as found]
  ["2026-11-24 FATAL out of memory", "fatal", "FATAL"],
  ["2026-11-24 CRITICAL disk", "fatal", "CRITICAL"],
  ["EMERGENCY: power", "fatal", "EMERGENCY"],
  ["PANIC in goroutine", "fatal", "PANIC"],
  ["2026-11-24 ERR timeout", "error", "ERR"],
  ["SEVERE: java says", "error", "SEVERE"],
  ["2026-11-24 WARNING slow", "warn", "WARNING"],
  ["2026-11-24 NOTICE hello", "info", "NOTICE"],
  ["INFO started", "info", "INFO"],
  ["2026-11-24 DBG x", "debug", "DBG"],
  ["2026-11-24 TRACE enter f()", "trace", "TRACE"],
  ["VERBOSE output", "trace", "VERBOSE"],
  ["ts=1 level=debug msg=hello", "debug", "debug"],
  ['{"level": "error", "msg": "payment declined"}', "error", "error"],
  ["severity: Warning disk", "warn", "Warning"],
  ["levelname=INFO x", "info", "INFO"],
  ["[info] line 1", "info", "info"],
  ["<warn> careful", "warn", "warn"],
  ["(Debug) x", "debug", "Debug"],
];

for (const [line, level, word] of cases) {
  test(`${JSON.stringify(line)} is ${level}`, () => {
    const found = detectLevel(line);
    assert.equal(found.level, level);
    assert.equal(line.slice(...found.at), word);
  });
}

test("no level", () => {
  for (const line of ["red text then plain", "an error in lower case", "ERRORS counted", "INFORMATIONAL", ""]) {
    assert.equal(detectLevel(line), null, line);
  }
});

test("a key=value level wins over an earlier bare word", () => {
  const line = "ERROR-free run level=info";
  assert.deepEqual(detectLevel(line), { level: "info", at: [line.indexOf("info"), line.length] });
});

test("an unknown key=value level falls back to a bare word", () => {
  assert.equal(detectLevel("level=chatty WARN x").level, "warn");
});

test("a bare upper-case word wins over a bracketed tag", () => {
  assert.equal(detectLevel("[info] ERROR here").level, "error");
});

test("only the first 400 characters are looked at", () => {
  assert.equal(detectLevel("x".repeat(395) + " ERROR"), null);
  assert.equal(detectLevel("x".repeat(390) + " ERROR").level, "error");
});
