// The log view: new lines are handled once per animation frame, following keeps the end in
// sight, pausing holds lines back (up to the keep limit: past it they are dropped, and
// fetched from the server again on resume), older lines come in at the top while what is
// in view stays put, and the counts follow the filter. Rows themselves are chunks.js's.

import { compileFilter } from "./filter.js";
import { countLabel, jumpLabel } from "./format.js";
import {
  appendShown,
  clearShown,
  prependShown,
  removeShown,
  restoreAnchor,
  rowOf,
  takeAnchor,
  virtualize,
} from "./chunks.js";
import * as store from "./store.js";
import { renderRow } from "./render.js";
import { noteLine } from "./background.js";
import { syncLevels } from "./levelbar.js";
import { redrawHeads } from "./folds.js";
import { filterLines, joinsAbove, lastLine } from "./multiline.js";
import { applyRules, compileRules, rulesActive } from "./rules.js";
import { hideTools } from "./tools.js";
import { drawStatus } from "./ui.js";

const filtering = (state) => state.filter.matcher !== null || rulesActive(state.filter);

function filtered(state, e) {
  return applyRules(e, state.filter, state.opts.json);
}

// ---- following and pausing

export function atBottom({ ui }) {
  const log = ui.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight <= 24;
}

export function toBottom({ ui, state }) {
  ui.log.scrollTop = ui.log.scrollHeight;
  state.lastTop = ui.log.scrollTop;
}

/** Stops following: why is "scroll" (the user scrolled up) or "user" (the button). */
export function pause(app, why) {
  if (app.state.mode !== "live" && why === "scroll") return;
  app.state.mode = why;
  hideTools(app);
  syncPause(app);
}

/**
 * Follows again: the held lines are shown and the view goes to the end; when they were
 * dropped, the stream starts again after the last line kept (app.refetch).
 */
export function resume(app) {
  const state = app.state;
  if (state.store.detached && !state.store.overflow) {
    app.toEnd(); // the newest lines are not in the page: read the end, then follow
    return;
  }
  let refetch = false;
  if (state.mode !== "live") {
    state.mode = "live";
    const items = store.release(state.store);
    if (items.length) addEntries(app, items);
    refetch = state.store.overflow > 0;
    state.store.overflow = 0;
    if (refetch) state.store.detached = false; // the stream reads them again
  }
  toBottom(app);
  syncPause(app);
  if (refetch) app.refetch();
}

export function syncPause({ ui, state }) {
  const paused = state.mode !== "live";
  ui.root.classList.toggle("paused", paused);
  // Paused by scrolling or by the button, it says so: the button, and the status badge.
  ui.pause.setAttribute("aria-pressed", String(paused));
  ui.pauseLabel.textContent = paused ? "Resume" : "Pause";
  ui.pause.title = paused ? "Resume following (End)" : "Pause following (End resumes)";
  ui.paused = paused;
  drawStatus(ui);
  ui.jump.hidden = !paused;
  const waiting = state.store.heldShown;
  const over = state.store.overflow;
  ui.jumpText.textContent = jumpLabel(waiting, state.mode, over);
  ui.jump.classList.toggle("has-new", waiting > 0 || over > 0);
}

// ---- new lines, once per frame

// Drawing new lines costs a layout and a paint however many came: a busy log is drawn less
// often, up to MAX_GAP ms apart (a quarter of a millisecond per line drawn last time), and
// is not read line by line as it scrolls past anyway.
const MAX_GAP = 250;

/**
 * Takes a complete entry from the stream; it is shown (or held) at the next frame. Returns
 * false when, paused, more entries wait than the page keeps: they are dropped, and the
 * stream should stop until the user resumes (store.overflow says so).
 */
export function push(app, e) {
  const state = app.state;
  noteLine(app, e); // a tab in the background counts it
  const live = state.mode === "live";
  if (!live && state.store.overflow) return false;
  store.enqueue(state.store, e, live, state.opts.keep);
  if (!live && store.overflowed(state.store, state.opts.keep)) {
    syncPause(app);
    return false;
  }
  if (state.frameQueued) return true;
  state.frameQueued = true;
  const frame = () => requestAnimationFrame(() => flush(app));
  const wait = state.lastFlush + Math.min(MAX_GAP, state.lastBatch / 4) - performance.now();
  if (wait > 0) setTimeout(frame, wait);
  else frame();
  return true;
}

/** Handles every queued entry now. */
export function flush(app) {
  const state = app.state;
  state.frameQueued = false;
  const items = store.takeIncoming(state.store);
  if (!items.length) return;
  state.lastFlush = performance.now();
  state.lastBatch = items.length;
  if (state.mode !== "live") {
    const held = state.store.held;
    filterLines(state, items, held.length ? lastLine(held) : lastLine(state.store.entries));
    store.hold(state.store, items);
    syncPause(app);
    return;
  }
  addEntries(app, items);
}

/**
 * Runs change, then puts the view back: at the end when following, else with the line at
 * the top where it was; the chunks near the view get their rows.
 */
