// Entries: one per line or file event the page keeps. A line is prepared lazily (escapes
// parsed, level found) the first time it is filtered or shown. Pure: no DOM.

import { parseAnsi } from "./ansi.js";
import { isJsonish, jsonRuns, prettyJson } from "./json.js";
import { detectLevel } from "./levels.js";

/** A log line as received. node: its row once rendered. */
export function lineEntry(raw, id, t = Date.now()) {
  return { meta: false, raw, id, t, plain: null, node: null };
}

/** The id a stream resumes after to go on just past this line (its last piece's, if in pieces). */
export function endId(e) {
  return e.meta ? null : e.end || e.id || null;
}

/** A file event (rotated, truncated, missing...) shown as a separator row. */
export function metaEntry(kind, message, t = Date.now()) {
  return { meta: true, kind, raw: message, plain: message, t, node: null, shown: true };
}

/** The message of a file event: its JSON body's "message", else the event's name. */
export function fileEventMessage(kind, data) {
  try {
    const body = JSON.parse(data);
    if (body && typeof body.message === "string") return body.message;
  } catch {
    // keep the name
  }
  return kind;
}

/**
 * Fills in plain (the text without escapes), runs (ANSI colours), level and lvl (the level
 * word's [start, end]) and jsonish. Idempotent.
 */
export function prepare(e) {
  if (e.plain !== null) return e;
  const parsed = parseAnsi(e.raw);
  e.plain = parsed.text;
  e.runs = parsed.runs;
  const level = detectLevel(e.plain);
  if (e.head === undefined) e.level = level ? level.level : null; // once linked, its entry's (multiline.js)
  e.lvl = level ? level.at : null;
  e.jsonish = isJsonish(e.plain);
  e.pretty = undefined; // undefined: as the JSON toggle says; true/false: this line's own choice
  e.prettyText = undefined; // undefined: not tried yet; null: not JSON
  return e;
}

/** The pretty-printed text of a prepared line (computed once), or null. */
export function prettyOf(e) {
  if (e.prettyText === undefined) {
    e.prettyText = prettyJson(e.plain);
    if (e.prettyText !== null) e.prettyRuns = jsonRuns(e.prettyText);
  }
  return e.prettyText;
}

/** Whether a prepared entry shows pretty-printed; jsonByDefault is the JSON toggle. */
export function showsPretty(e, jsonByDefault) {
  if (e.meta || !e.jsonish) return false;
  const want = e.pretty === undefined ? jsonByDefault : e.pretty;
  return want && prettyOf(e) !== null;
}

/** The text an entry shows (what filters match and downloads save); prepares it. */
export function displayText(e, jsonByDefault) {
  prepare(e);
  return showsPretty(e, jsonByDefault) ? e.prettyText : e.plain;
}
