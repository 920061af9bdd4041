// Highlight rules: a word or a pattern, and the colour its matches are painted with, as the
// page and the URL give them (?highlight=red:timeout&highlight=/5\d\d/). Pure: no DOM.

import { escapeRegex } from "./filter.js";

/** The colours a rule can have (viewer.css gives each a readable pair in both themes). */
export const COLOURS = ["yellow", "green", "blue", "purple", "red", "orange"];

// A line with very many highlights paints the first ones only.
const MAX_MARKS = 1000;

/**
 * A rule from its text, "colour:pattern" or "pattern" (then the colour at index i of
 * COLOURS, in turn): {colour, pattern}, or null for an empty pattern.
 */
export function parseRule(text, i = 0) {
  text = String(text || "");
  const at = text.indexOf(":");
  const head = at > 0 ? text.slice(0, at).toLowerCase() : "";
  const colour = COLOURS.includes(head) ? head : COLOURS[i % COLOURS.length];
  const pattern = COLOURS.includes(head) ? text.slice(at + 1) : text;
  return pattern ? { colour, pattern } : null;
}

/** The rules of the URL's highlight parameters. */
export function parseRules(values) {
  return values.map((v, i) => parseRule(v, i)).filter(Boolean);
}

/** A rule as the URL says it. */
export function ruleParam(rule) {
  return rule.colour + ":" + rule.pattern;
}

/**
 * A rule's pattern as a global RegExp: /.../ is a regular expression (case-insensitive),
 * anything else plain text in any case. null when the expression is invalid.
 */
export function ruleRegex(pattern) {
  const re = /^\/(.+)\/$/.exec(pattern);
  try {
    return new RegExp(re ? re[1] : escapeRegex(pattern), "gi");
  } catch {
    return null;
  }
}

/** The rules compiled: [{re, colour}], the invalid ones left out. */
export function compileHighlights(rules) {
  const out = [];
  for (const r of rules || []) {
    const re = ruleRegex(r.pattern);
    if (re) out.push({ re, colour: r.colour });
  }
  return out;
}

/**
 * Where the rules paint text: [{s, e, colour}] in order, not overlapping (where two rules
 * match the same characters, the earlier match wins, then the earlier rule), or null.
 */
export function highlightMarks(compiled, text) {
  if (!compiled || !compiled.length) return null;
  const found = [];
  compiled.forEach(({ re, colour }, order) => {
    re.lastIndex = 0;
    let m;
    while ((m = re.exec(text)) !== null && found.length < MAX_MARKS) {
      if (m[0].length === 0) {
        re.lastIndex++;
        if (re.lastIndex > text.length) break;
        continue;
      }
      found.push({ s: m.index, e: m.index + m[0].length, colour, order });
    }
  });
  if (!found.length) return null;
  found.sort((a, b) => a.s - b.s || a.order - b.order);
  const marks = [];
  let end = 0;
  for (const f of found) {
    if (f.s < end) continue;
    marks.push({ s: f.s, e: f.e, colour: f.colour });
    end = f.e;
  }
  return marks;
}