function steady(app, change) {
  const log = app.ui.log;
  const live = app.state.mode === "live";
  const anchor = live ? null : takeAnchor(log);
  const settle = () => (live ? toBottom(app) : restoreAnchor(app, anchor));
  change();
  settle();
  // Chunks drawn for the first time take their real height: then others may come near.
  for (let pass = 0; pass < 4 && virtualize(app); pass++) settle();
}

/** After a scroll: the chunks near the view get their rows, the others lose them. */
export function rowsFollowScroll(app) {
  steady(app, () => {});
}

// Filters items, keeps them (put: store.append or store.prepend) and shows them (show:
// appendShown or prependShown), the rows of those that made room going.
function keepEntries(app, items, put, show) {
  const state = app.state;
  if (items.length > state.opts.keep) items = items.slice(items.length - state.opts.keep);
  const older = put === store.prepend;
  // Lines of several-line entries (multiline.js) are linked to the line before them.
  const { stale, heads } = filterLines(state, items, older ? null : lastLine(state.store.entries));
  steady(app, () => {
    const { added, removed } = put(state.store, items, state.opts.keep, filtering(state));
    removeShown(removed);
    show(app, added.filter((e) => e.shown));
  });
  if (stale || (older && joinsAbove(state.store.entries, items))) refilter(app);
  else {
    redrawHeads(app, heads);
    syncCount(app);
  }
}

/** Keeps entries after the newest (from the stream or a page of history); the oldest beyond keep go. */
export function addEntries(app, items) {
  keepEntries(app, items, store.append, appendShown);
}

/** Keeps older entries (a page of history) before the oldest; the newest beyond keep go. */
export function prependEntries(app, items) {
  keepEntries(app, items, store.prepend, prependShown);
}

/**
 * Shows entries instead of everything before (the view is paused there): older and detached
 * say whether there are lines before and after them that the page does not have; target,
 * the entry to show in the middle of the view and highlight, else the view starts at the top
 * (atEnd: at the bottom).
 */
export function showEntries(app, entries, { older, detached, target = null, atEnd = false }) {
  const { state, ui } = app;
  resetView(app);
  state.mode = atEnd ? "live" : "scroll";
  Object.assign(state.store, { older, detached });
  if (target) target.target = true;
  addEntries(app, entries);
  const row = target && rowOf(app, target);
  if (row) ui.log.scrollTop = row.offsetTop - (ui.log.clientHeight - row.offsetHeight) / 2;
  else if (!atEnd) ui.log.scrollTop = 0;
  state.lastTop = ui.log.scrollTop;
  rowsFollowScroll(app);
  syncPause(app);
}

/** Applies a new keep limit to what is shown. */
export function keepChanged(app) {
  const state = app.state;
  if (state.mode === "live") steady(app, () => removeShown(store.trim(state.store, state.opts.keep, filtering(state))));
  syncCount(app);
}

// ---- the filter and the counts

/** Compiles the filter options into state.filter, and marks the box when invalid. */
export function compile({ state, ui }) {
  const opts = state.opts;
  state.filter = Object.assign(compileFilter(opts.filter, opts), compileRules(opts));
  ui.search.classList.toggle("invalid", state.filter.invalid);
}

export function syncCount(app) {
  const { state, ui } = app;
  const label = countLabel(state.store, {
    filtering: filtering(state),
    matching: state.filter.matcher !== null,
    invalid: state.filter.invalid,
    keep: state.opts.keep,
  });
  ui.count.textContent = label.text;
  ui.count.className = label.bad ? "count bad" : "count";
  if (label.title !== null) ui.count.title = label.title;
  syncLevels(app);
}

/** After the filter or the JSON toggle changed: every entry is filtered and drawn again. */
export function refilter(app) {
  const state = app.state;
  compile(app);
  filterLines(state, state.store.entries, null);
  filterLines(state, state.store.held, lastLine(state.store.entries));
  store.recount(state.store, filtering(state));
  rerenderAll(app);
  syncCount(app);
  syncPause(app);
}

/** Draws every kept row again (times shown or hidden, filter changed). */
export function rerenderAll(app) {
  const { state, ui } = app;
  hideTools(app);
  steady(app, () => {
    clearShown(ui.log);
    appendShown(app, state.store.entries.filter((e) => e.shown));
  });
}

/** One line's own pretty-printing toggled: filter, count and draw just that line again. */
export function refilterOne(app, e) {
  const state = app.state;
  store.count(state.store, e, -1, filtering(state));
  filtered(state, e);
  store.count(state.store, e, 1, filtering(state));
  hideTools(app);
  if (e.shown && e.node) {
    const fresh = renderRow(app.doc, e, state.opts);
    e.node.replaceWith(fresh);
    e.node = fresh;
  }
  syncCount(app);
}

/** Empties the view for another file. */
export function resetView(app) {
  const { state, ui } = app;
  store.clearStore(state.store);
  hideTools(app);
  clearShown(ui.log);
  state.mode = "live";
  syncPause(app);
  syncCount(app);
}
