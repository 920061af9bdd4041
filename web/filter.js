// The filter box: plain text or a regular expression, case-insensitive unless asked, and
// where it matches in a line (for the highlights and the counts). Pure: no DOM.

import { displayText, prepare } from "./lines.js";

// A line with very many matches highlights the first ones only.
const MAX_HITS = 10000;

/** text with every regular-expression metacharacter escaped. */
export function escapeRegex(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * {matcher, invalid}: matcher is a global RegExp, or null for no filter (empty text) and for
 * an invalid regular expression (then invalid is true).
 */
export function compileFilter(text, { regex = false, matchCase = false } = {}) {
  if (!text) return { matcher: null, invalid: false };
  try {
    return { matcher: new RegExp(regex ? text : escapeRegex(text), matchCase ? "g" : "gi"), invalid: false };
  } catch {
    return { matcher: null, invalid: true };
  }
}

/**
 * Where matcher matches text: {found, hits, count}. hits is null or a flat list
 * [start, end, start, end, ...] of the non-empty matches; an empty match still counts as found.
 */
export function findHits(matcher, text) {
  let found = false;
  let hits = null;
  matcher.lastIndex = 0;
  let m;
  while ((m = matcher.exec(text)) !== null) {
    found = true;
    if (m[0].length === 0) {
      matcher.lastIndex++;
      if (matcher.lastIndex > text.length) break;
      continue;
    }
    (hits = hits || []).push(m.index, m.index + m[0].length);
    if (hits.length > 2 * MAX_HITS) break;
  }
  return { found, hits, count: hits ? hits.length / 2 : 0 };
}

/**
 * Sets e.shown, e.hits and e.count for the current filter (meta rows always show). Without
 * a filter the line is not prepared here: lines that come and go unseen never are.
 */
export function applyFilter(e, matcher, jsonByDefault) {
  e.hits = null;
  e.count = 0;
  if (e.meta || !matcher) {
    e.shown = true;
    return e;
  }
  prepare(e);
  const result = findHits(matcher, displayText(e, jsonByDefault));
  e.shown = result.found;
  e.hits = result.hits;
  e.count = result.count;
  return e;
}
