import assert from "node:assert/strict";
import { test } from "node:test";

import { endId } from "../../web/lines.js";
import {
  expectRepeats,
  PIECE_LIMIT,
  receiveFileEvent,
  receiveLine,
  receiver,
  resetReceiver,
  rewind,
  takePiece,
} from "../../web/receive.js";

const texts = (results) => results.filter((r) => r.entry).map((r) => r.entry.raw);

test("whole lines become entries at once", () => {
  const rx = receiver();
  const got = receiveLine(rx, "hello", "a-6-f", 5);
  assert.equal(got.drop, false);
  assert.equal(got.pause, false);
  assert.deepEqual(got.entry, { meta: false, raw: "hello", id: "a-6-f", t: 5, plain: null, node: null });
  assert.equal(rx.received, 1);
  assert.deepEqual(rx.lastPos, { ino: "a", offset: 6, piece: false });
});

test("pieces of an over-long line are joined into one entry", () => {
  const rx = receiver();
  const results = [
    receiveLine(rx, "aaa", "a-3-f-p"),
    receiveLine(rx, "bbb", "a-6-f-p"),
    receiveLine(rx, "ccc", "a-10-f"),
    receiveLine(rx, "next", "a-15-f"),
  ];
  assert.deepEqual(texts(results), ["aaabbbccc", "next"]);
  assert.equal(rx.piece, null);
  assert.equal(rx.received, 4);
});

test("a joined line stops growing at the limit", () => {
  const rx = receiver();
  const big = "x".repeat(PIECE_LIMIT / 2);
  const results = [receiveLine(rx, big, "a-1-f-p"), receiveLine(rx, big, "a-2-f-p"), receiveLine(rx, "rest", "a-3-f")];
  assert.deepEqual(
    texts(results).map((t) => t.length),
    [PIECE_LIMIT, 4],
  );
});

test("a file event completes the line being joined", () => {
  const rx = receiver();
  receiveLine(rx, "part", "a-4-f-p");
  assert.equal(takePiece(rx).raw, "part");
  assert.equal(takePiece(rx), null);
});

test("after our own reconnect, lines already received are dropped", () => {
  const rx = receiver();
  receiveLine(rx, "one", "a-4-f");
  receiveLine(rx, "two", "a-8-f");
  expectRepeats(rx);
  assert.equal(receiveLine(rx, "one", "a-4-f").drop, true);
  assert.equal(receiveLine(rx, "two", "a-8-f").drop, true);
  assert.equal(receiveLine(rx, "three", "a-14-f").entry.raw, "three");
  // once past, an earlier offset is a new line (the file was truncated)
  assert.equal(receiveLine(rx, "again", "a-6-f").entry.raw, "again");
  assert.equal(rx.received, 4);
});

test("nothing is dropped before any line was received, or without file ids", () => {
  const rx = receiver();
  expectRepeats(rx);
  assert.equal(rx.dedupe, false);
  rx.dedupe = true;
  assert.equal(receiveLine(rx, "merged", "opaque-id").entry.raw, "merged");
});

test("follow=0 pauses once a line ends beyond the file's size", () => {
  const rx = receiver();
  rx.pauseAt = 10;
  assert.equal(receiveLine(rx, "old", "a-10-f").pause, false);
  const got = receiveLine(rx, "new", "a-14-f");
  assert.equal(got.pause, true);
  assert.equal(got.entry.raw, "new");
  assert.equal(rx.pauseAt, null);
  assert.equal(receiveLine(rx, "newer", "a-20-f").pause, false);
});

test("reset forgets the file", () => {
  const rx = receiver();
  receiveLine(rx, "p", "a-1-f-p");
  resetReceiver(rx);
  assert.deepEqual({ ...rx, pauseAt: null }, receiver());
});

