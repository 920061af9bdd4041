import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { applySgr, parseAnsi, plainStyle, styleOf, xterm } from "../../web/ansi.js";

const ESC = "\x1b";
// The runs of a line as [text, classes] pairs, for readable expectations.
const spans = (raw) => {
  const { text, runs } = parseAnsi(raw);
  return (runs || []).map((r) => [text.slice(r.s, r.e), r.cls, r.fgx, r.bgx]);
};

describe("parseAnsi", () => {
  test("plain text is returned as it is, without runs", () => {
    assert.deepEqual(parseAnsi("no escapes <b>here</b>"), { text: "no escapes <b>here</b>", runs: null });
    assert.deepEqual(parseAnsi(""), { text: "", runs: null });
  });

  test("the 8 colours, the bright ones and backgrounds become palette classes", () => {
    assert.deepEqual(spans(`${ESC}[31mred${ESC}[0m plain`), [["red", "a-fg1", null, null]]);
    assert.deepEqual(parseAnsi(`${ESC}[31mred${ESC}[0m plain`).text, "red plain");
    assert.deepEqual(spans(`${ESC}[97mwhite`), [["white", "a-fg15", null, null]]);
    assert.deepEqual(spans(`${ESC}[90mgrey`), [["grey", "a-fg8", null, null]]);
    assert.deepEqual(spans(`${ESC}[44mblue`), [["blue", "a-bg4", null, null]]);
    assert.deepEqual(spans(`${ESC}[103myellow`), [["yellow", "a-bg11", null, null]]);
  });

  test("styles combine in one run, in a fixed order", () => {
    assert.deepEqual(spans(`${ESC}[1;32mINFO${ESC}[0m`), [["INFO", "a-fg2 a-b", null, null]]);
    assert.deepEqual(spans(`${ESC}[9;4;3;2;1mall`), [["all", "a-b a-d a-i a-u a-s", null, null]]);
  });

  test("256 colours: 0-15 are the palette, 16-231 the cube, 232-255 the greys", () => {
    assert.deepEqual(spans(`${ESC}[38;5;9mx`), [["x", "a-fg9", null, null]]);
    assert.deepEqual(spans(`${ESC}[38;5;208morange`), [["orange", "a-fgx", "rgb(255,135,0)", null]]);
    assert.deepEqual(spans(`${ESC}[48;5;16mblack`), [["black", "a-bgx", null, "rgb(0,0,0)"]]);
    assert.deepEqual(spans(`${ESC}[38;5;244mgrey`), [["grey", "a-fgx", "rgb(128,128,128)", null]]);
    assert.equal(xterm(231), "rgb(255,255,255)");
    assert.equal(xterm(232), "rgb(8,8,8)");
    assert.equal(xterm(255), "rgb(238,238,238)");
    // out of range: no colour, and the text stays
    assert.deepEqual(parseAnsi(`${ESC}[38;5;300mx`), { text: "x", runs: null });
  });

  test("true colour, with ';' or ':' separators, clamped to 0-255", () => {
    assert.deepEqual(spans(`${ESC}[38;2;10;200;30mtrue`), [["true", "a-fgx", "rgb(10,200,30)", null]]);
    assert.deepEqual(spans(`${ESC}[48:2:1:2:3mbg`), [["bg", "a-bgx", null, "rgb(1,2,3)"]]);
    assert.deepEqual(spans(`${ESC}[38;2;999;0;0mhot`), [["hot", "a-fgx", "rgb(255,0,0)", null]]);
    // the codes after the colour still apply
    assert.deepEqual(spans(`${ESC}[38;2;1;2;3;1mbold`), [["bold", "a-fgx a-b", "rgb(1,2,3)", null]]);
  });

  test("an incomplete extended colour ends the sequence without a colour", () => {
    assert.deepEqual(parseAnsi(`${ESC}[38;2;1;2mx`), { text: "x", runs: null });
    assert.deepEqual(parseAnsi(`${ESC}[38mx`), { text: "x", runs: null });
  });

  test("resets: 0, an empty ESC[m, and the specific ones", () => {
    assert.deepEqual(spans(`${ESC}[31ma${ESC}[mb`), [["a", "a-fg1", null, null]]);
    assert.deepEqual(spans(`${ESC}[1;2ma${ESC}[22mb`), [["a", "a-b a-d", null, null]]);
    assert.deepEqual(spans(`${ESC}[3;4;9ma${ESC}[23;24;29mb`), [["a", "a-i a-u a-s", null, null]]);
    assert.deepEqual(spans(`${ESC}[31;42ma${ESC}[39mb${ESC}[49mc`), [
      ["a", "a-fg1 a-bg2", null, null],
      ["b", "a-bg2", null, null],
    ]);
  });

  test("inverse swaps the colours; the default ones become the inv classes", () => {
    assert.deepEqual(spans(`${ESC}[7minverse${ESC}[27m back`), [["inverse", "a-fg-inv a-bg-inv", null, null]]);
    assert.deepEqual(spans(`${ESC}[31;7mx`), [["x", "a-fg-inv a-bg1", null, null]]);
    assert.deepEqual(spans(`${ESC}[38;5;208;44;7mx`), [["x", "a-fg4 a-bgx", null, "rgb(255,135,0)"]]);
  });

  test("adjacent runs of one style merge; a change starts a new run", () => {
    const { text, runs } = parseAnsi(`${ESC}[31mab${ESC}[31mcd${ESC}[32mef`);
    assert.equal(text, "abcdef");
    assert.deepEqual(runs, [
      { s: 0, e: 4, cls: "a-fg1", fgx: null, bgx: null },
      { s: 4, e: 6, cls: "a-fg2", fgx: null, bgx: null },
    ]);
  });

  test("other escapes are dropped: CSI, private modes, OSC, DCS, two-character ones", () => {
    assert.equal(parseAnsi(`a${ESC}[2Kb${ESC}[1;1Hc`).text, "abc");
    assert.deepEqual(parseAnsi(`${ESC}[?25lhidden cursor${ESC}[?25h`), { text: "hidden cursor", runs: null });
    assert.equal(parseAnsi(`${ESC}]0;title\x07after osc`).text, "after osc");
    assert.equal(parseAnsi(`${ESC}]8;;http://x${ESC}\\link${ESC}]8;;${ESC}\\`).text, "link");
    assert.equal(parseAnsi(`${ESC}Pq#0;2;0;0;0${ESC}\\after dcs`).text, "after dcs");
    assert.equal(parseAnsi(`${ESC}Mup ${ESC}Ddown`).text, "up down");
    assert.equal(parseAnsi(`lone ${ESC}`).text, "lone ");
  });

  test("the browser test's lines", () => {
    const line = `${ESC}[1;32mINFO${ESC}[0m started ${ESC}[38;5;208morange${ESC}[0m ${ESC}[38;2;10;200;30mtrue${ESC}[39m ${ESC}[2Kdone`;
    assert.equal(parseAnsi(line).text, "INFO started orange true done");
    assert.equal(spans(line).filter(([, cls]) => cls === "a-fgx").length, 2);
  });
});

describe("SGR state", () => {
  test("applySgr changes the state, styleOf reads it", () => {
    const st = applySgr(plainStyle(), "1;31;44");
    assert.deepEqual(styleOf(st), { cls: "a-fg1 a-bg4 a-b", fgx: null, bgx: null });
    applySgr(st, "0");
    assert.deepEqual(st, plainStyle());
    assert.equal(styleOf(st), null);
  });

  test("unknown codes are ignored", () => {
    assert.equal(styleOf(applySgr(plainStyle(), "5;6;8;53")), null);
  });
});
