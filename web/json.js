// JSON lines: which lines look like JSON objects, their pretty-printed form, and the runs
// that colour its keys, strings, numbers and literals. Pure: no DOM, importable from Node.

/** Whether a line looks like a JSON object, cheaply (it may still fail to parse). */
export function isJsonish(text) {
  return text.length > 1 && text[0] === "{" && text[text.length - 1] === "}";
}

/** The line pretty-printed with two-space indents, or null when it is not a JSON object/array. */
export function prettyJson(text) {
  try {
    const value = JSON.parse(text);
    if (value && typeof value === "object") return JSON.stringify(value, null, 2);
  } catch {
    // not JSON after all
  }
  return null;
}

const JSON_TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** Colour runs {s, e, cls} over pretty-printed JSON: j-key, j-str, j-num, j-lit. */
export function jsonRuns(text) {
  const runs = [];
  for (const m of text.matchAll(JSON_TOKEN)) {
    const cls = m[1] ? (m[2] ? "j-key" : "j-str") : m[3] ? "j-lit" : "j-num";
    const end = m[1] ? m.index + m[1].length : m.index + m[0].length;
    runs.push({ s: m.index, e: end, cls, fgx: null, bgx: null });
  }
  return runs;
}
