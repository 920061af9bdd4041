import assert from "node:assert/strict";
import { test } from "node:test";

import { mergedEventMessage, noticeFile, ownEndId, receiveMergedEvent, receiveMergedLine } from "../../web/merged.js";
import { expectRepeats, receiver, resetReceiver, rewind } from "../../web/receive.js";
import { tags } from "../../web/selection.js";

const NAMES = ["a.log", "b.log"];
const [TA, TB] = tags(NAMES);
// The merged id after a's line ending at offset a and b's ending at b (- : none yet).
const mid = (a, b, pa = "", pb = "") =>
  `m.${TA}${a === null ? "_" : `1a-${a}-f${pa}`}.${TB}${b === null ? "_" : `2b-${b}-e${pb}`}`;
const texts = (results) => results.filter((r) => r.entry).map((r) => `${r.entry.file}|${r.entry.raw}`);

test("each line knows its file, its own id and its colour; the merged id is kept to resume after", () => {
  const rx = receiver();
  const got = receiveMergedLine(rx, "b.log\nhello", mid(null, 6), NAMES, 5);
  assert.equal(got.drop, false);
  assert.equal(got.entry.raw, "hello");
  assert.equal(got.entry.file, "b.log");
  assert.equal(got.entry.own, "2b-6-e");
  assert.equal(got.entry.src, 1);
  assert.equal(got.entry.id, mid(null, 6));
  assert.equal(ownEndId(got.entry), "2b-6-e");
  assert.equal(rx.lastId, mid(null, 6));
  assert.equal(rx.received, 1);
});

test("pieces are joined per file, also when another file's lines come between", () => {
  const rx = receiver();
  const results = [
    receiveMergedLine(rx, "a.log\naaa", mid(3, null, "-p"), NAMES),
    receiveMergedLine(rx, "b.log\nother", mid(3, 6), NAMES),
    receiveMergedLine(rx, "a.log\nbbb", mid(10, 6), NAMES),
    receiveMergedLine(rx, "a.log\nnext", mid(15, 6), NAMES),
  ];
  assert.deepEqual(texts(results), ["b.log|other", "a.log|aaabbb", "a.log|next"]);
  const joined = results[2].entry;
  assert.equal(joined.end, mid(10, 6));
  assert.equal(ownEndId(joined), "1a-10-f");
});

test("after our own reconnect, repeats are dropped file by file", () => {
  const rx = receiver();
  receiveMergedLine(rx, "a.log\na1", mid(3, null), NAMES);
  receiveMergedLine(rx, "b.log\nb1", mid(3, 4), NAMES);
  receiveMergedLine(rx, "a.log\na2", mid(6, 4), NAMES);
  expectRepeats(rx);
  const results = [
    receiveMergedLine(rx, "b.log\nb1", mid(3, 4), NAMES), // again
    receiveMergedLine(rx, "a.log\na2", mid(6, 4), NAMES), // again
    receiveMergedLine(rx, "b.log\nb2", mid(6, 8), NAMES),
    receiveMergedLine(rx, "a.log\na3", mid(9, 8), NAMES),
  ];
  assert.deepEqual(results.map((r) => r.drop), [true, true, false, false]);
  assert.deepEqual(texts(results), ["b.log|b2", "a.log|a3"]);
});

test("a rotation or truncation of one file ends its repeats and its piece, not the other's", () => {
  const rx = receiver();
  receiveMergedLine(rx, "a.log\na1", mid(9, null), NAMES);
  receiveMergedLine(rx, "b.log\npart", mid(9, 4, "", "-p"), NAMES);
  expectRepeats(rx);
  const truncated = JSON.stringify({ file: "a.log", message: "file truncated" });
  assert.equal(receiveMergedEvent(rx, "truncated", truncated), null);
  assert.equal(receiveMergedLine(rx, "a.log\nnew", mid(3, 4), NAMES).drop, false); // after the truncation
  const piece = receiveMergedEvent(rx, "rotated", JSON.stringify({ file: "b.log", message: "file rotated" }));
  assert.equal(piece.raw, "part");
  assert.equal(receiveMergedEvent(rx, "missing", "not json"), null);
  assert.equal(mergedEventMessage("truncated", truncated), "a.log: file truncated");
  assert.equal(mergedEventMessage("lost", "{}"), "lost");
  assert.equal(noticeFile("[]"), "");
});

test("rewinding and starting over forget the files' state", () => {
  const rx = receiver();
  receiveMergedLine(rx, "a.log\na1", mid(3, null, "-p"), NAMES);
  rewind(rx, mid(1, null));
  assert.equal(rx.files, null);
  assert.equal(rx.lastId, mid(1, null));
  receiveMergedLine(rx, "a.log\na1", mid(3, null), NAMES);
  resetReceiver(rx);
  assert.equal(rx.files, null);
  assert.equal(rx.received, 0);
});

test("a merged view's download says each line's file", async () => {
  const { downloadText } = await import("../../web/format.js");
  const rx = receiver();
  const entries = [
    receiveMergedLine(rx, "a.log\nfirst", mid(6, null), NAMES).entry,
    receiveMergedLine(rx, "b.log\nsecond", mid(6, 7), NAMES).entry,
  ];
  for (const e of entries) e.shown = true;
  entries.push({ meta: true, raw: "b.log: file rotated", shown: true, t: 0 });
  assert.equal(downloadText(entries, { json: false, time: false }), "a.log | first\nb.log | second\n--- b.log: file rotated ---\n");
});
