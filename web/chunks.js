// The rows in the page. Entries shown live in chunks of CHUNK rows, and only the chunks near
// the visible part of the log hold rows (at most about ROWS of them): the others keep their
// measured (or, never drawn yet, estimated) height and nothing else, so the page holds a
// bounded number of nodes however many lines it keeps. Every DOM change to the log's rows
// happens here.

import { renderRow } from "./render.js";

export const CHUNK = 100;
// Chunks within this many view heights above and below what is visible keep their rows;
// farther ones lose theirs, the farthest first, while more than ROWS rows are drawn.
const MARGIN = 1;
export const ROWS = 1500;
const GUESS = 20; // px per row, until a chunk of rows was measured

// A chunk: its element, the entries shown in it (oldest first), whether it holds their
// rows, and its height when it does not. An entry knows its chunk (e.chunk) and its row
// (e.node, null while the chunk is collapsed).
function makeChunk(doc) {
  const el = doc.createElement("div");
  el.className = "chunk";
  const chunk = { el, entries: [], rendered: true, height: 0 };
  el.tailsseChunk = chunk;
  return chunk;
}

const chunkOf = (el) => (el && el.tailsseChunk) || null;

function draw(app, e) {
  e.node = renderRow(app.doc, e, app.state.opts);
  return e.node;
}

// The height a row is taken to have until its chunk is drawn: the mean of those measured.
function rowHeight(log) {
  return log.tailsseRowHeight || GUESS;
}

// A chunk of entries that is not drawn yet: the view draws it when it comes near.
function pendingChunk(app, entries) {
  const chunk = makeChunk(app.doc);
  for (const e of entries) {
    e.chunk = chunk;
    chunk.entries.push(e);
  }
  collapse(chunk, entries.length * rowHeight(app.ui.log));
  return chunk;
}

/**
 * Appends shown entries after the last row: they fill the last chunk (drawn when it is),
 * then new chunks, drawn once the view comes near them (virtualize).
 */
export function appendShown(app, entries) {
  const log = app.ui.log;
  const last = chunkOf(log.lastElementChild);
  let i = 0;
  if (last && last.entries.length < CHUNK) {
    const room = entries.slice(0, CHUNK - last.entries.length);
    i = room.length;
    const frag = app.doc.createDocumentFragment();
    for (const e of room) {
      e.chunk = last;
      last.entries.push(e);
      if (last.rendered) frag.appendChild(draw(app, e));
    }
    if (last.rendered) last.el.appendChild(frag);
    else collapse(last, last.height + room.length * rowHeight(log));
  }
  for (; i < entries.length; i += CHUNK) log.appendChild(pendingChunk(app, entries.slice(i, i + CHUNK)).el);
}

/** Puts shown entries (oldest first) before the first row, in chunks of their own. */
export function prependShown(app, entries) {
  const log = app.ui.log;
  const frag = app.doc.createDocumentFragment();
  for (let i = 0; i < entries.length; i += CHUNK) frag.appendChild(pendingChunk(app, entries.slice(i, i + CHUNK)).el);
  log.insertBefore(frag, log.firstChild);
}

/** Takes entries' rows out of the page (their chunks too, once empty). */
export function removeShown(entries) {
  const touched = new Set();
  for (const e of entries) {
    if (e.node) e.node.remove();
    if (e.chunk) touched.add(e.chunk);
    e.node = null;
    e.gone = true;
  }
  for (const chunk of touched) {
    const before = chunk.entries.length;
    chunk.entries = chunk.entries.filter((e) => !e.gone);
    if (!chunk.entries.length) chunk.el.remove();
    else if (!chunk.rendered) collapse(chunk, (chunk.height * chunk.entries.length) / before);
  }
  for (const e of entries) {
    e.chunk = null;
    e.gone = false;
  }
}

/** Empties the log; the entries forget their rows. */
export function clearShown(log) {
  for (let el = log.firstElementChild; el; el = el.nextElementSibling) {
    const chunk = chunkOf(el);
    if (chunk) for (const e of chunk.entries) e.chunk = e.node = null;
  }
  log.textContent = "";
}

