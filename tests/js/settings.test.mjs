import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  backlogLines,
  clampKeep,
  DEFAULT_KEEP,
  flag,
  lineAt,
  linePath,
  MAX_KEEP,
  MIN_KEEP,
  nameFromPath,
  nextTheme,
  pagePath,
  pageQuery,
  readOptions,
} from "../../web/settings.js";

const params = (q) => new URLSearchParams(q);

test("flags: the usual spellings, anything else is the fallback", () => {
  for (const on of ["1", "true", "ON", "Yes"]) assert.equal(flag(on, false), true, on);
  for (const off of ["0", "false", "Off", "NO"]) assert.equal(flag(off, true), false, off);
  for (const other of [null, undefined, "", "maybe", "2"]) {
    assert.equal(flag(other, true), true);
    assert.equal(flag(other, false), false);
  }
  assert.equal(flag(1, false), true);
});

test("keep is clamped to its limits; not a number is the default", () => {
  assert.equal(clampKeep("500"), 500);
  assert.equal(clampKeep(500), 500);
  assert.equal(clampKeep("5"), MIN_KEEP);
  assert.equal(clampKeep("-3"), MIN_KEEP);
  assert.equal(clampKeep("99999999"), MAX_KEEP);
  assert.equal(clampKeep("250.9"), 250);
  assert.equal(clampKeep("300 lines"), 300);
  for (const bad of ["", "lots", null, undefined, "Infinity"]) assert.equal(clampKeep(bad), DEFAULT_KEEP, String(bad));
});

describe("readOptions", () => {
  test("defaults", () => {
    assert.deepEqual(readOptions(params("")), {
      theme: "auto",
      wrap: true,
      time: false,
      json: false,
      keep: DEFAULT_KEEP,
      tz: "local",
      follow: true,
      filter: "",
      regex: false,
      matchCase: false,
      levels: null,
      exclude: "",
      highlight: [],
      where: "",
      columns: false,
      fields: [],
    });
  });

  test("the URL wins over what the browser remembered, which wins over defaults", () => {
    const stored = { theme: "dark", wrap: "0", time: "1", keep: "2000" };
    const remembered = (key) => (key in stored ? stored[key] : null);
    const opts = readOptions(params("theme=light&keep=500"), remembered);
    assert.equal(opts.theme, "light");
    assert.equal(opts.keep, 500);
    assert.equal(opts.wrap, false);
    assert.equal(opts.time, true);
    assert.equal(opts.json, false);
  });

  test("the filter, follow, regex and case come only from the URL", () => {
    const remembered = () => "1";
    const opts = readOptions(params("filter=a%20b&regex=1&case=yes&follow=0"), remembered);
    assert.equal(opts.filter, "a b");
    assert.equal(opts.regex, true);
    assert.equal(opts.matchCase, true);
    assert.equal(opts.follow, false);
    assert.equal(readOptions(params(""), remembered).regex, false);
  });

  test("an unknown theme is auto; bad values are their defaults", () => {
    const opts = readOptions(params("theme=solarized&wrap=perhaps&keep=many"));
    assert.equal(opts.theme, "auto");
    assert.equal(opts.wrap, true);
    assert.equal(opts.keep, DEFAULT_KEEP);
    assert.equal(readOptions(params("theme=constructor")).theme, "auto");
  });
});

test("?lines=N: digits only, at most what the server accepts", () => {
  assert.equal(backlogLines(params("lines=250")), "250");
  assert.equal(backlogLines(params("lines=0")), "0");
  assert.equal(backlogLines(params("lines=999999999")), "100000");
  for (const bad of ["", "lines=", "lines=-1", "lines=1e3", "lines=ten", "lines=1234567890"]) {
    assert.equal(backlogLines(params(bad)), null, bad);
  }
});

test("the theme button cycles auto, light, dark", () => {
  assert.equal(nextTheme("auto"), "light");
  assert.equal(nextTheme("light"), "dark");
  assert.equal(nextTheme("dark"), "auto");
});

describe("page URLs", () => {
  test("paths relative to <base>", () => {
    assert.equal(pagePath("app.log", false), "view/app.log");
    assert.equal(pagePath("a b#?.log", true), "embed/a%20b%23%3F.log");
    assert.equal(pagePath(null, false), "./");
  });

  test("the query carries the filter and keeps every other parameter", () => {
    const opts = { filter: "users|disk", regex: true, matchCase: false };
    assert.equal(pageQuery("?theme=dark&filter=old&case=1", opts), "theme=dark&filter=users%7Cdisk&regex=1");
    assert.equal(pageQuery("?keep=500&regex=1", { filter: "", regex: true, matchCase: true }), "keep=500");
    assert.equal(pageQuery("", { filter: "x", regex: false, matchCase: true }), "filter=x&case=1");
  });

  test("the file a path names, under any base", () => {
    assert.equal(nameFromPath("/view/app.log", "/"), "app.log");
    assert.equal(nameFromPath("/logs/embed/a%20b.log", "/logs/"), "a b.log");
    assert.equal(nameFromPath("/logs/", "/logs/"), null);
    assert.equal(nameFromPath("/logs/view/a/b", "/logs/"), null);
    assert.equal(nameFromPath("/logs/static/viewer.js", "/logs/"), null);
  });
});

describe("permalinks", () => {
  test("a line's page names the file and the line's id", () => {
    assert.equal(linePath("app.log", "1a-20-ff"), "view/app.log?at=1a-20-ff");
    assert.equal(linePath("web1/app.log", "1-2"), "view/web1%2Fapp.log?at=1-2");
  });

  test("the line comes from ?at=, and is not carried to other pages", () => {
    assert.equal(lineAt(params("?at=1a-20-ff&theme=dark")), "1a-20-ff");
    assert.equal(lineAt(params("?theme=dark")), null);
    assert.equal(pageQuery("?at=1a-20-ff&theme=dark", { filter: "" }), "theme=dark");
  });
});
