// A merged stream's events, received: each line's file and its own position in that file
// (selection.js), repeats after a reconnect of our own dropped file by file, the pieces of
// an over-long line joined per file (pieces of two files may come interleaved), and file
// notices said with the file's name. Pure: no DOM. The state is receive.js's, plus `files`.

import { isRepeat, parseId } from "./ids.js";
import { fileEventMessage, lineEntry } from "./lines.js";
import { PIECE_LIMIT } from "./receive.js";
import { colourOf, ownId, splitMerged } from "./selection.js";

// After these, a file's lines are new even where their positions look old.
const RESTARTS = ["rotated", "truncated", "lost", "appeared"];

function fileState(rx, name) {
  if (!rx.files) rx.files = new Map();
  let f = rx.files.get(name);
  if (!f) {
    f = { lastPos: null, dedupe: false, piece: null };
    rx.files.set(name, f);
  }
  return f;
}

/**
 * Takes one line event of a merged stream (names: the stream's files, in name order).
 * Returns {drop} for a line already shown, else {entry}: a complete line (null while
 * pieces arrive) with entry.file (its file), entry.own (its id in its file) and entry.src
 * (its label colour). The merged id is kept as rx.lastId: streams resume after it.
 */
export function receiveMergedLine(rx, data, id, names, t = Date.now()) {
  const [name, text] = splitMerged(data);
  const own = ownId(id, name, names);
  const pos = parseId(own);
  const f = fileState(rx, name);
  if (pos) {
    if (f.dedupe && isRepeat(pos, f.lastPos)) return { drop: true, entry: null, pause: false };
    f.dedupe = false;
    f.lastPos = pos;
  }
  if (id) rx.lastId = id;
  rx.received++;
  const isPiece = !!(pos && pos.piece);
  if (f.piece) {
    f.piece.raw += text;
    f.piece.end = id;
    f.piece.ownEnd = own;
    if (isPiece && f.piece.raw.length < PIECE_LIMIT) return { drop: false, entry: null, pause: false };
    const whole = f.piece;
    f.piece = null;
    return { drop: false, entry: whole, pause: false };
  }
  const e = lineEntry(text, id, t);
  e.file = name;
  e.own = own;
  e.src = colourOf(name, names);
  if (isPiece) {
    f.piece = e;
    return { drop: false, entry: null, pause: false };
  }
  return { drop: false, entry: e, pause: false };
}

/** The file a merged notice names (its JSON's "file"), or "". */
export function noticeFile(data) {
  try {
    const body = JSON.parse(data);
    return body && typeof body.file === "string" ? body.file : "";
  } catch {
    return "";
  }
}

/** A merged notice's message, led by its file's name. */
export function mergedEventMessage(kind, data) {
  const file = noticeFile(data);
  const message = fileEventMessage(kind, data);
  return file ? `${file}: ${message}` : message;
}

/** Takes a notice of a merged stream: returns its file's line being joined, if any, now complete. */
export function receiveMergedEvent(rx, kind, data) {
  const name = noticeFile(data);
  if (!name || !rx.files || !rx.files.has(name)) return null;
  const f = rx.files.get(name);
  if (RESTARTS.includes(kind)) f.dedupe = false;
  const piece = f.piece;
  f.piece = null;
  return piece;
}

/** The id a link to this line uses: its own id in its file (its last piece's, if in pieces). */
export function ownEndId(e) {
  return e.ownEnd || e.own || null;
}
