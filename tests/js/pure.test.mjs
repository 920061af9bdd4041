// The pure modules import nothing of the page: they run in Node as they run in the browser.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const web = new URL("../../web/", import.meta.url);
const PURE = ["ansi", "fields", "filter", "format", "ids", "json", "highlight", "levelfilter", "levels", "lines", "linetime", "multiline", "pages", "receive", "rules", "unseen", "search", "settings", "state", "store"];
const PAGE = /\b(document|window|location|navigator|localStorage|history|EventSource|fetch|requestAnimationFrame|setTimeout)\b/;

const code = (name) =>
  readFileSync(new URL(name + ".js", web), "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/^\s*\/\/.*$/gm, "")
    .replace(/\s\/\/ .*$/gm, "");

for (const name of PURE) {
  test(`${name}.js is pure`, async () => {
    await import(new URL(name + ".js", web).href);
    assert.doesNotMatch(code(name), PAGE);
    for (const [, dep] of code(name).matchAll(/from "\.\/([\w-]+)\.js"/g)) {
      assert.ok(PURE.includes(dep), `${name}.js imports ${dep}.js, which is not pure`);
    }
  });
}

test("every viewer module is flat in web/ and imported with its .js name", () => {
  const files = readdirSync(web).filter((f) => f.endsWith(".js"));
  for (const file of files) {
    for (const [, spec] of readFileSync(new URL(file, web), "utf8").matchAll(/^import .* from "([^"]+)";$/gm)) {
      assert.match(spec, /^\.\/[\w-]+\.js$/, `${file} imports ${spec}`);
      assert.ok(files.includes(spec.slice(2)), `${file} imports ${spec}, which is not in web/`);
    }
  }
});
