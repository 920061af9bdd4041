// Event ids. A line's id names its place in the file: <inode hex>-<end offset>-<fingerprint
// hex>, with -p when it is a piece of an over-long line. Other ids (merged streams, Redis)
// are opaque. Pure: no DOM.

const ID_RE = /^([0-9a-f]+)-(\d+)-[0-9a-f]+(-p)?$/;

/** {ino, offset, piece} for a file line's id, or null for any other id. */
export function parseId(id) {
  const m = ID_RE.exec(id || "");
  return m ? { ino: m[1], offset: +m[2], piece: !!m[3] } : null;
}

/** Whether the line at pos was already received when the last one was at last. */
export function isRepeat(pos, last) {
  return !!last && pos.ino === last.ino && pos.offset <= last.offset;
}
