// The lines with the keyboard: Enter in the log goes to the last line on screen, the arrow
// keys move from line to line, a line with the focus shows its tools (Tab reaches them, as
// the mouse's hover does), and Escape goes back to the log.

const LINE = ".row:not(.meta)";

/** The rows of lines drawn now, in order (rows of chunks far from the view are not drawn). */
function lineRows(log) {
  return [...log.querySelectorAll(LINE)];
}

/** The last line fully on screen, else the last one drawn. */
function lastOnScreen(log) {
  const view = log.getBoundingClientRect();
  const rows = lineRows(log);
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i].getBoundingClientRect();
    if (r.bottom <= view.bottom + 1 && r.top >= view.top - 1) return rows[i];
  }
  return rows[rows.length - 1] || null;
}

/** Attaches the keys of the log; showTools(row) puts the row tools on a row. */
export function wireRowKeys({ ui }, showTools) {
  const log = ui.log;
  log.addEventListener("focusin", (ev) => {
    const row = ev.target.closest && ev.target.closest(LINE);
    if (row && log.contains(row)) showTools(row);
  });
  log.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const row = ev.target.closest && ev.target.closest(LINE);
    if (ev.key === "Enter" && ev.target === log) {
      const to = lastOnScreen(log);
      if (to) {
        ev.preventDefault();
        to.focus();
      }
    } else if ((ev.key === "ArrowDown" || ev.key === "ArrowUp") && row === ev.target) {
      const rows = lineRows(log);
      const to = rows[rows.indexOf(row) + (ev.key === "ArrowDown" ? 1 : -1)];
      ev.preventDefault();
      if (to) to.focus();
    } else if (ev.key === "Escape" && row) {
      ev.preventDefault();
      log.focus({ preventScroll: true });
    }
  });
}
