// Searching the whole file on the server (api/search): the query for the next page, the
// matches as the pages come (newest first, each page going further back towards the first
// line), and what the results pane says about them. Pure: no DOM.

import { human } from "./format.js";

export const PAGE_LIMIT = 200; // matches asked for per request
export const MAX_RESULTS = 2000; // then the search waits for "search further"

/** A search for q, not started. */
export function createSearch(q, { regex = false, matchCase = false } = {}) {
  return {
    q,
    regex,
    matchCase,
    matches: [], // [{id, text}], newest first
    next: undefined, // where the next page starts: undefined before the first, null at the end
    scanned: 0, // bytes searched so far
    size: null, // bytes in the file and its rotated generations
    stopped: false,
    error: null,
  };
}

/** The query of the next page. */
export function searchQuery(search) {
  const q = { q: search.q, limit: PAGE_LIMIT };
  if (search.regex) q.regex = 1;
  if (search.matchCase) q.case = 1;
  if (search.next) q.before = search.next;
  return q;
}

/** Takes an answer; returns the matches it added. */
export function takePage(search, body) {
  const added = Array.isArray(body.matches) ? body.matches : [];
  search.matches.push(...added);
  search.next = body.next || null;
  if (typeof body.size === "number") search.size = body.size;
  if (typeof body.scanned === "number") search.scanned += body.scanned;
  if (search.size !== null && (search.next === null || search.scanned > search.size)) search.scanned = search.size;
  return added;
}

/** Whether another page should be asked for without the user asking. */
export function goesOn(search) {
  return search.next !== null && !search.stopped && !search.error && search.matches.length < MAX_RESULTS;
}

const matches = (n) => n.toLocaleString() + (n === 1 ? " match" : " matches");

/** What the pane says: {text, bad}. running: a request is under way. */
export function searchLabel(search, running) {
  if (search.error) return { text: search.error, bad: true };
  const n = search.matches.length;
  const known = search.size !== null;
  const of = known ? ` of ${human(search.size)}` : "";
  if (search.next === undefined) return { text: `Searching for “${search.q}”…`, bad: false };
  if (search.next === null) {
    const files = search.parts ? `all ${search.parts.length} files` : "the whole file";
    const whole = "in " + files + (known ? ` (${human(search.size)})` : "");
    return { text: n ? `${matches(n)} ${whole}` : `No match for “${search.q}” ${whole}`, bad: false };
  }
  const where = `searched ${human(search.scanned)}${of}`;
  if (running) return { text: `${matches(n)} · ${where}…`, bad: false };
  if (!n) return { text: `No match yet · ${where}`, bad: false };
  return { text: `${matches(n)} · ${where}`, bad: false };
}

/** A search of several files (search.parts: [{name, sub}]): the file whose next page is due, or null. */
export function nextPart(search) {
  if (!search.parts) return null;
  return search.parts.find((p) => p.sub.next !== null) || null;
}

/** Sums up the parts' progress into the search itself; matches are added by the caller. */
export function foldParts(search) {
  const parts = search.parts;
  search.scanned = parts.reduce((n, p) => n + p.sub.scanned, 0);
  search.size = parts.every((p) => p.sub.size !== null) ? parts.reduce((n, p) => n + p.sub.size, 0) : null;
  if (parts.every((p) => p.sub.next === null)) search.next = null;
  else search.next = ""; // under way: the next page is another file's, or further back in one
}
