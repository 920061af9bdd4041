// ANSI escape sequences. SGR colours and styles become runs of CSS classes over the visible
// text; every other escape (cursor moves, erase, OSC titles, DCS strings) is dropped.
// Pure: no DOM, importable from Node.

const ESC_RE = /\x1b(?:\[([0-9;:?]*)[ -\/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[P^_][^\x1b]*(?:\x1b\\)?|[@-Z\\-_]?)/g;

const CUBE = [0, 95, 135, 175, 215, 255];

/** The xterm 256-colour palette entry n (16..255) as an rgb() string. */
export function xterm(n) {
  if (n < 232) {
    n -= 16;
    return `rgb(${CUBE[Math.floor(n / 36)]},${CUBE[Math.floor(n / 6) % 6]},${CUBE[n % 6]})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g},${g},${g})`;
}

// 38;5;n or 38;2;r;g;b (':' separators are split like ';'). value: a palette index 0-15,
// an rgb() string, or null; skip: how many codes after the 38/48 were used.
function extendedColour(codes, i) {
  if (codes[i + 1] === 5 && codes.length > i + 2) {
    const n = codes[i + 2];
    return { skip: 2, value: n < 16 ? n : n < 256 ? xterm(n) : null };
  }
  if (codes[i + 1] === 2 && codes.length > i + 4) {
    const c = codes.slice(i + 2, i + 5).map((v) => Math.max(0, Math.min(255, v | 0)));
    return { skip: 4, value: `rgb(${c.join(",")})` };
  }
  return { skip: codes.length, value: null };
}

/** The SGR state before any code: default colours, no styles. */
export function plainStyle() {
  return { fg: null, bg: null, b: false, d: false, i: false, u: false, s: false, inv: false };
}

/** Applies the parameters of one `ESC[...m` (for example "1;31") to an SGR state. */
export function applySgr(st, params) {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((v) => (v === "" ? 0 : +v));
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) Object.assign(st, plainStyle());
    else if (c === 1) st.b = true;
    else if (c === 2) st.d = true;
    else if (c === 3) st.i = true;
    else if (c === 4) st.u = true;
    else if (c === 7) st.inv = true;
    else if (c === 9) st.s = true;
    else if (c === 22) st.b = st.d = false;
    else if (c === 23) st.i = false;
    else if (c === 24) st.u = false;
    else if (c === 27) st.inv = false;
    else if (c === 29) st.s = false;
    else if (c >= 30 && c <= 37) st.fg = c - 30;
    else if (c >= 90 && c <= 97) st.fg = c - 82;
    else if (c === 39) st.fg = null;
    else if (c >= 40 && c <= 47) st.bg = c - 40;
    else if (c >= 100 && c <= 107) st.bg = c - 92;
    else if (c === 49) st.bg = null;
    else if (c === 38 || c === 48) {
      const ext = extendedColour(codes, i);
      if (c === 38) st.fg = ext.value;
      else st.bg = ext.value;
      i += ext.skip;
    }
  }
  return st;
}

/**
 * The classes for an SGR state: {cls, fgx, bgx} (fgx/bgx: rgb() of 256/true colours, set as
 * CSS variables), or null when the text is plain.
 */
export function styleOf(st) {
  let fg = st.fg;
  let bg = st.bg;
  if (st.inv) [fg, bg] = [bg === null ? "inv" : bg, fg === null ? "inv" : fg];
  const cls = [];
  const run = { cls: "", fgx: null, bgx: null };
  if (fg === "inv") cls.push("a-fg-inv");
  else if (typeof fg === "number") cls.push("a-fg" + fg);
  else if (fg) {
    cls.push("a-fgx");
    run.fgx = fg;
  }
  if (bg === "inv") cls.push("a-bg-inv");
  else if (typeof bg === "number") cls.push("a-bg" + bg);
  else if (bg) {
    cls.push("a-bgx");
    run.bgx = bg;
  }
  for (const k of ["b", "d", "i", "u", "s"]) if (st[k]) cls.push("a-" + k);
  run.cls = cls.join(" ");
  return run.cls ? run : null;
}

/**
 * A raw line without its escapes: {text, runs}. runs is null or a list of
 * {s, e, cls, fgx, bgx} over text (end exclusive), adjacent equal runs merged.
 */
export function parseAnsi(raw) {
  if (raw.indexOf("\x1b") < 0) return { text: raw, runs: null };
  const st = plainStyle();
  const runs = [];
  let out = "";
  let style = null;
  let last = 0;
  const take = (upto) => {
    if (upto <= last) return;
    const start = out.length;
    out += raw.slice(last, upto);
    if (!style) return;
    const prev = runs[runs.length - 1];
    if (prev && prev.e === start && prev.cls === style.cls && prev.fgx === style.fgx && prev.bgx === style.bgx) {
      prev.e = out.length;
    } else {
      runs.push({ s: start, e: out.length, cls: style.cls, fgx: style.fgx, bgx: style.bgx });
    }
  };
  for (const m of raw.matchAll(ESC_RE)) {
    take(m.index);
    last = m.index + m[0].length;
    if (m[2] === "m" && m[1] !== undefined && m[1].indexOf("?") < 0) {
      applySgr(st, m[1]);
      style = styleOf(st);
    }
  }
  take(raw.length);
  return { text: out, runs: runs.length ? runs : null };
}
