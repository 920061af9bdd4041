import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { endId } from "../../web/lines.js";
import * as pages from "../../web/pages.js";
import * as store from "../../web/store.js";

// Lines as api/lines answers with them, and entries as the page keeps them.
const line = (n, piece = false) => ({ id: `a-${n}-f${piece ? "-p" : ""}`, text: `line ${n}` });
const lines = (from, to) => Array.from({ length: to - from }, (_, i) => line(from + i));
const shown = (entries) => entries.map((e) => Object.assign(e, { shown: true, count: 0 }));
const raws = (s) => s.entries.map((e) => e.raw);

describe("what to ask for", () => {
  test("a page is a quarter of what the page keeps, within limits", () => {
    assert.equal(pages.pageSize(10000), 2500);
    assert.equal(pages.pageSize(100), 50);
    assert.equal(pages.pageSize(1000000), pages.MAX_PAGE);
  });

  test("older lines: before the oldest kept, one more since it comes back; else the end", () => {
    assert.deepEqual(pages.olderQuery("a-10-f", 50), { before: "a-10-f", count: 51 });
    assert.deepEqual(pages.olderQuery(null, 50), { before: "end", count: 50 });
  });

  test("newer lines: after the newest kept, else from the first line of the file", () => {
    assert.deepEqual(pages.newerQuery("a-10-f", 50), { after: "a-10-f", count: 50 });
    assert.deepEqual(pages.newerQuery(null, 50), { after: "start", count: 50 });
  });

  test("a line in context: it and half a page before, half a page after", () => {
    assert.deepEqual(pages.contextQueries("a-10-f", 100), [
      { before: "a-10-f", count: 51 },
      { after: "a-10-f", count: 50 },
    ]);
  });
});

describe("pages of lines", () => {
  test("entries oldest first, with their ids", () => {
    const entries = pages.pageEntries(lines(1, 4), 5);
    assert.deepEqual(
      entries.map((e) => [e.raw, e.id, e.t]),
      [
        ["line 1", "a-1-f", 5],
        ["line 2", "a-2-f", 5],
        ["line 3", "a-3-f", 5],
      ],
    );
  });

  test("the pieces of an over-long line are one entry, ending at its last piece", () => {
    const entries = pages.pageEntries([line(1), line(2, true), line(3, true), line(4), line(5)]);
    assert.deepEqual(
      entries.map((e) => [e.raw, e.id, endId(e)]),
      [
        ["line 1", "a-1-f", "a-1-f"],
        ["line 2line 3line 4", "a-2-f-p", "a-4-f"],
        ["line 5", "a-5-f", "a-5-f"],
      ],
    );
  });

  test("a page ending inside a long line keeps what it has", () => {
    const entries = pages.pageEntries([line(1), line(2, true)]);
    assert.deepEqual(
      entries.map((e) => e.raw),
      ["line 1", "line 2"],
    );
  });

  test("what the page has is left out, by either id of a line", () => {
    const kept = pages.pageEntries([line(1), line(2, true), line(3)]);
    const known = pages.idsOf(kept);
    assert.deepEqual([...known].sort(), ["a-1-f", "a-2-f-p", "a-3-f"]);
    const page = [line(0), line(1), line(2, true), line(3), line(4)];
    const fresh = pages.unseen(pages.pageEntries(page), known);
    assert.deepEqual(
      fresh.map((e) => e.raw),
      ["line 0", "line 4"],
    );
  });

  test("the entry of an id", () => {
    const entries = pages.pageEntries([line(1), line(2, true), line(3)]);
    assert.equal(pages.entryWithId(entries, "a-1-f").raw, "line 1");
    assert.equal(pages.entryWithId(entries, "a-3-f").raw, "line 2line 3");
    assert.equal(pages.entryWithId(entries, "a-9-f"), null);
  });
});

describe("the window the page keeps", () => {
  test("older lines come in at the top; past keep the newest go and the page is detached", () => {
    const s = store.createStore();
    store.append(s, shown(pages.pageEntries(lines(10, 14))), 6, false);
    assert.equal(s.lastKept, "a-13-f");
    const { added, removed } = store.prepend(s, shown(pages.pageEntries(lines(7, 10))), 6, false);
    assert.deepEqual(raws(s), ["line 7", "line 8", "line 9", "line 10", "line 11", "line 12"]);
    assert.equal(added.length, 3);
    assert.deepEqual(
      removed.map((e) => e.raw),
      ["line 13"],
    );
    assert.equal(s.detached, true);
    assert.equal(s.lastKept, "a-12-f");
    assert.equal(store.firstLineId(s), "a-7-f");
    assert.equal(s.lines, 6);
  });

  test("within keep nothing goes and the page stays at the end", () => {
    const s = store.createStore();
    store.append(s, shown(pages.pageEntries(lines(10, 12))), 6, false);
    store.prepend(s, shown(pages.pageEntries(lines(8, 10))), 6, false);
    assert.equal(s.detached, false);
    assert.equal(s.lastKept, "a-11-f");
  });

  test("newer lines at the bottom push the oldest out: there are older lines again", () => {
    const s = store.createStore();
    store.append(s, shown(pages.pageEntries(lines(0, 3))), 3, false);
    s.older = false;
    store.append(s, shown(pages.pageEntries(lines(3, 4))), 3, false);
    assert.equal(s.older, true);
    assert.deepEqual(raws(s), ["line 1", "line 2", "line 3"]);
  });

  test("the first page into an empty window sets where the stream resumes", () => {
    const s = store.createStore();
    store.prepend(s, shown(pages.pageEntries(lines(0, 3))), 10, false);
    assert.equal(s.lastKept, "a-2-f");
  });

  test("paging up and down stays exact: every line once, in order", () => {
    const file = lines(0, 1000);
    const api = {
      before(id, count) {
        const i = file.findIndex((l) => l.id === id);
        return file.slice(Math.max(0, i + 1 - count), i + 1);
      },
      after(id, count) {
        const i = file.findIndex((l) => l.id === id);
        return file.slice(i + 1, i + 1 + count);
      },
    };
    const keep = 200;
    const size = pages.pageSize(keep);
    const s = store.createStore();
    store.append(s, shown(pages.pageEntries(file.slice(-100))), keep, false);
    while (store.firstLineId(s) !== "a-0-f") {
      const q = pages.olderQuery(store.firstLineId(s), size);
      const fresh = pages.unseen(pages.pageEntries(api.before(q.before, q.count)), pages.idsOf(s.entries.slice(0, 10)));
      store.prepend(s, shown(fresh), keep, false);
    }
    assert.deepEqual(raws(s), file.slice(0, keep).map((l) => l.text));
    assert.equal(s.detached, true);
    while (s.lastKept !== "a-999-f") {
      const q = pages.newerQuery(s.lastKept, size);
      const fresh = pages.unseen(pages.pageEntries(api.after(q.after, q.count)), pages.idsOf(s.entries.slice(-10)));
      store.append(s, shown(fresh), keep, false);
    }
    assert.deepEqual(raws(s), file.slice(-keep).map((l) => l.text));
  });
});
