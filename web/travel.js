// Moving through the whole file: scrolling near the top or the bottom of what the page keeps
// reads more of it, Home and End (keys and buttons) go to the first and the last line, and
// the time box goes to the first line written at or after a time.

import { loadNewer, loadOlder, reach, showTime, toStart } from "./history.js";
import { notice } from "./ui.js";
import { pause, resume, rowsFollowScroll } from "./view.js";

/** Attaches the listeners; scrolled() is for the log's scroll handler (controls.js). */
export function wireTravel(app) {
  const { ui, state } = app;
  ui.log.addEventListener(
    "wheel",
    (ev) => {
      // Nothing to scroll to in the page: the file may have more.
      if (ev.deltaY < 0 && ui.log.scrollTop <= 0 && state.store.older) {
        pause(app, "scroll");
        loadOlder(app);
      } else if (ev.deltaY > 0 && state.store.detached) {
        loadNewer(app);
      }
    },
    { passive: true },
  );
  ui.toStart.addEventListener("click", () => toStart(app));
  ui.toEnd.addEventListener("click", () => resume(app));
  ui.whenForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (ui.when.value) showTime(app, ui.when.value);
  });
  ui.noticeClose.addEventListener("click", () => notice(app, null));
}

/**
 * After the log scrolled: the rows near the view are drawn (once per frame), and near the
 * top or the bottom of what the page keeps the next page of the file is read.
 */
export function scrolled(app) {
  const state = app.state;
  if (!state.rowsQueued) {
    state.rowsQueued = true;
    requestAnimationFrame(() => {
      state.rowsQueued = false;
      if (state.mode !== "live") rowsFollowScroll(app);
    });
  }
  reach(app);
}
