import assert from "node:assert/strict";
import { test } from "node:test";

import { badgeIcon, badgeText, countUnseen, createUnseen, notifyMatcher, quickText, unseenTitle } from "../../web/unseen.js";

test("lines and errors that came unseen, in the title", () => {
  const u = createUnseen();
  assert.equal(unseenTitle(u, "app.log · tailsse"), "app.log · tailsse");
  for (const line of ["INFO a", "\x1b[31mERROR\x1b[0m b", "FATAL c", "level=warn d"]) countUnseen(u, quickText(line));
  assert.deepEqual([u.lines, u.errors], [4, 2]);
  assert.equal(unseenTitle(u, "app.log · tailsse"), "(4 new, 2 errors) app.log · tailsse");
  const one = createUnseen();
  countUnseen(one, "ERROR x");
  assert.equal(unseenTitle(one, "t"), "(1 new, 1 error) t");
});

test("the icon's badge", () => {
  assert.deepEqual([0, 7, 99, 100].map(badgeText), ["", "7", "99", "99+"]);
  const u = createUnseen();
  assert.doesNotMatch(badgeIcon(u), /circle/);
  countUnseen(u, "INFO x");
  assert.match(badgeIcon(u), /circle.*%231f883d.*%3E1%3C\/text/);
  countUnseen(u, "ERROR x");
  assert.match(badgeIcon(u), /%23cf222e/);
  assert.doesNotMatch(badgeIcon(u), /[<>]/);
});

test("the notification pattern", () => {
  assert.equal(notifyMatcher(""), null);
  assert.ok(notifyMatcher("OOM").test("killed: oom"));
  assert.ok(notifyMatcher("/5\\d\\d /").test("GET / 503 x"));
  assert.equal(notifyMatcher("/(/"), null);
});
