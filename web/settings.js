// Settings: URL parameters win, then what this browser remembered, then defaults; and the
// page URLs that carry the filter. Pure: parameters come in as URLSearchParams and the
// remembered values through a function, so nothing here touches location or storage.

import { parseColumns } from "./fields.js";
import { parseRules, ruleParam } from "./highlight.js";
import { levelsParam, parseLevels } from "./levelfilter.js";

export const DEFAULT_KEEP = 10000;
export const MIN_KEEP = 100;
export const MAX_KEEP = 1000000;
// The server refuses a backlog over this (and an error would stop the stream for good).
export const MAX_BACKLOG = 100000;

/** Button labels, in the order the theme button cycles through. */
export const THEMES = { auto: "Auto", light: "Light", dark: "Dark" };

/** A boolean parameter: 1/true/on/yes or 0/false/off/no in any case, else fallback. */
export function flag(value, fallback) {
  if (value === null || value === undefined || value === "") return fallback;
  value = String(value).toLowerCase();
  if (["1", "true", "on", "yes"].includes(value)) return true;
  if (["0", "false", "off", "no"].includes(value)) return false;
  return fallback;
}

/** Lines kept in the page: an integer between MIN_KEEP and MAX_KEEP, DEFAULT_KEEP if not a number. */
export function clampKeep(value) {
  const n = parseInt(value, 10);
  if (!Number.isFinite(n)) return DEFAULT_KEEP;
  return Math.min(MAX_KEEP, Math.max(MIN_KEEP, n));
}

/** The theme after this one: auto -> light -> dark -> auto. */
export function nextTheme(theme) {
  const names = Object.keys(THEMES);
  return names[(names.indexOf(theme) + 1) % names.length];
}

/**
 * The filter as the URL gives it: {filter, regex, matchCase, levels, exclude, highlight,
 * where (field filters), columns (the column view), fields (its picked columns)}.
 */
export function filterOptions(params) {
  return {
    filter: params.get("filter") || "",
    regex: flag(params.get("regex"), false),
    matchCase: flag(params.get("case"), false),
    levels: parseLevels(params.get("levels")),
    exclude: params.get("exclude") || "",
    highlight: parseRules(params.getAll("highlight")),
    where: params.get("where") || "",
    columns: flag(params.get("columns"), false),
    fields: parseColumns(params.get("fields")),
  };
}

/**
 * Every option. params: the page's URLSearchParams; remembered(key): what this browser
 * stored for key, or null. Only theme, wrap, time, json, keep and tz are remembered.
 */
export function readOptions(params, remembered = () => null) {
  const setting = (key, fallback) => {
    if (params.has(key)) return params.get(key);
    const stored = remembered(key);
    return stored !== null && stored !== undefined ? stored : fallback;
  };
  const theme = setting("theme", "auto");
  return {
    theme: Object.hasOwn(THEMES, theme) ? theme : "auto",
    wrap: flag(setting("wrap", "1"), true),
    time: flag(setting("time", "0"), false),
    json: flag(setting("json", "0"), false),
    keep: clampKeep(setting("keep", DEFAULT_KEEP)),
    tz: setting("tz", "local") === "utc" ? "utc" : "local", // times in the user's zone or UTC
    follow: flag(params.get("follow"), true),
    ...filterOptions(params),
  };
}

/** ?lines=N, the backlog asked for, as a string at most MAX_BACKLOG; null when absent or not a number. */
export function backlogLines(params) {
  const value = params.get("lines") || "";
  return /^\d{1,9}$/.test(value) ? String(Math.min(MAX_BACKLOG, +value)) : null;
}

/** The page's path relative to <base>: view/NAME, embed/NAME, or ./ for the file list. */
export function pagePath(name, embed) {
  return name ? (embed ? "embed/" : "view/") + encodeURIComponent(name) : "./";
}

/** The page of one line (a permalink), relative to <base>: view/NAME?at=ID. */
export function linePath(name, id) {
  return pagePath(name, false) + "?at=" + encodeURIComponent(id);
}

/** The line a permalink names (?at=ID), or null. */
export function lineAt(params) {
  return params.get("at") || null;
}

/**
 * The query string (without "?") for search with the filter replaced by the options'. A
 * permalink's line is left out: it was shown, the page goes on from there.
 */
export function pageQuery(search, opts) {
  const q = new URLSearchParams(search);
  const owned = ["filter", "regex", "case", "at", "file", "levels", "exclude", "highlight", "where", "columns", "fields"];
  for (const key of owned) q.delete(key);
  if (opts.filter) {
    q.set("filter", opts.filter);
    if (opts.regex) q.set("regex", "1");
    if (opts.matchCase) q.set("case", "1");
  }
  const levels = levelsParam(opts.levels);
  if (levels) q.set("levels", levels);
  if (opts.exclude) q.set("exclude", opts.exclude);
  for (const rule of opts.highlight || []) q.append("highlight", ruleParam(rule));
  if (opts.where) q.set("where", opts.where);
  if (opts.columns) q.set("columns", "1");
  if (opts.fields && opts.fields.length) q.set("fields", opts.fields.join(","));
  return q.toString();
}

/** The file a page path names (view/NAME or embed/NAME under base), or null. */
export function nameFromPath(pathname, base) {
  const m = /^(?:view|embed)\/([^/]+)$/.exec(pathname.slice(base.length));
  return m ? decodeURIComponent(m[1]) : null;
}
