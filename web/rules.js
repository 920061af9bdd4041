// What a line must be to be shown, past the filter box: its level among those shown (the
// level filter). Applied to the lines kept and to the whole file's search results alike.
// Pure: no DOM.

import { applyFilter } from "./filter.js";
import { prepare } from "./lines.js";
import { levelShown } from "./levelfilter.js";

/** The rules of the options: {levels}; active when any would hide a line. */
export function compileRules(opts) {
  return { levels: opts.levels || null };
}

/** Whether the rules can hide a line. */
export function rulesActive(rules) {
  return !!rules.levels;
}

/** Whether a prepared line passes the rules (the filter box aside). */
export function ruleShown(rules, e) {
  return levelShown(rules.levels, e);
}

/**
 * Filters an entry (filter.js's applyFilter), then the rules: sets e.shown, e.hits and
 * e.count. Every line is prepared (its level counts, shown or not).
 */
export function applyRules(e, filter, jsonByDefault) {
  applyFilter(e, filter.matcher, jsonByDefault);
  if (e.meta) return e;
  prepare(e);
  if (e.shown && !ruleShown(filter, e)) {
    e.shown = false;
    e.hits = null;
    e.count = 0;
  }
  return e;
}

/**
 * Takes the matches of a page of the whole file's search that the rules hide out of
 * search.matches (they are the last ones); returns those kept. search.hidden counts them.
 */
export function dropHidden(search, added, filter) {
  if (!rulesActive(filter)) return added;
  const kept = added.filter((m) => ruleShown(filter, prepare({ meta: false, raw: m.text, plain: null })));
  const hidden = added.length - kept.length;
  if (!hidden) return added;
  search.matches.splice(search.matches.length - added.length, added.length, ...kept);
  search.hidden = (search.hidden || 0) + hidden;
  return kept;
}
