// The level filter: which levels are shown (a set of names from LEVEL_ORDER, "other" for the
// lines with no level of their own), as the URL says it (?levels=error,warn), and the counts
// per level of the lines kept. Pure: no DOM.

/** The levels, most severe first; "other" is a line without a level. */
export const LEVEL_ORDER = ["fatal", "error", "warn", "info", "debug", "trace", "other"];

/** The label of a level's button. */
export const LEVEL_LABELS = {
  fatal: "Fatal", error: "Error", warn: "Warn", info: "Info", debug: "Debug", trace: "Trace", other: "Other",
};

/** The levels a ?levels= value shows: a Set, or null for all (absent, empty or nothing known). */
export function parseLevels(value) {
  if (!value) return null;
  const names = String(value).toLowerCase().split(/[\s,]+/).filter((n) => LEVEL_ORDER.includes(n));
  return names.length ? new Set(names) : null;
}

/** The ?levels= value for a set of levels ("" when every level is shown). */
export function levelsParam(levels) {
  if (!levels || LEVEL_ORDER.every((n) => levels.has(n))) return "";
  return LEVEL_ORDER.filter((n) => levels.has(n)).join(",");
}

/** The set after toggling one level (null: all shown). */
export function toggleLevel(levels, name) {
  const next = new Set(levels || LEVEL_ORDER);
  if (next.has(name)) next.delete(name);
  else next.add(name);
  return next.size === LEVEL_ORDER.length ? null : next;
}

/** The set showing only name (null when it already is the only one: everything again). */
export function onlyLevel(levels, name) {
  return levels && levels.size === 1 && levels.has(name) ? null : new Set([name]);
}

/** The level a prepared line counts as: its own (or its entry's first line's), else "other". */
export function levelOf(e) {
  return e.level || "other";
}

/** Whether the level filter lets a prepared line through. */
export function levelShown(levels, e) {
  return !levels || levels.has(levelOf(e));
}

/** Whether a line is an error for next/previous error: error or fatal. */
export function isError(e) {
  return e.level === "error" || e.level === "fatal";
}

/** Counts per level, all zero. */
export function emptyCounts() {
  return Object.fromEntries(LEVEL_ORDER.map((n) => [n, 0]));
}
