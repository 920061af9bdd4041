// The time column: each line's own time (linetime.js) in the user's zone or in UTC (the
// zone button, remembered), its full date and how long ago on hover; a line that names no
// time shows when it arrived, marked as such.

import { entryTime, fullTime, relative } from "./linetime.js";
import { rerenderAll } from "./view.js";

/** Attaches the zone button and the hover. */
export function wireTimes(app) {
  const { doc, ui, state } = app;
  ui.tz = doc.getElementById("tz");
  if (ui.tz) {
    syncZone(app);
    ui.tz.addEventListener("click", () => {
      state.opts.tz = state.opts.tz === "utc" ? "local" : "utc";
      app.remember("tz", state.opts.tz);
      syncZone(app);
      rerenderAll(app);
    });
  }
  ui.log.addEventListener("mouseover", (ev) => {
    const ts = ev.target.closest && ev.target.closest(".ts");
    const row = ts && ts.parentNode;
    if (row && row.tailsseEntry) ts.title = timeTitle(row.tailsseEntry, state.opts.tz, Date.now());
  });
}

/** What hovering a time says: the full time, how long ago, and whose time it is. */
export function timeTitle(e, tz, now) {
  const when = entryTime(e);
  const whose = when.own ? "" : " · when it arrived (the line names no time)";
  return `${fullTime(when.t, tz)} · ${relative(when.t, now)}${whose}`;
}

function syncZone({ ui, state }) {
  const utc = state.opts.tz === "utc";
  ui.tz.textContent = utc ? "UTC" : "Local time";
  ui.tz.setAttribute("aria-pressed", String(utc));
  ui.tz.title = utc ? "Times in UTC (click for your time zone)" : "Times in your time zone (click for UTC)";
}
