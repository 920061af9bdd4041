// What a tab in the background counts: the lines (and the errors) that came while it was
// hidden, and the pattern a notification is wanted for. Pure: no DOM.

import { detectLevel } from "./levels.js";
import { ruleRegex } from "./highlight.js";

const ESCAPES = /\x1b\[[0-?]*[ -/]*[@-~]/g;

/** Nothing unseen yet. */
export function createUnseen() {
  return { lines: 0, errors: 0, title: null, timer: 0 };
}

/** The text of a raw line, escapes left out (enough to find a level or a pattern). */
export function quickText(raw) {
  return raw.indexOf("\x1b") < 0 ? raw : raw.replace(ESCAPES, "");
}

/** Counts a line that came while hidden; returns whether it is an error (or fatal). */
export function countUnseen(unseen, text) {
  unseen.lines++;
  const level = detectLevel(text);
  const bad = !!level && (level.level === "error" || level.level === "fatal");
  if (bad) unseen.errors++;
  return bad;
}

/** The page title with what came unseen: "(12 new, 3 errors) app.log · tailsse". */
export function unseenTitle(unseen, title) {
  if (!unseen.lines) return title;
  const n = unseen.lines.toLocaleString();
  const errors = unseen.errors ? `, ${unseen.errors.toLocaleString()} ${unseen.errors === 1 ? "error" : "errors"}` : "";
  return `(${n} new${errors}) ${title}`;
}

/** The badge the icon shows: up to 99, then 99+; "" for nothing. */
export function badgeText(n) {
  return n <= 0 ? "" : n > 99 ? "99+" : String(n);
}

/** The favicon with a badge: red for errors, blue for lines (an SVG data URL). */
export function badgeIcon(unseen) {
  const bad = unseen.errors > 0;
  const text = badgeText(bad ? unseen.errors : unseen.lines);
  const badge = text
    ? `<circle cx='11' cy='11' r='5' fill='${bad ? "%23cf222e" : "%231f883d"}'/>` +
      `<text x='11' y='13.2' font-size='${text.length > 2 ? 4.2 : 6}' text-anchor='middle' fill='white' font-family='sans-serif' font-weight='700'>${text}</text>`
    : "";
  return (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E" +
    "%3Crect width='16' height='16' rx='3' fill='%230969da'/%3E" +
    "%3Cpath d='M4 5h8M4 8h6M4 11h4' stroke='white' stroke-width='1.6' stroke-linecap='round'/%3E" +
    badge.replace(/</g, "%3C").replace(/>/g, "%3E") +
    "%3C/svg%3E"
  );
}

/** The notification pattern compiled (a word in any case, or /regex/), or null. */
export function notifyMatcher(pattern) {
  return pattern ? ruleRegex(pattern) : null;
}
