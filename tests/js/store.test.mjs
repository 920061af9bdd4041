import assert from "node:assert/strict";
import { describe, test } from "node:test";

import * as store from "../../web/store.js";

// Entries as filter.js leaves them: shown, with a match count.
const line = (n, shown = true, count = shown ? 1 : 0) => ({ meta: false, raw: `line ${n}`, id: `a-${n}-f`, shown, count });
const meta = (kind) => ({ meta: true, kind, raw: kind, shown: true, count: 0 });
const raws = (entries) => entries.map((e) => e.raw);

describe("append and trim", () => {
  test("entries are kept oldest first, up to keep", () => {
    const s = store.createStore();
    store.append(s, [line(1), line(2)], 3, false);
    const { added, removed } = store.append(s, [line(3), line(4)], 3, false);
    assert.deepEqual(raws(s.entries), ["line 2", "line 3", "line 4"]);
    assert.deepEqual(raws(added), ["line 3", "line 4"]);
    assert.deepEqual(raws(removed), ["line 1"]);
    assert.equal(s.lines, 3);
  });

  test("a batch larger than keep keeps only its newest entries", () => {
    const s = store.createStore();
    store.append(s, [line(0)], 3, false);
    const batch = [1, 2, 3, 4, 5].map((n) => line(n));
    const { added, removed } = store.append(s, batch, 3, false);
    assert.deepEqual(raws(added), ["line 3", "line 4", "line 5"]);
    assert.deepEqual(raws(removed), ["line 0"]);
    assert.deepEqual(raws(s.entries), ["line 3", "line 4", "line 5"]);
  });

  test("a smaller keep trims the oldest", () => {
    const s = store.createStore();
    store.append(s, [1, 2, 3, 4].map((n) => line(n)), 10, false);
    assert.deepEqual(raws(store.trim(s, 2, false)), ["line 1", "line 2"]);
    assert.deepEqual(store.trim(s, 2, false), []);
    assert.equal(s.lines, 2);
  });

  test("file-event rows are kept but not counted as lines", () => {
    const s = store.createStore();
    store.append(s, [line(1), meta("truncated"), line(2)], 10, false);
    assert.equal(s.entries.length, 3);
    assert.equal(s.lines, 2);
  });

  test("while filtering, matching lines and their matches are counted", () => {
    const s = store.createStore();
    store.append(s, [line(1, true, 2), line(2, false), line(3, true, 1)], 10, true);
    assert.deepEqual([s.lines, s.matchLines, s.matchCount], [3, 2, 3]);
    store.trim(s, 1, true);
    assert.deepEqual([s.lines, s.matchLines, s.matchCount], [1, 1, 1]);
  });

  test("without a filter, matches are not counted", () => {
    const s = store.createStore();
    store.append(s, [line(1, true, 2)], 10, false);
    assert.deepEqual([s.lines, s.matchLines, s.matchCount], [1, 0, 0]);
  });
});

describe("incoming, held and recount", () => {
  test("the queue is taken whole, in order", () => {
    const s = store.createStore();
    store.enqueue(s, line(1), true, 100);
    store.enqueue(s, line(2), true, 100);
    assert.deepEqual(raws(store.takeIncoming(s)), ["line 1", "line 2"]);
    assert.deepEqual(s.incoming, []);
  });

  test("a hidden tab's queue keeps only what the page would keep", () => {
    const s = store.createStore();
    for (let n = 1; n <= 201; n++) store.enqueue(s, line(n), true, 100);
    assert.equal(s.incoming.length, 100);
    assert.equal(s.incoming[0].raw, "line 102");
  });

  test("while paused, nothing queued is dropped", () => {
    const s = store.createStore();
    for (let n = 1; n <= 500; n++) store.enqueue(s, line(n), false, 100);
    assert.equal(s.incoming.length, 500);
  });

  test("held entries wait, counted when they pass the filter", () => {
    const s = store.createStore();
    store.hold(s, [line(1), line(2, false), meta("rotated")]);
    store.hold(s, [line(3)]);
    assert.equal(s.heldShown, 2);
    assert.deepEqual(raws(store.release(s)), ["line 1", "line 2", "rotated", "line 3"]);
    assert.deepEqual([s.held.length, s.heldShown], [0, 0]);
  });

  test("recount after the filter changed", () => {
    const s = store.createStore();
    const kept = [line(1), line(2), line(3)];
    store.append(s, kept, 10, false);
    store.hold(s, [line(4), line(5)]);
    kept[0].shown = false;
    s.held[0].shown = false;
    store.recount(s, true);
    assert.deepEqual([s.lines, s.matchLines, s.matchCount, s.heldShown], [3, 2, 2, 1]);
  });

  test("count adds and removes one entry", () => {
    const s = store.createStore();
    const e = line(1, true, 4);
    store.count(s, e, 1, true);
    store.count(s, e, -1, true);
    assert.deepEqual([s.lines, s.matchLines, s.matchCount], [0, 0, 0]);
  });

  test("clear empties everything", () => {
    const s = store.createStore();
    store.append(s, [line(1)], 10, true);
    store.hold(s, [line(2)]);
    store.enqueue(s, line(3), true, 10);
    store.clearStore(s);
    assert.deepEqual(s, store.createStore());
  });
});

describe("paused past the keep limit", () => {
  test("the id after the last line kept is remembered (file events aside)", () => {
    const s = store.createStore();
    assert.equal(s.lastKept, null);
    store.append(s, [line(1), line(2)], 10, false);
    assert.equal(s.lastKept, "a-2-f");
    store.append(s, [line(3), meta("rotated")], 10, false);
    assert.equal(s.lastKept, "a-3-f");
    store.append(s, [Object.assign(line(4), { end: "a-9-f" })], 10, false);
    assert.equal(s.lastKept, "a-9-f");
    store.append(s, [5, 6, 7, 8].map((n) => line(n)), 2, false); // a batch beyond keep
    assert.equal(s.lastKept, "a-8-f");
  });

  test("up to keep entries wait, counting queued and held", () => {
    const s = store.createStore();
    store.hold(s, [1, 2, 3].map((n) => line(n)));
    store.enqueue(s, line(4), false, 5);
    store.enqueue(s, line(5), false, 5);
    assert.equal(store.waiting(s), 5);
    assert.equal(store.overflowed(s, 5), false);
    assert.equal(s.overflow, 0);
    assert.equal(store.waiting(s), 5);
  });

  test("past keep, everything waiting is dropped and the overflow recorded", () => {
    const s = store.createStore();
    store.append(s, [line(1)], 5, false);
    store.hold(s, [2, 3, 4, 5].map((n) => line(n)));
    store.enqueue(s, line(6), false, 5);
    store.enqueue(s, line(7), false, 5);
    assert.equal(store.overflowed(s, 5), true);
    assert.deepEqual([s.held.length, s.incoming.length, s.heldShown, s.overflow], [0, 0, 0, 5]);
    assert.deepEqual(store.release(s), []);
    // what is shown stays, and so does the position the lines are read again from
    assert.deepEqual(raws(s.entries), ["line 1"]);
    assert.equal(s.lastKept, "a-1-f");
  });

  test("clear forgets the overflow", () => {
    const s = store.createStore();
    store.hold(s, [1, 2].map((n) => line(n)));
    store.overflowed(s, 1);
    store.clearStore(s);
    assert.deepEqual(s, store.createStore());
  });
});
