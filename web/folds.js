// Entries of several lines in the page (multiline.js links them): the first line's fold
// button collapses and expands the others, a continuation row is marked as one, and copying
// any line of an entry copies the whole entry.

import { prepare } from "./lines.js";
import { entryLines } from "./multiline.js";
import { renderRow } from "./render.js";
import { hideTools } from "./tools.js";
import { refilter } from "./view.js";

/** Marks a row by its place in an entry: a fold on a head with lines, a class on the others. */
export function decorateRow(doc, row, e) {
  if (e.meta) return;
  if (e.cont) {
    row.classList.add("cont");
    return;
  }
  if (!(e.size > 1)) return;
  row.classList.add("head");
  const more = e.size - 1;
  const fold = doc.createElement("button");
  fold.type = "button";
  fold.className = "fold";
  fold.setAttribute("aria-expanded", String(!e.collapsed));
  const what = `${more.toLocaleString()} more ${more === 1 ? "line" : "lines"}`;
  fold.setAttribute("aria-label", (e.collapsed ? "Show the " : "Hide the ") + what + " of this entry");
  fold.title = fold.getAttribute("aria-label");
  fold.textContent = e.collapsed ? "▸" : "▾";
  row.insertBefore(fold, row.firstChild);
  if (e.collapsed) {
    const badge = doc.createElement("span");
    badge.className = "folded";
    badge.textContent = "+" + what;
    row.appendChild(badge);
  }
}

/** Draws again the rows of heads whose entries got lines (their fold changes). */
export function redrawHeads(app, heads) {
  for (const h of heads) {
    if (!h.node || !h.shown) continue;
    if (app.state.tools && app.state.tools.parentNode === h.node) hideTools(app);
    const fresh = renderRow(app.doc, h, app.state.opts);
    h.node.replaceWith(fresh);
    h.node = fresh;
  }
}

/** The text of the entry e is a line of, its lines joined (what "copy" puts on the clipboard). */
export function entryText(app, e) {
  return entryLines(app.state.store.entries, e)
    .map((x) => prepare(x).plain)
    .join("\n");
}

/** Attaches the fold buttons. */
export function wireFolds(app) {
  app.ui.log.addEventListener("click", (ev) => {
    const fold = ev.target.closest && ev.target.closest(".fold");
    const row = fold && fold.closest(".row");
    const e = row && row.tailsseEntry;
    if (!e) return;
    ev.stopPropagation();
    e.collapsed = !e.collapsed;
    refilter(app);
    const again = e.node && e.node.querySelector(".fold");
    if (again) again.focus({ preventScroll: true });
  });
}
