// Event ids. A line's id names its place in the file: <inode hex>-<end offset>-<fingerprint
// hex>, with -p when it is a piece of an over-long line. From a Redis stream (serve --redis)
// it is the stream entry's id, <milliseconds>-<sequence>, which only grows. Other ids
// (merged streams) are opaque. Pure: no DOM.

const ID_RE = /^([0-9a-f]+)-(\d+)-[0-9a-f]+(-p)?$/;
const REDIS_RE = /^(\d+)-(\d+)$/;

/** {ino, offset, piece} for a file line's id, or null for any other id. */
export function parseId(id) {
  const m = ID_RE.exec(id || "");
  return m ? { ino: m[1], offset: +m[2], piece: !!m[3] } : null;
}

/** {ms, seq} (decimal strings without leading zeros) for a Redis stream entry id, or null. */
export function parseRedisId(id) {
  const m = REDIS_RE.exec(id || "");
  return m ? { ms: digits(m[1]), seq: digits(m[2]) } : null;
}

/** The position an id names (a file line's or a Redis entry's), or null for opaque ids. */
export function positionOf(id) {
  return parseId(id) || parseRedisId(id);
}

/** Whether the line at pos was already received when the last one was at last. */
export function isRepeat(pos, last) {
  if (!pos || !last) return false;
  if (pos.ino !== undefined && last.ino !== undefined) return pos.ino === last.ino && pos.offset <= last.offset;
  if (pos.ms !== undefined && last.ms !== undefined) {
    const c = compareDigits(pos.ms, last.ms);
    return c < 0 || (c === 0 && compareDigits(pos.seq, last.seq) <= 0);
  }
  return false; // positions of different kinds: a different stream
}

function digits(s) {
  return s.replace(/^0+(?=\d)/, "");
}

// Decimal strings of any length compared as numbers (Redis sequences are 64-bit).
function compareDigits(a, b) {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
