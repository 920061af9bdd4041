// From line events to entries: repeats after a reconnect of our own are dropped, the pieces
// of an over-long line are joined, and follow=0 learns when the file grew past its size.
// Pure: no DOM. The state is the `stream` part of state.js.

import { isRepeat, parseId } from "./ids.js";
import { lineEntry } from "./lines.js";

// Pieces of an over-long line are joined up to this many characters.
export const PIECE_LIMIT = 262144;

/** The receiving state of one stream. */
export function receiver() {
  return { lastPos: null, dedupe: false, pauseAt: null, piece: null, received: 0 };
}

/**
 * Takes one line event. Returns {drop} for a line already shown, else {entry, pause}:
 * entry is a complete line (or null while pieces arrive); pause says follow=0's limit was
 * just passed.
 */
export function receiveLine(rx, data, id, t = Date.now()) {
  const pos = parseId(id);
  let pause = false;
  if (pos) {
    if (rx.dedupe && isRepeat(pos, rx.lastPos)) return { drop: true, entry: null, pause };
    rx.dedupe = false;
    rx.lastPos = pos;
    if (rx.pauseAt !== null && pos.offset > rx.pauseAt) {
      rx.pauseAt = null;
      pause = true;
    }
  }
  rx.received++;
  const isPiece = !!(pos && pos.piece);
  if (rx.piece) {
    rx.piece.raw += data;
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

/** Before reconnecting ourselves: drop what the new stream sends again. */
export function expectRepeats(rx) {
  rx.dedupe = rx.lastPos !== null;
}

/** Starting another file: forget the last one's position and pieces. */
export function resetReceiver(rx) {
  rx.lastPos = null;
  rx.dedupe = false;
  rx.piece = null;
  rx.received = 0;
}