test("the last id received is kept, whatever its kind", () => {
  const rx = receiver();
  assert.equal(rx.lastId, null);
  receiveLine(rx, "file", "a-4-f");
  assert.equal(rx.lastId, "a-4-f");
  receiveLine(rx, "redis", "1700000000000-0");
  assert.equal(rx.lastId, "1700000000000-0");
  receiveLine(rx, "merged", "1-2-3~4-5-6");
  assert.equal(rx.lastId, "1-2-3~4-5-6");
  expectRepeats(rx);
  receiveLine(rx, "merged", "1-2-3~4-5-6");
  assert.equal(rx.lastId, "1-2-3~4-5-6");
});

test("a repeat dropped leaves the last id where it was", () => {
  const rx = receiver();
  receiveLine(rx, "one", "a-4-f");
  receiveLine(rx, "two", "a-8-f");
  expectRepeats(rx);
  assert.equal(receiveLine(rx, "one", "a-4-f").drop, true);
  assert.equal(rx.lastId, "a-8-f");
});

test("Redis ids: after our own reconnect, entries already received are dropped", () => {
  const rx = receiver();
  receiveLine(rx, "one", "1700000000000-0");
  receiveLine(rx, "two", "1700000000000-1");
  receiveLine(rx, "three", "1700000000001-0");
  assert.deepEqual(rx.lastPos, { ms: "1700000000001", seq: "0" });
  expectRepeats(rx);
  assert.equal(rx.dedupe, true);
  assert.equal(receiveLine(rx, "two", "1700000000000-1").drop, true);
  assert.equal(receiveLine(rx, "three", "1700000000001-0").drop, true);
  assert.equal(receiveLine(rx, "four", "1700000000001-1").entry.raw, "four");
  assert.equal(rx.dedupe, false);
  assert.equal(rx.received, 4);
  assert.equal(rx.lastId, "1700000000001-1");
});

test("follow=0 looks at file offsets only", () => {
  const rx = receiver();
  rx.pauseAt = 10;
  assert.equal(receiveLine(rx, "redis", "1700000000000-5").pause, false);
  assert.equal(rx.pauseAt, 10);
});

test("a joined line ends at its last piece's id", () => {
  const rx = receiver();
  receiveLine(rx, "aaa", "a-3-f-p");
  const whole = receiveLine(rx, "bbb", "a-7-f").entry;
  assert.equal(whole.id, "a-3-f-p");
  assert.equal(endId(whole), "a-7-f");
  assert.equal(endId(receiveLine(rx, "one", "a-11-f").entry), "a-11-f");
});

test("after a file that starts again, lines are new even at old positions", () => {
  for (const kind of ["truncated", "lost", "rotated", "appeared"]) {
    const rx = receiver();
    receiveLine(rx, "one", "a-4-f");
    receiveLine(rx, "two", "a-8-f");
    expectRepeats(rx);
    assert.equal(receiveFileEvent(rx, kind), null);
    assert.equal(receiveLine(rx, "again", "a-4-f").entry.raw, "again", kind);
  }
  const rx = receiver();
  receiveLine(rx, "part", "a-4-f-p");
  expectRepeats(rx);
  assert.equal(receiveFileEvent(rx, "unavailable").raw, "part");
  assert.equal(rx.dedupe, true);
});

test("rewind: the next stream resumes after the line given, pieces forgotten", () => {
  const rx = receiver();
  receiveLine(rx, "one", "a-4-f");
  receiveLine(rx, "two", "a-8-f");
  receiveLine(rx, "part", "a-12-f-p");
  rewind(rx, "a-4-f");
  assert.equal(rx.lastId, "a-4-f");
  assert.deepEqual(rx.lastPos, { ino: "a", offset: 4, piece: false });
  assert.equal(rx.piece, null);
  assert.equal(rx.dedupe, false);
  assert.equal(receiveLine(rx, "two", "a-8-f").entry.raw, "two");
  rewind(rx, null);
  assert.equal(rx.lastId, null);
  assert.equal(rx.lastPos, null);
});
