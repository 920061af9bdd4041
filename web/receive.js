// From line events to entries: the last id is kept (every stream the viewer opens again
// resumes after it), repeats after a reconnect of our own are dropped, the pieces of an
// over-long line are joined, and follow=0 learns when the file grew past its size.
// Pure: no DOM. The state is the `stream` part of state.js.

import { isRepeat, positionOf } from "./ids.js";
import { lineEntry } from "./lines.js";

// Pieces of an over-long line are joined up to this many characters.
export const PIECE_LIMIT = 262144;

/** The receiving state of one stream. */
export function receiver() {
  // lastId: the id of the last line event taken; lastPos: its position, when it names one.
  // files: a merged stream's state per file (merged.js), or null.
  return { lastId: null, lastPos: null, dedupe: false, pauseAt: null, piece: null, received: 0, files: null };
}

/**
 * Takes one line event. Returns {drop} for a line already shown, else {entry, pause}:
 * entry is a complete line (or null while pieces arrive); pause says follow=0's limit was
 * just passed.
 */
export function receiveLine(rx, data, id, t = Date.now()) {
  const pos = positionOf(id);
  let pause = false;
  if (pos) {
    if (rx.dedupe && isRepeat(pos, rx.lastPos)) return { drop: true, entry: null, pause };
    rx.dedupe = false;
    rx.lastPos = pos;
    if (rx.pauseAt !== null && pos.offset !== undefined && pos.offset > rx.pauseAt) {
      rx.pauseAt = null;
      pause = true;
    }
  }
  if (id) rx.lastId = id;
  rx.received++;
  const isPiece = !!(pos && pos.piece);
  if (rx.piece) {
    rx.piece.raw += data;
    rx.piece.end = id; // the stream resumes after the last piece taken
    if (isPiece && rx.piece.raw.length < PIECE_LIMIT) return { drop: false, entry: null, pause };
    const whole = rx.piece;
    rx.piece = null;
    return { drop: false, entry: whole, pause };
  }
  const e = lineEntry(data, id, t);
  if (isPiece) {
    rx.piece = e;
    return { drop: false, entry: null, pause };
  }
  return { drop: false, entry: e, pause };
}

/** The line being joined, if any, now complete (a file event ends it). */
export function takePiece(rx) {
  const e = rx.piece;
  rx.piece = null;
  return e;
}

// After these, the lines that follow are new even where their positions look old.
const RESTARTS = ["rotated", "truncated", "lost", "appeared"];

/** Takes a file event: returns the line being joined, if any, now complete. */
export function receiveFileEvent(rx, kind) {
  if (RESTARTS.includes(kind)) rx.dedupe = false;
  return takePiece(rx);
}

/** Before reconnecting ourselves: drop what the new stream sends again. */
export function expectRepeats(rx) {
  rx.dedupe = rx.lastPos !== null;
  if (rx.files) for (const f of rx.files.values()) f.dedupe = f.lastPos !== null;
}

/**
 * The lines after id were dropped unseen: the next stream resumes after id (null: nothing
 * was kept, so it starts with a backlog), and a line being joined is forgotten.
 */
export function rewind(rx, id) {
  rx.lastId = id || null;
  rx.lastPos = positionOf(id);
  rx.piece = null;
  rx.dedupe = false;
  rx.files = null;
}

/** Starting another file: forget the last one's position and pieces. */
export function resetReceiver(rx) {
  rx.lastId = null;
  rx.lastPos = null;
  rx.dedupe = false;
  rx.piece = null;
  rx.received = 0;
  rx.files = null;
}
