import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";

import { parseAnsi, xterm } from "../../web/ansi.js";
import {
  AA,
  contrast,
  hex,
  luminance,
  mix,
  over,
  paint,
  PALETTES,
  parseColour,
  readable,
  runColours,
  themeColours,
} from "../../web/contrast.js";

const ESC = "\x1b";
const BLACK = [0, 0, 0, 1];
const WHITE = [255, 255, 255, 1];
const PAGE = { light: parseColour("#ffffff"), dark: parseColour("#0d1117") };

// The two colours of a light-dark() value.
const sides = (value) => /^light-dark\((#[0-9a-f]{6}), (#[0-9a-f]{6})\)$/.exec(value).slice(1).map(parseColour);

// The first run of a line's escapes, painted.
const painted = (raw) => paint(parseAnsi(raw).runs[0]);

describe("colour maths", () => {
  test("parses hex, rgb() and rgba(), and writes hex", () => {
    assert.deepEqual(parseColour("#fff"), [255, 255, 255, 1]);
    assert.deepEqual(parseColour("#0d1117"), [13, 17, 23, 1]);
    assert.deepEqual(parseColour("rgb(1, 2, 3)"), [1, 2, 3, 1]);
    assert.deepEqual(parseColour("rgba(10,20,30,0.5)"), [10, 20, 30, 0.5]);
    assert.equal(parseColour("blue"), null);
    assert.equal(hex([255, 135, 0]), "#ff8700");
  });

  test("luminance and contrast follow WCAG 2", () => {
    assert.equal(luminance(BLACK), 0);
    assert.equal(luminance(WHITE), 1);
    assert.equal(contrast(BLACK, WHITE), 21);
    assert.equal(contrast(WHITE, BLACK), 21);
    assert.equal(contrast([10, 200, 30], [10, 200, 30]), 1);
    // #767676 is the lightest grey with 4.5:1 on white; #777777 just misses it
    assert.ok(contrast(parseColour("#767676"), WHITE) >= 4.5);
    assert.ok(contrast(parseColour("#777777"), WHITE) < 4.5);
  });

  test("blending: alpha over a colour, and moving one towards another", () => {
    assert.deepEqual(over([255, 0, 0, 0.5], WHITE), [255, 127.5, 127.5, 1]);
    assert.deepEqual(mix(BLACK, WHITE, 0.25), [63.75, 63.75, 63.75, 1]);
  });

  test("a readable colour is kept; an unreadable one moves as little as needed", () => {
    const green = parseColour("#116329");
    assert.deepEqual(readable(green, [WHITE]), green);
    const yellow = parseColour("#ffff00");
    const fixed = readable(yellow, [WHITE], AA);
    assert.ok(contrast(fixed, WHITE) >= AA);
    assert.ok(contrast(fixed, WHITE) < AA + 0.05, "no darker than it needs to be");
    assert.ok(fixed[0] === fixed[1] && fixed[2] === 0, "still a yellow (towards black)");
    // on dark, dark blue moves towards white
    const navy = readable(parseColour("#00005f"), [PAGE.dark], AA);
    assert.ok(contrast(navy, PAGE.dark) >= AA && navy[2] > navy[0]);
  });

  test("every surface counts: the one with the least contrast decides", () => {
    const surfaces = [WHITE, parseColour("#fff0a8")];
    const c = readable(parseColour("#999999"), surfaces);
    for (const s of surfaces) assert.ok(contrast(c, s) >= AA);
  });
});

describe("ANSI runs painted for both themes", () => {
  test("the run classes give the colour tokens", () => {
    assert.deepEqual(runColours({ cls: "a-fg1 a-bg15 a-b", fgx: null, bgx: null }), { fg: 1, bg: 15, dim: false });
    assert.deepEqual(runColours({ cls: "a-fgx a-d", fgx: "rgb(1,2,3)", bgx: null }), {
      fg: "rgb(1,2,3)",
      bg: null,
      dim: true,
    });
    assert.deepEqual(runColours({ cls: "a-fg-inv a-bg-inv", fgx: null, bgx: null }), { fg: "inv", bg: "inv", dim: false });
    assert.equal(runColours({ cls: "a-b a-u", fgx: null, bgx: null }), null);
    assert.equal(runColours({ cls: "j-key", fgx: null, bgx: null }), null);
  });

  test("FATAL white-on-red is readable in both themes (it was 1.0:1 and 1.4:1)", () => {
    const p = painted(`${ESC}[97;41mFATAL${ESC}[0m`);
    const [fgL, fgD] = sides(p.color);
    const [bgL, bgD] = sides(p.background);
    assert.ok(contrast(fgL, bgL) >= AA, `light ${contrast(fgL, bgL)}`);
    assert.ok(contrast(fgD, bgD) >= AA, `dark ${contrast(fgD, bgD)}`);
  });

  test("a green INFO stays green", () => {
    for (const c of sides(painted(`${ESC}[32mINFO${ESC}[0m`).color)) assert.ok(c[1] > c[0] && c[1] > c[2], c);
  });

  test("every 256-colour foreground reaches AA on every surface of both themes", () => {
    for (let n = 0; n < 256; n++) {
      const raw = `${ESC}[38;5;${n}mx`;
      const [light, dark] = sides(painted(raw).color);
      for (const [theme, c] of [["light", light], ["dark", dark]]) {
        const { fg } = themeColours(theme, { fg: n < 16 ? n : xterm(n) });
        assert.equal(hex(c), fg);
        assert.ok(contrast(c, PAGE[theme]) >= AA, `${n} ${theme} ${hex(c)}`);
      }
    }
  });

  test("true colours too, near the page's own colours included", () => {
    for (const rgb of ["255;255;255", "250;250;250", "128;128;128", "13;17;23", "0;0;0", "255;0;0", "0;0;255"]) {
      const [light, dark] = sides(painted(`${ESC}[38;2;${rgb}mx`).color);
      assert.ok(contrast(light, PAGE.light) >= AA, rgb);
      assert.ok(contrast(dark, PAGE.dark) >= AA, rgb);
    }
  });

  test("every foreground on every background, 16 colours, default and inverse", () => {
    const fgs = [...Array(16).keys(), null, "inv", "rgb(255,135,0)"];
    const bgs = [...Array(16).keys(), "inv", "rgb(0,0,95)", "rgb(255,255,215)"];
    for (const theme of ["light", "dark"]) {
      for (const fg of fgs) {
        for (const bg of bgs) {
          const c = themeColours(theme, { fg, bg });
          const ratio = contrast(parseColour(c.fg), parseColour(c.bg));
          assert.ok(ratio >= AA, `${theme} fg ${fg} on ${bg}: ${ratio.toFixed(2)}`);
        }
      }
    }
  });

  test("faint text is drawn fainter, still readable", () => {
    const normal = sides(painted(`${ESC}[37mx`).color);
    const faint = sides(painted(`${ESC}[2;37mx`).color);
    assert.ok(contrast(faint[1], PAGE.dark) < contrast(normal[1], PAGE.dark));
    assert.ok(contrast(faint[0], PAGE.light) >= AA && contrast(faint[1], PAGE.dark) >= AA);
  });

  test("runs without colour (bold, JSON) are not painted", () => {
    assert.equal(painted(`${ESC}[1mbold`), null);
    assert.equal(paint({ cls: "j-str", fgx: null, bgx: null }), null);
  });
});

describe("the palettes are the stylesheet's", () => {
  const css = readFileSync(new URL("../../web/viewer.css", import.meta.url), "utf8");
  // --name: light-dark(LIGHT, DARK) from viewer.css's :root
  const vars = {};
  for (const m of css.matchAll(/--([a-z0-9-]+):\s*light-dark\(\s*([^,]+?|rgba\([^)]*\))\s*,\s*([^)]+?\)?)\s*\);/g)) {
    vars[m[1]] = { light: m[2].trim(), dark: m[3].trim() };
  }
  const same = (a, b) => assert.deepEqual(parseColour(a), parseColour(b), `${a} / ${b}`);

  test("page, text and the 16 ANSI colours", () => {
    for (const theme of ["light", "dark"]) {
      same(PALETTES[theme].bg, vars.bg[theme]);
      same(PALETTES[theme].fg, vars.fg[theme]);
      for (let i = 0; i < 16; i++) same(PALETTES[theme].ansi[i], vars["a" + i][theme]);
    }
  });

  test("every surface a line can sit on", () => {
    for (const theme of ["light", "dark"]) {
      const surfaces = PALETTES[theme].surfaces.map((s) => parseColour(s).join());
      for (const name of ["bg", "hover", "accent-soft", "mark", "tint-fatal", "tint-error", "tint-warn"]) {
        assert.ok(surfaces.includes(parseColour(vars[name][theme]).join()), `${theme} --${name}`);
      }
    }
  });
});
