// Entries of several lines: a stack trace or other continuation lines (indented, "at ...",
// "Traceback ...", "Caused by: ...", "...", a Java exception's name) belong to the line that starts the entry. Each
// line keeps its own entry (its id, its row), and knows its head (e.head); the group is
// filtered as one: shown when any of its lines matches the filter box, none matches the
// exclude filter and the head's level is shown. Pure: no DOM.

import { detectLevel } from "./levels.js";
import { applyRules, rulesActive } from "./rules.js";
import { prepare } from "./lines.js";

const INDENTED = /^[ \t]+\S/;
const STARTS = /^(?:Traceback \(most recent call last\):|Caused by:|Suppressed:|During handling of the above exception|The above exception was the direct cause|at [\w$.<]|\.\.\.)/;
// The exception line of a Java trace under the log line that reports it.
const EXCEPTION = /^(?:[a-z_][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b/;
const TRACEBACK = /^Traceback \(most recent call last\):/;
// A line that starts with a time or a level starts an entry of its own, indented or not.
const OWN_START = /^\s*(?:\d{4}-\d\d-\d\d[T ]\d\d:\d\d|\[?\d\d\/[A-Z][a-z]{2}\/\d{4}|[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\{)/;

/**
 * Whether a line continues the entry before it, and whether a Python traceback is open
 * after it: {cont, trace}. prevTrace: a traceback was open after the line before. The line
 * ending a traceback (ValueError: ...) is part of it, though not indented.
 */
const NOT_CONT = { cont: false, trace: false };

export function continuation(plain, prevTrace = false) {
  // Most lines start with a time, a bracket or a brace: no need to look further.
  const c = plain.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 91 || c === 123) return NOT_CONT;
  if (!plain.trim()) return NOT_CONT;
  if (OWN_START.test(plain)) return NOT_CONT;
  if (TRACEBACK.test(plain)) return { cont: true, trace: true };
  if (INDENTED.test(plain)) return { cont: true, trace: prevTrace };
  if (STARTS.test(plain) || EXCEPTION.test(plain)) return { cont: true, trace: false };
  if (prevTrace) return { cont: true, trace: false };
  return NOT_CONT;
}

/** The last entry of a list when it is a line (a file event ends any entry), else null. */
export function lastLine(entries) {
  const e = entries.length ? entries[entries.length - 1] : null;
  return e && !e.meta ? e : null;
}

// Escape sequences, for a quick look at a line not prepared (lines.js parses them fully).
const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;

/** A line's text without its escapes: its plain text once prepared, else quickly. */
function textOf(e) {
  if (e.plain !== null) return e.plain;
  return e.raw.indexOf("\x1b") < 0 ? e.raw : e.raw.replace(ESCAPES, "");
}

/**
 * Links a line to the line before it (prev, or null): e.cont, e.head (the line that starts
 * its entry, itself for a head), e.trace; a continuation takes its head's level (e.level),
 * its own staying in e.ownLevel. The line need not be prepared.
 */
export function link(e, prev) {
  const text = textOf(e);
  if (e.ownLevel === undefined) {
    const own = e.plain !== null ? { level: e.level } : detectLevel(text);
    e.ownLevel = own ? own.level : null;
  }
  const c = prev ? continuation(text, prev.trace) : NOT_CONT;
  e.cont = c.cont;
  e.trace = c.trace;
  e.head = c.cont ? prev.head || prev : e;
  e.level = c.cont ? e.head.level : e.ownLevel;
  return e;
}

const decide = (h) => h.levelOk && h.gFound && !h.gExcluded;

/**
 * Links and filters line entries in file order (after prev, the line before them, or null)
 * and decides each group. Returns {stale, heads}: heads, the heads from before items that
 * got lines (their rows change: their fold); stale, whether one of their groups is now
 * shown or hidden otherwise than before (then every row must be drawn again).
 */
export function filterLines(state, items, prev) {
  const filter = state.filter;
  const json = state.opts.json;
  const heads = new Set();
  const batch = {}; // marks the heads among items
  // Nothing to hide or paint: lines are linked, not prepared (most are never drawn).
  const bare = !filter.matcher && !rulesActive(filter) && !filter.highlights.length;
  for (const e of items) {
    if (e.meta) {
      applyRules(e, filter, json);
      prev = null;
      continue;
    }
    link(e, prev);
    const h = e.head;
    if (bare) {
      // What applyFilter sets, and no more: this runs for every line of a busy log.
      e.shown = !(e.cont && h.collapsed);
      e.hits = null;
      e.count = 0;
    } else {
      applyRules(prepare(e), filter, json);
    }
    if (h === e) {
      e.size = 1;
      e.batch = batch;
      if (!bare) {
        e.gFound = e.found;
        e.gExcluded = e.excluded;
      }
    } else {
      h.size = (h.size || 1) + 1;
      if (h.batch !== batch) heads.add(h);
      if (!bare) {
        h.gFound = h.gFound || e.found;
        h.gExcluded = h.gExcluded || e.excluded;
      }
    }
    prev = e;
  }
  if (bare) return { stale: false, heads: [...heads] };
  let stale = false;
  for (const h of heads) if (decide(h) !== h.shown) stale = true;
  for (const e of items) {
    if (e.meta) continue;
    const h = e.head;
    e.shown = decide(h) && !(e.cont && h.collapsed);
  }
  return { stale, heads: [...heads] };
}

/**
 * After older lines came in at the top: whether the first line that was there continues
 * the last one that came (then the entries must be linked again from the top).
 */
export function joinsAbove(entries, added) {
  const last = lastLine(added);
  const first = entries[added.length];
  if (!last || !first || first.meta || first.cont) return false;
  return continuation(textOf(first), last.trace).cont;
}

/** The lines of the entry e belongs to (in file order), among the entries kept. */
export function entryLines(entries, e) {
  const h = e.head || e;
  let i = entries.indexOf(h);
  if (i < 0) i = entries.indexOf(e);
  if (i < 0) return [e];
  const out = [entries[i]];
  for (let j = i + 1; j < entries.length && entries[j].cont && entries[j].head === h; j++) out.push(entries[j]);
  return out;
}
