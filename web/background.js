// A tab in the background: its title and its icon count the lines and the errors that came
// while it was hidden, until it is looked at again; and, when the user turns it on (the
// browser asks for permission then, never before), a notification for lines that match a
// chosen pattern.

import { toast } from "./ui.js";
import { badgeIcon, countUnseen, createUnseen, notifyMatcher, quickText, unseenTitle } from "./unseen.js";

const EVERY = 1000; // ms between redraws of the title and the icon
const QUIET = 4000; // ms between two notifications (the ones between are summed up)

/** Attaches the visibility listener and the notify controls. */
export function wireBackground(app) {
  const { doc, ui, state, win } = app;
  ui.icon = doc.querySelector('link[rel="icon"]');
  ui.iconHref = ui.icon ? ui.icon.href : null;
  doc.addEventListener("visibilitychange", () => {
    if (!doc.hidden) seen(app);
  });
  ui.notify = doc.getElementById("notify");
  ui.notifyText = doc.getElementById("notify-text");
  if (!ui.notify || !ui.notifyText) return;
  const remembered = app.recall ? app.recall("notify") : null;
  if (remembered && win.Notification && win.Notification.permission === "granted") {
    ui.notifyText.value = remembered;
    state.notify.matcher = notifyMatcher(remembered);
  }
  syncNotify(app);
  ui.notify.addEventListener("click", () => toggleNotify(app));
}

async function toggleNotify(app) {
  const { ui, state, win } = app;
  if (state.notify.matcher) {
    state.notify.matcher = null;
    app.remember("notify", "");
    syncNotify(app);
    return;
  }
  const pattern = ui.notifyText.value.trim();
  const matcher = notifyMatcher(pattern);
  if (!matcher) {
    toast(app, pattern ? "Not a valid /pattern/" : "Type a word or a /pattern/ to be told of");
    ui.notifyText.focus();
    return;
  }
  if (!win.Notification) {
    toast(app, "This browser cannot show notifications");
    return;
  }
  const answer = win.Notification.permission === "granted" ? "granted" : await win.Notification.requestPermission();
  if (answer !== "granted") {
    toast(app, "Notifications are not allowed for this page");
    return;
  }
  state.notify.matcher = matcher;
  app.remember("notify", pattern);
  syncNotify(app);
}

function syncNotify({ ui, state }) {
  const on = !!state.notify.matcher;
  ui.notify.setAttribute("aria-pressed", String(on));
  ui.notify.title = on
    ? "Notifying of matching lines while this tab is in the background (click to stop)"
    : "Be notified of lines that match, while this tab is in the background";
}

/** Takes a line that came (view.js push): counted while hidden, notified of if it matches. */
export function noteLine(app, e) {
  const { doc, state } = app;
  if (e.meta || !doc || !doc.hidden || !state.unseen) return;
  const text = quickText(e.raw);
  if (!state.unseen.lines) state.unseen.title = doc.title;
  countUnseen(state.unseen, text);
  if (!state.unseen.timer) state.unseen.timer = setTimeout(() => redraw(app), state.unseen.lines === 1 ? 0 : EVERY);
  const matcher = state.notify.matcher;
  if (matcher) {
    matcher.lastIndex = 0;
    if (matcher.test(text)) notify(app, text);
  }
}

function redraw(app) {
  const { doc, ui, state } = app;
  state.unseen.timer = 0;
  if (!doc.hidden || !state.unseen.lines) return;
  doc.title = unseenTitle(state.unseen, state.unseen.title);
  if (ui.icon) ui.icon.href = badgeIcon(state.unseen);
}

// The tab is looked at: the title and the icon as they were.
function seen(app) {
  const { doc, ui, state } = app;
  clearTimeout(state.unseen.timer);
  if (state.unseen.lines && state.unseen.title !== null) doc.title = state.unseen.title;
  if (ui.icon && ui.iconHref) ui.icon.href = ui.iconHref;
  state.unseen = createUnseen();
}

function notify(app, text) {
  const n = app.state.notify;
  const now = Date.now();
  if (now - n.last < QUIET) {
    n.skipped++;
    if (!n.timer) n.timer = setTimeout(() => summary(app), n.last + QUIET - now);
    return;
  }
  n.last = now;
  show(app, text);
}

function summary(app) {
  const n = app.state.notify;
  n.timer = 0;
  if (!n.skipped || !n.matcher) return;
  const more = n.skipped;
  n.skipped = 0;
  n.last = Date.now();
  show(app, `${more.toLocaleString()} more matching ${more === 1 ? "line" : "lines"}`);
}

function show(app, body) {
  const { win, state } = app;
  try {
    const note = new win.Notification(state.current || "tailsse", { body: body.slice(0, 300), tag: "tailsse-" + state.current });
    note.onclick = () => win.focus();
  } catch {
    // a browser that only notifies from a service worker
  }
}
