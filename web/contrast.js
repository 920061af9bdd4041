// Readable ANSI colours. A program's colours win over the viewer's level colouring, but they
// were chosen for some terminal, not for this page: each colour is moved (towards black or
// white, as little as needed) until its text has a WCAG contrast of at least 4.5:1 on every
// surface it can sit on, in the light theme and in the dark one. Pure: no DOM.

/** WCAG AA for normal text. */
export const AA = 4.5;
// What colours are moved to: a little over AA, so that rounding and blending stay above it.
const TARGET = 4.6;

// The viewer's palettes: page, text, the 16 ANSI colours (viewer.css's; a test compares them).
export const PALETTES = {
  light: {
    bg: "#ffffff",
    fg: "#1f2328",
    ansi: ["#24292f", "#cf222e", "#116329", "#7d4e00", "#0550ae", "#8250df", "#1b7c83", "#6e7781",
      "#57606a", "#a40e26", "#1a7f37", "#633c01", "#218bff", "#a475f9", "#3192aa", "#8c959f"],
    // Where a line's text can sit: hover, the target row, a highlight, the level tints.
    surfaces: ["#ffffff", "#f3f5f8", "#ddf4ff", "#fff0a8",
      "rgba(191,57,137,0.09)", "rgba(207,34,46,0.06)", "rgba(212,167,44,0.08)"],
  },
  dark: {
    bg: "#0d1117",
    fg: "#e6edf3",
    ansi: ["#6e7681", "#ff7b72", "#3fb950", "#d29922", "#58a6ff", "#bc8cff", "#39c5cf", "#b1bac4",
      "#8b949e", "#ffa198", "#56d364", "#e3b341", "#79c0ff", "#d2a8ff", "#56d4dd", "#f0f6fc"],
    surfaces: ["#0d1117", "#161b22", "#1b2b44", "#5a4a0a",
      "rgba(247,120,186,0.10)", "rgba(248,81,73,0.09)", "rgba(210,153,34,0.08)"],
  },
};

/** A colour as [r, g, b, a] (0-255, alpha 0-1) from #rgb, #rrggbb, rgb() or rgba(); null if not one. */
export function parseColour(text) {
  const s = String(text).trim().toLowerCase();
  let m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/.exec(s);
  if (m) {
    const h = m[1].length === 3 ? [...m[1]].map((c) => c + c).join("") : m[1];
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16)).concat(1);
  }
  m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(s);
  if (!m) return null;
  const alpha = m[4] === undefined ? 1 : m[4].endsWith("%") ? parseFloat(m[4]) / 100 : +m[4];
  return [+m[1], +m[2], +m[3]].map((v) => Math.max(0, Math.min(255, v))).concat(Math.max(0, Math.min(1, alpha)));
}

/** #rrggbb of [r, g, b]. */
export function hex(c) {
  return "#" + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
}

/** A colour with alpha laid over an opaque one. */
export function over(top, below) {
  const a = top.length > 3 ? top[3] : 1;
  return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat(1);
}

/** a moved towards b by t (0: a, 1: b), in sRGB. */
export function mix(a, b, t) {
  return [0, 1, 2].map((i) => a[i] + (b[i] - a[i]) * t).concat(1);
}

/** WCAG relative luminance of an opaque colour. */
export function luminance(c) {
  const [r, g, b] = c.slice(0, 3).map((v) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two opaque colours (1 to 21). */
export function contrast(a, b) {
  const la = luminance(a);
  const lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

const worst = (c, surfaces) => Math.min(...surfaces.map((s) => contrast(c, s)));

/**
 * fg as it is when it reaches `ratio` on every one of surfaces (opaque colours), else moved
 * towards black or white, whichever gets there with the smaller change.
 */
export function readable(fg, surfaces, ratio = TARGET) {
  if (worst(fg, surfaces) >= ratio) return fg.slice(0, 3).concat(1);
  let best = null;
  for (const end of [[0, 0, 0], [255, 255, 255]]) {
    if (worst(end, surfaces) < ratio) continue;
    let lo = 0;
    let hi = 1; // hi always reaches the ratio; the smallest such step is searched for
    for (let i = 0; i < 20; i++) {
      const t = (lo + hi) / 2;
      if (worst(mix(fg, end, t), surfaces) >= ratio) hi = t;
      else lo = t;
    }
    if (!best || hi < best.t) best = { t: hi, c: mix(fg, end, hi) };
  }
  if (best) return best.c;
  // No endpoint reaches it on every surface at once: the one that does best.
  const black = worst([0, 0, 0], surfaces);
  return black >= worst([255, 255, 255], surfaces) ? [0, 0, 0, 1] : [255, 255, 255, 1];
}

const opaque = (theme) => {
  const p = PALETTES[theme];
  const bg = parseColour(p.bg);
  return p.surfaces.map((s) => over(parseColour(s), bg));
};
const SURFACES = { light: opaque("light"), dark: opaque("dark") };

// A run's colour token in one theme: a palette index, an rgb() string, "inv" or null.
function resolve(theme, token, fallback) {
  const p = PALETTES[theme];
  if (token === null) return parseColour(fallback === "fg" ? p.fg : p.bg);
  if (token === "inv") return parseColour(fallback === "fg" ? p.bg : p.fg);
  if (typeof token === "number") return parseColour(p.ansi[token]);
  return parseColour(token);
}

/** The colours of one run in one theme: {fg, bg} as #rrggbb (bg null: the row's own). */
export function themeColours(theme, { fg = null, bg = null, dim = false }) {
  const back = bg === null ? null : resolve(theme, bg, "bg");
  const surfaces = back ? [back] : SURFACES[theme];
  let text = resolve(theme, fg, "fg");
  if (dim) text = mix(text, back || parseColour(PALETTES[theme].bg), 0.3); // faint, as a terminal draws it
  return { fg: hex(readable(text, surfaces)), bg: back ? hex(back) : null };
}

/**
 * What ansi.js's run classes say about colour: {fg, bg, dim} (fg/bg: a palette index, an
 * rgb() string, "inv" or null), or null when the run sets no colour (bold alone, JSON).
 */
export function runColours(run) {
  let fg = null;
  let bg = null;
  let dim = false;
  for (const k of run.cls.split(" ")) {
    const m = /^a-(fg|bg)(\d+|x|-inv)$/.exec(k);
    if (k === "a-d") dim = true;
    if (!m) continue;
    const value = m[2] === "x" ? (m[1] === "fg" ? run.fgx : run.bgx) : m[2] === "-inv" ? "inv" : +m[2];
    if (m[1] === "fg") fg = value;
    else bg = value;
  }
  return fg === null && bg === null && !dim ? null : { fg, bg, dim };
}

const cache = new Map();

/**
 * The CSS a run's text gets: {color, background} as light-dark() values (background null:
 * none of its own), or null for a run that sets no colour. Cached per style.
 */
export function paint(run) {
  const key = run.cls + "|" + run.fgx + "|" + run.bgx;
  let out = cache.get(key);
  if (out !== undefined) return out;
  const colours = runColours(run);
  out = null;
  if (colours) {
    const light = themeColours("light", colours);
    const dark = themeColours("dark", colours);
    out = {
      color: `light-dark(${light.fg}, ${dark.fg})`,
      background: light.bg ? `light-dark(${light.bg}, ${dark.bg})` : null,
    };
  }
  if (cache.size > 4096) cache.clear();
  cache.set(key, out);
  return out;
}
