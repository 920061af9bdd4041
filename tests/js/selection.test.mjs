import assert from "node:assert/strict";
import { test } from "node:test";

import {
  asSelection,
  colourOf,
  COLOURS,
  crc32,
  eventsPath,
  isSelection,
  ownId,
  selectionFrom,
  selectionTitle,
  shortLabel,
  splitMerged,
  streamNames,
  tags,
  viewPath,
} from "../../web/selection.js";

test("the URL's files, sorted and once each; * stands for every file", () => {
  assert.equal(selectionFrom(new URLSearchParams("")), null);
  assert.equal(selectionFrom(new URLSearchParams("file=")), null);
  assert.deepEqual(selectionFrom(new URLSearchParams("file=b.log&file=a.log&file=b.log")), ["a.log", "b.log"]);
  assert.deepEqual(selectionFrom(new URLSearchParams("file=a.log&file=*")), ["*"]);
  assert.ok(isSelection(["a.log"]) && isSelection("*") && !isSelection("a.log") && !isSelection(null));
  assert.deepEqual(asSelection("*"), ["*"]);
});

test("stream and page URLs carry the selection", () => {
  assert.equal(eventsPath(["a.log", "b.log"]), "events?file=a.log&file=b.log");
  assert.equal(eventsPath(["*"], { lines: "20" }), "events?file=*&lines=20");
  assert.equal(eventsPath(["a.log"], { after: "m.abc123x-1-2", lines: "5" }), "events?file=a.log&after=m.abc123x-1-2");
  assert.equal(viewPath(["a.log", "b.log"], false), "view?file=a.log&file=b.log");
  assert.equal(viewPath(["*"], true), "embed?file=*");
});

test("titles, labels and colours", () => {
  assert.equal(selectionTitle(["*"]), "All files");
  assert.equal(selectionTitle(["a.log", "b.log"]), "a.log + b.log");
  assert.equal(selectionTitle(["a", "b", "c", "d", "e"]), "a + b + 3 more");
  assert.equal(shortLabel("nginx-access.log"), "nginx-access");
  assert.equal(shortLabel(".log"), ".log");
  assert.equal(shortLabel("a-very-long-service-name.log").length, 18);
  const names = ["a.log", "b.log", "c.log"];
  assert.deepEqual(names.map((n) => colourOf(n, names)), [0, 1, 2]);
  assert.ok(colourOf("other.log", names) < COLOURS);
  assert.deepEqual(streamNames(["*"], [{ name: "z.log" }, { name: "m.log" }]), ["m.log", "z.log"]);
  assert.deepEqual(streamNames(["b.log"], [{ name: "z.log" }]), ["b.log"]);
});

test("a merged line's data is its file, a newline, then the line (which may hold more newlines)", () => {
  assert.deepEqual(splitMerged("b.log\nhello"), ["b.log", "hello"]);
  assert.deepEqual(splitMerged("b.log\n"), ["b.log", ""]);
  assert.deepEqual(splitMerged("b.log\na\nb"), ["b.log", "a\nb"]);
  assert.deepEqual(splitMerged("b.log"), ["b.log", ""]);
});

test("CRC-32 is zlib's (the standard check value)", () => {
  assert.equal(crc32("123456789"), 0xcbf43926);
  assert.equal(crc32(""), 0);
});

test("tags are 6 hex digits of the name's CRC-32, unique within a stream", () => {
  const names = ["a.log", "b.log", "c.log"];
  const t = tags(names);
  assert.deepEqual(t, names.map((n) => (crc32(n) & 0xffffff).toString(16).padStart(6, "0")));
  assert.ok(t.every((x) => /^[0-9a-f]{6}$/.test(x)));
  // The same name twice (never in one stream, but it shows the salting): the second differs.
  const twice = tags(["a.log", "a.log"]);
  assert.notEqual(twice[0], twice[1]);
  assert.equal(twice[1], (crc32("a.log\u00001") & 0xffffff).toString(16).padStart(6, "0"));
});

test("a file's own id inside a merged id", () => {
  const names = ["a.log", "b.log", "c.log"];
  const [ta, tb, tc] = tags(names);
  const id = `m.${ta}e3-60-50de.${tb}e4-88-9ecb-p.${tc}_`;
  assert.equal(ownId(id, "a.log", names), "e3-60-50de");
  assert.equal(ownId(id, "b.log", names), "e4-88-9ecb-p");
  assert.equal(ownId(id, "c.log", names), null); // missing: no position
  assert.equal(ownId(id, "d.log", names), null);
  assert.equal(ownId("e3-60-50de", "a.log", names), null); // not a merged id
  // A name the page did not know of (a file that came later): found by its own tag.
  assert.equal(ownId(id, "b.log", ["a.log"]), "e4-88-9ecb-p");
});
