// The page's fixed elements (index.html), and what shows the state in them: the status
// badge, the toolbar's pressed buttons, the theme, the notice and the toast.

import { THEMES } from "./settings.js";

/** Every element the viewer uses, by role. */
export function findElements(doc) {
  const $ = (id) => doc.getElementById(id);
  return {
    root: doc.documentElement,
    log: $("log"),
    view: $("view"),
    status: $("status"),
    statusText: $("status-text"),
    file: $("file"),
    picker: $("picker"),
    pickerList: $("picker-list"),
    pickerNote: $("picker-note"),
    heading: $("heading"),
    keys: $("keys"),
    keysList: $("keys-list"),
    keysClose: $("keys-close"),
    search: $("search"),
    filter: $("filter"),
    regex: $("regex"),
    matchCase: $("case"),
    count: $("count"),
    pause: $("pause"),
    pauseLabel: $("pause-label"),
    jump: $("jump"),
    jumpText: $("jump-text"),
    wrap: $("wrap"),
    time: $("time"),
    json: $("json"),
    theme: $("theme"),
    themeLabel: $("theme-label"),
    download: $("download"),
    keep: $("keep"),
    toast: $("toast"),
    rowTools: $("row-tools"),
    findForm: $("find-form"),
    find: $("find"),
    whenForm: $("when-form"),
    when: $("when"),
    toStart: $("to-start"),
    toEnd: $("to-end"),
    results: $("results"),
    resultsCount: $("results-count"),
    resultsStop: $("results-stop"),
    resultsMore: $("results-more"),
    resultsClose: $("results-close"),
    resultsList: $("results-list"),
    notice: $("notice"),
    noticeText: $("notice-text"),
    noticeClose: $("notice-close"),
  };
}

/** The stream's status: state is the badge's data-state (live, connecting, busy, offline...). */
export function setStatus(ui, state, text, detail) {
  ui.link = { state, text, detail: detail || text };
  drawStatus(ui);
}

/**
 * The badge: the stream's status, except that a live stream reads "Paused" while the view
 * is paused (ui.paused, view.js): the page is not following then, whatever the stream does.
 */
export function drawStatus(ui) {
  const link = ui.link || { state: ui.status.getAttribute("data-state"), text: ui.statusText.textContent, detail: "" };
  const paused = link.state === "live" && ui.paused;
  ui.status.setAttribute("data-state", paused ? "paused" : link.state);
  ui.statusText.textContent = paused ? "Paused" : link.text;
  ui.status.title = paused ? "Paused: new lines are counted, not shown; End or Resume follows again" : link.detail || link.text;
}

/** The stream's own status (not "paused" because the view is). */
export function statusState(ui) {
  return ui.link ? ui.link.state : ui.status.getAttribute("data-state");
}

function pressed(button, on) {
  button.setAttribute("aria-pressed", String(!!on));
}

/** The theme attribute (none for auto: the CSS follows the system) and the button. */
export function applyTheme({ ui, state }) {
  const theme = state.opts.theme;
  if (theme === "auto") ui.root.removeAttribute("data-theme");
  else ui.root.setAttribute("data-theme", theme);
  ui.themeLabel.textContent = THEMES[theme];
  ui.theme.title =
    theme === "auto" ? "Theme: follows the system (click to change)" : `Theme: ${theme} (click to change)`;
}

/** Wrapping and the toggles' pressed state. */
export function applyView({ ui, state }) {
  const opts = state.opts;
  ui.log.classList.toggle("nowrap", !opts.wrap);
  pressed(ui.wrap, opts.wrap);
  pressed(ui.time, opts.time);
  pressed(ui.json, opts.json);
  pressed(ui.regex, opts.regex);
  pressed(ui.matchCase, opts.matchCase);
}

/** A message over the log that stays until dismissed (or replaced); null hides it. */
export function notice({ ui }, text) {
  ui.noticeText.textContent = text || "";
  ui.notice.hidden = !text;
}

/** A short message over the log for a moment. */
export function toast({ ui, state }, text) {
  ui.toast.textContent = text;
  ui.toast.hidden = false;
  clearTimeout(state.toastTimer);
  state.toastTimer = setTimeout(() => {
    ui.toast.hidden = true;
  }, 1600);
}