function expand(app, chunk) {
  const frag = app.doc.createDocumentFragment();
  for (const e of chunk.entries) frag.appendChild(draw(app, e));
  chunk.el.style.height = "";
  chunk.el.appendChild(frag);
  chunk.rendered = true;
}

function collapse(chunk, height) {
  chunk.height = height;
  chunk.el.style.height = height + "px";
  for (const e of chunk.entries) e.node = null;
  chunk.el.textContent = "";
  chunk.rendered = false;
}

/**
 * Gives the chunks near the view their rows, and takes them from the farthest others while
 * more than ROWS rows are drawn. Returns whether it drew any (then heights changed).
 */
export function virtualize(app) {
  const log = app.ui.log;
  const view = log.clientHeight;
  const lo = log.scrollTop - view * MARGIN;
  const hi = log.scrollTop + view * (1 + MARGIN);
  const near = [];
  const far = [];
  let drawn = 0;
  let shown = 0;
  for (let el = log.firstElementChild; el; el = el.nextElementSibling) {
    const chunk = chunkOf(el);
    if (!chunk) continue;
    shown += chunk.entries.length;
    const top = el.offsetTop;
    const height = el.offsetHeight;
    const away = Math.max(lo - (top + height), top - hi, 0);
    if (!away && !chunk.rendered) near.push(chunk);
    if (away && chunk.rendered) far.push({ chunk, height, away });
    if (chunk.rendered || !away) drawn += chunk.entries.length;
  }
  // A small log is drawn whole (the browser's own find sees all of it).
  if (shown <= ROWS) {
    for (let el = log.firstElementChild; el; el = el.nextElementSibling) {
      const chunk = chunkOf(el);
      if (chunk && !chunk.rendered && !near.includes(chunk)) near.push(chunk);
    }
  }
  far.sort((a, b) => b.away - a.away);
  for (const { chunk, height } of far) {
    if (drawn <= ROWS) break;
    measured(log, chunk, height);
    collapse(chunk, height);
    drawn -= chunk.entries.length;
  }
  for (const chunk of near) expand(app, chunk);
  return near.length > 0;
}

// Learns the mean row height from a chunk that was drawn.
function measured(log, chunk, height) {
  if (chunk.entries.length >= CHUNK / 2) log.tailsseRowHeight = height / chunk.entries.length;
}

/** Makes sure an entry shown has its row (its chunk expanded); returns the row or null. */
export function rowOf(app, e) {
  if (!e.node && e.chunk && !e.chunk.rendered) expand(app, e.chunk);
  return e.node;
}

// The first of els whose bottom is below y (els in page order), by bisection.
function firstBelow(els, y) {
  let lo = 0;
  let hi = els.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (els[mid].getBoundingClientRect().bottom > y) hi = mid;
    else lo = mid + 1;
  }
  return els[lo];
}

/**
 * What is at the top of the view and where: {entry, node, y}, to keep it in place while rows
 * come and go above it (restoreAnchor). null for an empty log.
 */
export function takeAnchor(log) {
  const chunks = log.children;
  if (!chunks.length) return null;
  const top = log.getBoundingClientRect().top;
  let node = firstBelow(chunks, top);
  const chunk = chunkOf(node);
  if (chunk && chunk.rendered && node.children.length) node = firstBelow(node.children, top);
  return { entry: node.tailsseEntry || null, node, y: node.getBoundingClientRect().top - top };
}

/** Scrolls so that the anchor is where it was (its entry's row, drawn again if need be). */
export function restoreAnchor(app, anchor) {
  if (!anchor) return;
  const log = app.ui.log;
  const row = anchor.entry && anchor.entry.chunk ? rowOf(app, anchor.entry) : null;
  const node = row || anchor.node;
  if (!node.isConnected) return;
  const y = node.getBoundingClientRect().top - log.getBoundingClientRect().top;
  log.scrollTop += y - anchor.y;
}
