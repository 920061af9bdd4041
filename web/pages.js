// Pages of the file's history (api/lines): what to ask for to go further up or down from
// what the page keeps, and the entries a page answers with, the pieces of an over-long line
// joined as the stream joins them and what the page already has left out. History and the
// stream share ids, so a line fetched and the same line received live are one. Pure: no DOM.

import { endId } from "./lines.js";
import { receiveLine, receiver, takePiece } from "./receive.js";

export const MAX_PAGE = 2500;

/** Lines asked for at a time: a quarter of what the page keeps, 50 to MAX_PAGE. */
export function pageSize(keep) {
  return Math.max(50, Math.min(MAX_PAGE, Math.floor(keep / 4)));
}

/** The query for the lines before the oldest kept (its own line comes too, and is left out). */
export function olderQuery(firstId, count) {
  return firstId ? { before: firstId, count: count + 1 } : { before: "end", count };
}

/** The query for the lines after the newest kept, or from the first line of the file. */
export function newerQuery(lastId, count) {
  return { after: lastId || "start", count };
}

/** The two queries for a line in context: it and the lines before it, and the lines after. */
export function contextQueries(id, count) {
  const half = Math.max(1, Math.floor(count / 2));
  return [{ before: id, count: half + 1 }, { after: id, count: half }];
}

/** Entries for a page's lines ([{id, text}], oldest first), pieces joined. */
export function pageEntries(lines, t = Date.now()) {
  const rx = receiver();
  const out = [];
  for (const line of lines) {
    const got = receiveLine(rx, line.text, line.id, t);
    if (got.entry) out.push(got.entry);
  }
  const last = takePiece(rx);
  if (last) out.push(last);
  return out;
}

/** The ids that name the entries (a line in pieces has two: its first's and its last's). */
export function idsOf(entries) {
  const ids = new Set();
  for (const e of entries) {
    if (e.meta) continue;
    ids.add(e.id);
    ids.add(endId(e));
  }
  return ids;
}

/** The entries whose line is not among known ids. */
export function unseen(entries, known) {
  return entries.filter((e) => !known.has(e.id) && !known.has(endId(e)));
}

/** The entry of the line with id (its own id or its last piece's), or null. */
export function entryWithId(entries, id) {
  return entries.find((e) => !e.meta && (e.id === id || endId(e) === id)) || null;
}
