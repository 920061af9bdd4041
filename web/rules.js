// What a line must be to be shown, past the filter box: its level among those shown (the
// level filter), its fields as the field filters say (fields.js) and no match of the
// exclude filter; and where the highlight rules paint it.
// Applied to the lines kept and to the whole file's search results alike. Pure: no DOM.

import { fieldsMatch, fieldsOf, parseWhere } from "./fields.js";
import { applyFilter, compileFilter } from "./filter.js";
import { compileHighlights, highlightMarks } from "./highlight.js";
import { displayText, prepare } from "./lines.js";
import { levelShown } from "./levelfilter.js";

/**
 * The rules of the options: {levels, where, exclude, excludeInvalid, highlights}. exclude is a
 * RegExp (the filter box's regex and case toggles apply) or null.
 */
export function compileRules(opts) {
  const exclude = compileFilter(opts.exclude || "", opts);
  return {
    levels: opts.levels || null,
    where: parseWhere(opts.where),
    exclude: exclude.matcher,
    excludeInvalid: exclude.invalid,
    highlights: compileHighlights(opts.highlight),
  };
}

/** Whether the rules can hide a line. */
export function rulesActive(rules) {
  return !!rules.levels || !!rules.exclude || rules.where.length > 0;
}

/** Whether a prepared line passes the rules (the filter box aside); text: what it shows. */
export function ruleShown(rules, e, text) {
  if (!levelShown(rules.levels, e)) return false;
  if (rules.where.length && !fieldsMatch(fieldsOf(e), rules.where)) return false;
  if (rules.exclude) {
    rules.exclude.lastIndex = 0;
    if (rules.exclude.test(text)) return false;
  }
  return true;
}

/**
 * Filters an entry (filter.js's applyFilter), then the rules: sets e.shown, e.hits,
 * e.count, e.hl (the highlight marks), and what decided: e.found (the filter box),
 * e.excluded, e.levelOk. Every line is prepared (its level counts, shown or not).
 */
export function applyRules(e, filter, jsonByDefault) {
  applyFilter(e, filter.matcher, jsonByDefault);
  e.hl = null;
  if (e.meta) return e;
  prepare(e);
  const text = displayText(e, jsonByDefault);
  e.found = e.shown;
  // The level and the fields are the first line's: they decide for a whole entry.
  e.levelOk = levelShown(filter.levels, e) && (!filter.where.length || fieldsMatch(fieldsOf(e), filter.where));
  e.excluded = false;
  if (filter.exclude) {
    filter.exclude.lastIndex = 0;
    e.excluded = filter.exclude.test(text);
  }
  e.shown = e.found && e.levelOk && !e.excluded;
  if (!e.shown) {
    e.hits = null;
    e.count = 0;
  }
  if (!e.excluded) e.hl = highlightMarks(filter.highlights, text);
  return e;
}

/**
 * Takes the matches of a page of the whole file's search that the rules hide out of
 * search.matches (they are the last ones); returns those kept. search.hidden counts them.
 */
export function dropHidden(search, added, filter) {
  if (!rulesActive(filter)) return added;
  const kept = added.filter((m) => ruleShown(filter, prepare({ meta: false, raw: m.text, plain: null }), m.text));
  const hidden = added.length - kept.length;
  if (!hidden) return added;
  search.matches.splice(search.matches.length - added.length, added.length, ...kept);
  search.hidden = (search.hidden || 0) + hidden;
  return kept;
}
