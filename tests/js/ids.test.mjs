import assert from "node:assert/strict";
import { test } from "node:test";

import { isRepeat, parseId } from "../../web/ids.js";

test("a file line's id: inode, end offset, fingerprint", () => {
  assert.deepEqual(parseId("1a2b-1024-9f3e"), { ino: "1a2b", offset: 1024, piece: false });
  assert.deepEqual(parseId("0-0-0"), { ino: "0", offset: 0, piece: false });
});

test("a piece of an over-long line ends in -p", () => {
  assert.deepEqual(parseId("1a2b-64-9f3e-p"), { ino: "1a2b", offset: 64, piece: true });
});

test("other ids are opaque", () => {
  for (const id of ["", null, undefined, "1a2b-10", "1A2B-10-ff", "1a2b-x-ff", "1a2b-10-ff-q", "1-2-3~4-5-6", "1700000000000-0"]) {
    assert.equal(parseId(id), null, String(id));
  }
});

test("repeats: same file, at or before the last position", () => {
  const last = { ino: "a", offset: 100 };
  assert.equal(isRepeat({ ino: "a", offset: 50 }, last), true);
  assert.equal(isRepeat({ ino: "a", offset: 100 }, last), true);
  assert.equal(isRepeat({ ino: "a", offset: 101 }, last), false);
  assert.equal(isRepeat({ ino: "b", offset: 50 }, last), false); // rotated: a new file
  assert.equal(isRepeat({ ino: "a", offset: 50 }, null), false);
});
