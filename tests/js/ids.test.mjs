import assert from "node:assert/strict";
import { test } from "node:test";

import { isRepeat, parseId, parseRedisId, positionOf } from "../../web/ids.js";

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

test("a Redis stream entry's id: milliseconds and sequence", () => {
  assert.deepEqual(parseRedisId("1700000000000-0"), { ms: "1700000000000", seq: "0" });
  assert.deepEqual(parseRedisId("0-1"), { ms: "0", seq: "1" });
  assert.deepEqual(parseRedisId("007-010"), { ms: "7", seq: "10" });
  for (const id of ["", null, undefined, "1a-0", "1-2-3", "17-", "-0", "1-2-p", " 1-2", "1~2"]) {
    assert.equal(parseRedisId(id), null, String(id));
  }
});

test("positions: file ids and Redis ids are told apart, merged ids stay opaque", () => {
  assert.deepEqual(positionOf("1a2b-1024-9f3e"), { ino: "1a2b", offset: 1024, piece: false });
  assert.deepEqual(positionOf("1700000000000-3"), { ms: "1700000000000", seq: "3" });
  assert.equal(positionOf("1-2-3~4-5-6"), null);
  assert.equal(positionOf("opaque"), null);
});

test("Redis repeats: at or before the last entry, compared as numbers", () => {
  const last = positionOf("1700000000500-2");
  assert.equal(isRepeat(positionOf("1700000000500-2"), last), true);
  assert.equal(isRepeat(positionOf("1700000000500-1"), last), true);
  assert.equal(isRepeat(positionOf("1700000000499-9"), last), true);
  assert.equal(isRepeat(positionOf("999999999999-99"), last), true); // fewer digits, smaller
  assert.equal(isRepeat(positionOf("1700000000500-3"), last), false);
  assert.equal(isRepeat(positionOf("1700000000500-10"), last), false); // 10 > 2, not "10" < "2"
  assert.equal(isRepeat(positionOf("1700000000501-0"), last), false);
  // beyond 2**53 too
  assert.equal(isRepeat(positionOf("5-18446744073709551614"), positionOf("5-18446744073709551615")), true);
  assert.equal(isRepeat(positionOf("5-18446744073709551615"), positionOf("5-18446744073709551614")), false);
});

test("positions of different kinds are never repeats", () => {
  assert.equal(isRepeat(positionOf("1700000000500-2"), positionOf("a-99999999999999-f")), false);
  assert.equal(isRepeat(positionOf("a-1-f"), positionOf("1700000000500-2")), false);
});
