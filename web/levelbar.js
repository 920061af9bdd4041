// The level buttons: one per level the page has lines of, with their count; a click hides
// or shows that level, Shift+click shows it alone. And e / E: the next and the previous
// error (or fatal) line among those shown.

import { refind } from "./finder.js";
import { isError, LEVEL_LABELS, LEVEL_ORDER, levelShown, onlyLevel, toggleLevel } from "./levelfilter.js";
import { rowOf, takeAnchor } from "./chunks.js";
import { toast } from "./ui.js";
import { pause, refilter, rowsFollowScroll } from "./view.js";

/** Applies new filter options (levels, exclude, highlight...): lines, URL and search again. */
export function rulesChanged(app) {
  refilter(app);
  if (app.state.current) app.win.history.replaceState(null, "", app.pageUrl(app.state.current));
  refind(app);
}

/** Makes the buttons and attaches the keys. */
export function wireLevels(app) {
  const { doc, ui, state } = app;
  ui.levels = doc.getElementById("levels");
  if (!ui.levels) return;
  ui.levelButtons = {};
  for (const name of LEVEL_ORDER) {
    const button = doc.createElement("button");
    button.type = "button";
    button.className = "lvchip lvchip-" + name;
    button.dataset.level = name;
    button.hidden = true;
    button.title = `Show or hide ${LEVEL_LABELS[name].toLowerCase()} lines (Shift+click: only these)`;
    const label = doc.createElement("span");
    label.textContent = LEVEL_LABELS[name];
    const n = doc.createElement("span");
    n.className = "n";
    button.append(label, " ", n);
    button.addEventListener("click", (ev) => {
      const levels = state.opts.levels;
      state.opts.levels = ev.shiftKey ? onlyLevel(levels, name) : toggleLevel(levels, name);
      rulesChanged(app);
      drawLevels(app);
    });
    ui.levels.appendChild(button);
    ui.levelButtons[name] = button;
  }
  doc.addEventListener("keydown", (ev) => {
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(doc.activeElement && doc.activeElement.tagName);
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || (ev.key !== "e" && ev.key !== "E")) return;
    ev.preventDefault();
    stepError(app, ev.key === "e" ? 1 : -1);
  });
  syncLevels(app);
}

// The counts change with every frame of a busy log; the toolbar is laid out again when they
// do, so they are redrawn at most this often (and always after the last change).
const EVERY = 400; // ms

/** Redraws the buttons soon (now when nothing was drawn for EVERY ms). */
export function syncLevels(app) {
  const state = app.state;
  if (!app.ui.levelButtons || state.levelsTimer) return;
  const wait = state.levelsDrawn + EVERY - performance.now();
  if (wait <= 0) drawLevels(app);
  else
    state.levelsTimer = setTimeout(() => {
      state.levelsTimer = 0;
      drawLevels(app);
    }, wait);
}

/** The buttons' counts and pressed state (a level with no line and not hidden has none). */
function drawLevels({ ui, state }) {
  state.levelsDrawn = performance.now();
  const counts = state.store.levels;
  const levels = state.opts.levels;
  for (const name of LEVEL_ORDER) {
    const button = ui.levelButtons[name];
    const shown = levelShown(levels, { level: name === "other" ? null : name });
    button.hidden = shown && !counts[name];
    button.setAttribute("aria-pressed", String(shown));
    button.lastChild.textContent = counts[name].toLocaleString();
  }
}

/** Goes to the next (step 1) or previous (-1) error line shown; says so when there is none. */
export function stepError(app, step) {
  const { state, ui } = app;
  const entries = state.store.entries;
  let i = state.errorAt ? entries.indexOf(state.errorAt) : -1;
  if (i < 0) {
    const anchor = state.mode === "live" ? null : takeAnchor(ui.log);
    const top = anchor && anchor.entry ? entries.indexOf(anchor.entry) : -1;
    i = top >= 0 ? top - (step > 0 ? 1 : 0) : step > 0 ? -1 : entries.length;
  }
  for (i += step; i >= 0 && i < entries.length; i += step) {
    const e = entries[i];
    if (!e.meta && e.shown && !e.cont && isError(e)) {
      mark(app, e);
      return true;
    }
  }
  toast(app, step > 0 ? "No error below" : "No error above");
  return false;
}

// Shows e in the middle of the view, marked as the line gone to.
function mark(app, e) {
  const { state, ui } = app;
  pause(app, "scroll");
  const old = state.errorAt;
  if (old) {
    old.target = false;
    if (old.node) old.node.removeAttribute("data-target");
  }
  state.errorAt = e;
  e.target = true;
  const row = rowOf(app, e);
  if (!row) return;
  row.setAttribute("data-target", "");
  ui.log.scrollTop = row.offsetTop - (ui.log.clientHeight - row.offsetHeight) / 2;
  state.lastTop = ui.log.scrollTop;
  rowsFollowScroll(app);
}
