// JSON and logfmt lines as columns (fields.js): time, level, message and the fields the user
// picks; a click on a value filters by it. The field filter box (level=error user.id=42
// duration_ms>500) and the column toggle live in the rules row.

import { columnCells, fieldsOf, parseColumns, whereTerm } from "./fields.js";
import { rulesChanged } from "./levelbar.js";

/** Fills a row's text with its columns; false when the line has no fields (drawn as text). */
export function fillColumns(doc, tx, e, opts) {
  const fields = fieldsOf(e);
  if (!fields) return false;
  for (const cell of columnCells(fields, opts.fields)) {
    const el = doc.createElement(cell.path ? "button" : "span");
    el.className = "col col-" + (["time", "level", "message"].includes(cell.name) ? cell.name : "field");
    el.textContent = cell.text;
    if (cell.path) {
      el.type = "button";
      el.dataset.path = cell.path;
      el.title = `${cell.path} = ${cell.text} (click: only lines with this value)`;
    }
    tx.appendChild(el);
  }
  return true;
}

/** Attaches the field filter box, the column toggle, the picked columns and the value clicks. */
export function wireColumns(app) {
  const { doc, ui, state } = app;
  const $ = (id) => doc.getElementById(id);
  Object.assign(ui, { where: $("where"), columns: $("columns"), fields: $("fields") });
  if (!ui.where || !ui.columns || !ui.fields) return;
  const opts = state.opts;
  let timer = 0;
  ui.where.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      opts.where = ui.where.value;
      rulesChanged(app);
    }, 150);
  });
  ui.columns.addEventListener("click", () => {
    opts.columns = !opts.columns;
    syncColumns(app);
    rulesChanged(app);
  });
  ui.fields.addEventListener("change", () => {
    opts.fields = parseColumns(ui.fields.value);
    syncColumns(app);
    rulesChanged(app);
  });
  ui.log.addEventListener("click", (ev) => {
    const cell = ev.target.closest && ev.target.closest(".col[data-path]");
    const row = cell && cell.closest(".row");
    if (!row || !row.tailsseEntry) return;
    const term = whereTerm(cell.dataset.path, "=", cell.textContent);
    opts.where = opts.where ? opts.where + " " + term : term;
    syncColumns(app);
    rulesChanged(app);
  });
  app.win.addEventListener("popstate", () => syncColumns(app));
  syncColumns(app);
}

function syncColumns({ ui, state, doc }) {
  const opts = state.opts;
  if (doc.activeElement !== ui.where) ui.where.value = opts.where;
  ui.columns.setAttribute("aria-pressed", String(opts.columns));
  ui.fields.hidden = !opts.columns;
  if (doc.activeElement !== ui.fields) ui.fields.value = opts.fields.join(", ");
}
