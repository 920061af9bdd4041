// Text the page shows about lines: arrival times, file sizes, counts, the jump button, and
// what a download holds. Pure: no DOM.

import { clockIn, entryTime } from "./linetime.js";
import { displayText } from "./lines.js";

/** n as a decimal string of at least w digits. */
export function pad(n, w) {
  return String(n).padStart(w, "0");
}

/** An arrival time (ms since the epoch) as local HH:MM:SS.mmm. */
export function clock(t) {
  const d = new Date(t);
  return `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}.${pad(d.getMilliseconds(), 3)}`;
}

/** A local date and time as YYYYMMDD-HHMMSS, for file names. */
export function stamp(d) {
  return (
    d.getFullYear() + pad(d.getMonth() + 1, 2) + pad(d.getDate(), 2) + "-" +
    pad(d.getHours(), 2) + pad(d.getMinutes(), 2) + pad(d.getSeconds(), 2)
  );
}

/** A date as ISO 8601 in local time with its offset: 2026-11-24T06:00:00+01:00. */
export function isoLocal(d) {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)}T` +
    `${pad(d.getHours(), 2)}:${pad(d.getMinutes(), 2)}:${pad(d.getSeconds(), 2)}` +
    `${sign}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`
  );
}

/** A size in bytes for people: 512 B, 1.5 KB, 12 MB; a dash when unknown. */
export function human(size) {
  if (typeof size !== "number") return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (size >= 1024 && i < units.length - 1) {
    size /= 1024;
    i++;
  }
  return (i ? size.toFixed(size < 10 ? 1 : 0) : size) + " " + units[i];
}

const plural = (n, one, many) => n.toLocaleString() + (n === 1 ? one : many);

/**
 * The toolbar's count from a store's counts: {text, bad, title}. title is null when it
 * should stay as it was (an invalid regular expression says nothing about the lines).
 */
export function countLabel(store, { filtering, matching = true, invalid, keep }) {
  if (invalid) return { text: "invalid regular expression", bad: true, title: null };
  const text = filtering && !matching
    ? `${store.matchLines.toLocaleString()} of ${plural(store.lines, " line", " lines")}`
    : filtering
    ? `${plural(store.matchCount, " match", " matches")} in ${store.matchLines.toLocaleString()} of ${store.lines.toLocaleString()} lines`
    : plural(store.lines, " line", " lines");
  const title =
    store.entries.length >= keep
      ? `The page keeps ${keep.toLocaleString()} lines at a time: scroll up for older ones, or search the whole file`
      : "";
  return { text, bad: false, title };
}

/**
 * The jump button's text: how many lines wait, else what a click does. over: the keep
 * limit the lines that came while paused passed (they are read again on resume), or 0.
 */
export function jumpLabel(waiting, mode, over = 0) {
  if (over) return `More than ${plural(over, " new line", " new lines")} · resume to load them`;
  if (waiting) return plural(waiting, " new line", " new lines");
  return mode === "user" ? "Paused · resume" : "Jump to end";
}

/** The download's contents: the entries shown, one per line, as they are shown (led by their file in a merged view). */
export function downloadText(entries, { json, time, tz = "local" }) {
  const out = [];
  for (const e of entries) {
    if (!e.shown) continue;
    const text = e.meta ? `--- ${e.raw} ---` : (e.file ? e.file + " | " : "") + displayText(e, json);
    out.push(time ? clockIn(entryTime(e).t, tz) + " " + text : text); // the time column's
  }
  return out.join("\n") + (out.length ? "\n" : "");
}

/** The download's file name: app.log -> app-20261124-060000.log, with -filtered when filtered. */
export function downloadName(file, filtered, date) {
  return (file || "log").replace(/\.(log|txt)$/, "") + (filtered ? "-filtered" : "") + "-" + stamp(date) + ".log";
}
