// Rows: an entry becomes a row of spans and text nodes. Log text reaches the page only
// through textContent and text nodes: a line can look like HTML, it can never become HTML.

import { fillColumns } from "./columns.js";
import { paint } from "./contrast.js";
import { decorateRow } from "./folds.js";
import { clockIn, entryTime } from "./linetime.js";
import { prepare, showsPretty } from "./lines.js";
import { shortLabel } from "./selection.js";

/** Where text must be cut so that every piece has one style: run, level word, hit and rule. */
function cuts(length, runs, lvl, hits, marks) {
  const at = [0, length];
  if (runs) for (const r of runs) at.push(r.s, r.e);
  if (lvl) at.push(lvl[0], lvl[1]);
  if (hits) for (const h of hits) at.push(h);
  if (marks) for (const m of marks) at.push(m.s, m.e);
  return at.sort((a, b) => a - b);
}

/**
 * Fills el with text, styled by runs (ANSI or JSON), the level word, the filter's hits and
 * the highlight rules' marks (highlight.js).
 */
export function fillText(doc, el, text, runs, lvl, hits, marks = null) {
  if (!runs && !lvl && !hits && !marks) {
    el.textContent = text;
    return;
  }
  const at = cuts(text.length, runs, lvl, hits, marks);
  let ri = 0;
  let hi = 0;
  let mi = 0;
  for (let i = 0; i < at.length - 1; i++) {
    const a = at[i];
    const b = at[i + 1];
    if (a >= b) continue;
    while (runs && ri < runs.length && runs[ri].e <= a) ri++;
    const run = runs && ri < runs.length && runs[ri].s <= a ? runs[ri] : null;
    while (hits && hi < hits.length && hits[hi + 1] <= a) hi += 2;
    const hit = hits && hi < hits.length && hits[hi] <= a;
    const colours = run && run.cls.startsWith("a-") ? paint(run) : null;
    // The program's own colours win: the level word is coloured only where it set none.
    const inLevel = !colours && lvl && lvl[0] <= a && a < lvl[1];
    let node;
    if (run || inLevel) {
      node = doc.createElement("span");
      node.className = (run ? run.cls : "") + (inLevel ? " lvl" : "");
      if (colours) {
        node.style.color = colours.color; // light-dark(): readable in either theme
        if (colours.background) node.style.background = colours.background;
      }
      node.textContent = text.slice(a, b);
    } else {
      node = doc.createTextNode(text.slice(a, b));
    }
    while (marks && mi < marks.length && marks[mi].e <= a) mi++;
    if (marks && mi < marks.length && marks[mi].s <= a) {
      const paint = doc.createElement("span");
      paint.className = "hl hl-" + marks[mi].colour;
      paint.appendChild(node);
      node = paint;
    }
    if (hit) {
      const mark = doc.createElement("mark");
      mark.appendChild(node);
      node = mark;
    }
    el.appendChild(node);
  }
}

/** A merged view's label of a line's file: a short name, as text, in the file's colour. */
function fileLabel(doc, e) {
  const label = doc.createElement("span");
  label.className = "src src-" + e.src;
  label.textContent = shortLabel(e.file);
  label.title = e.file;
  return label;
}

/** The row for a filtered entry (prepared now if not yet). row.tailsseEntry leads back to it. */
export function renderRow(doc, e, opts) {
  if (!e.meta) prepare(e);
  const row = doc.createElement("div");
  row.tailsseEntry = e;
  if (e.target) row.setAttribute("data-target", "");
  if (opts.time) {
    const ts = doc.createElement("span");
    const when = entryTime(e); // the line's own time, else when it arrived
    ts.className = (when.own ? "ts" : "ts arrival") + (e.cont ? " same" : ""); // a continuation: its entry's
    ts.textContent = clockIn(when.t, opts.tz);
    row.appendChild(ts);
  }
  if (e.file) row.appendChild(fileLabel(doc, e));
  const tx = doc.createElement("span");
  tx.className = "tx";
  if (e.meta) {
    row.className = "row meta meta-" + e.kind;
    tx.textContent = e.raw;
  } else {
    row.className = e.level ? "row lv-" + e.level : "row";
    row.tabIndex = -1; // reached with the arrow keys (rowkeys.js)
    if (opts.columns && fillColumns(doc, tx, e, opts)) {
      row.className += " cols";
    } else if (showsPretty(e, opts.json)) {
      row.className += " pretty";
      fillText(doc, tx, e.prettyText, e.prettyRuns, null, e.hits, e.hl);
    } else {
      fillText(doc, tx, e.plain, e.runs, e.lvl, e.hits, e.hl);
    }
  }
  row.appendChild(tx);
  decorateRow(doc, row, e);
  return row;
}
