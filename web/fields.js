// Lines as fields: a JSON object line, or a logfmt line (key=value key="quoted value" ...);
// nested paths (user.id); the field filters (level=error user.id=42 duration_ms>500) and
// the columns of the column view (time, level, the fields picked and the message). Pure: no DOM.

import { isJsonish } from "./json.js";

const LOGFMT = /([\w.@/-]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g;
const HEAD = 8192; // logfmt is looked for in this much of a line

/** The fields of logfmt text: an object of strings, or null (fewer than two pairs). */
export function parseLogfmt(text) {
  const head = text.length > HEAD ? text.slice(0, HEAD) : text;
  const out = {};
  let n = 0;
  for (const m of head.matchAll(LOGFMT)) {
    // A pair starts the line or follows a space: "a=b" inside a URL is not one.
    if (m.index > 0 && !/\s/.test(head[m.index - 1])) continue;
    let value = m[2];
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value);
      } catch {
        value = value.slice(1, -1);
      }
    }
    out[m[1]] = value;
    n++;
  }
  return n >= 2 ? out : null;
}

/** The fields of a line of plain text: its JSON object, else its logfmt pairs, else null. */
export function parseFields(text) {
  if (isJsonish(text)) {
    try {
      const value = JSON.parse(text);
      if (value && typeof value === "object" && !Array.isArray(value)) return value;
    } catch {
      // not JSON after all
    }
  }
  return parseLogfmt(text);
}

/** The fields of a prepared entry, computed once (null: none). */
export function fieldsOf(e) {
  if (e.fields === undefined) e.fields = e.meta ? null : parseFields(e.plain);
  return e.fields;
}

/** The value at a dotted path (user.id); a key with dots in it is found whole first. */
export function getPath(obj, path) {
  if (!obj || typeof obj !== "object") return undefined;
  if (Object.hasOwn(obj, path)) return obj[path];
  const dot = path.indexOf(".");
  if (dot < 0) return undefined;
  // Try every split: {"user.name": ...} and {"user": {"name": ...}} alike.
  for (let i = dot; i >= 0; i = path.indexOf(".", i + 1)) {
    const head = path.slice(0, i);
    if (Object.hasOwn(obj, head)) {
      const found = getPath(obj[head], path.slice(i + 1));
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** A value as a column shows it and as filters compare it. */
export function valueText(value) {
  if (value === undefined) return "";
  if (value === null) return "null";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

const TERM = /([^\s=!<>~]+)\s*(!=|>=|<=|=|>|<|~)\s*("(?:[^"\\]|\\.)*"|\S*)/g;

/**
 * The field filters of a text: [{path, op, value}] for terms like level=error, user.id=42,
 * duration_ms>500, msg~timeout (contains), host!=a; quoted values may hold spaces.
 */
export function parseWhere(text) {
  const out = [];
  for (const m of String(text || "").matchAll(TERM)) {
    let value = m[3];
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value);
      } catch {
        value = value.slice(1, -1);
      }
    }
    out.push({ path: m[1], op: m[2], value });
  }
  return out;
}

/** A term as the filter box writes it (quoted when it must be). */
export function whereTerm(path, op, value) {
  const text = valueText(value);
  return path + op + (/^[^\s"]+$/.test(text) ? text : JSON.stringify(text));
}

const number = (s) => (s !== "" && s !== null && Number.isFinite(+s) ? +s : null);

/** Whether one field filter holds for fields (a missing field holds only for !=). */
export function termHolds(fields, { path, op, value }) {
  const found = getPath(fields, path);
  if (found === undefined) return op === "!=";
  const text = valueText(found);
  if (op === "~") return text.toLowerCase().includes(value.toLowerCase());
  if (op === "=" || op === "!=") {
    const a = number(text);
    const b = number(value);
    const same = a !== null && b !== null ? a === b : text.toLowerCase() === value.toLowerCase();
    return op === "=" ? same : !same;
  }
  const a = number(text);
  const b = number(value);
  const cmp = a !== null && b !== null ? a - b : text.localeCompare(value);
  return op === ">" ? cmp > 0 : op === "<" ? cmp < 0 : op === ">=" ? cmp >= 0 : cmp <= 0;
}

/** Whether every field filter holds for a line's fields (a line without fields: none holds). */
export function fieldsMatch(fields, where) {
  if (!where.length) return true;
  if (!fields) return false;
  return where.every((term) => termHolds(fields, term));
}

const TIME_KEYS = ["time", "ts", "timestamp", "@timestamp", "t"];
const LEVEL_KEYS = ["level", "lvl", "severity", "loglevel", "levelname", "log.level"];
const MESSAGE_KEYS = ["msg", "message", "event", "@message"];

function firstOf(fields, keys) {
  for (const k of keys) {
    const v = getPath(fields, k);
    if (v !== undefined) return { key: k, value: v };
  }
  return null;
}

/**
 * The cells of the column view for a line's fields: [{name, path, text}] for time, level,
 * each picked path, and the message last (path null when the cell has no field).
 */
export function columnCells(fields, picked) {
  const known = (name, keys) => {
    const f = firstOf(fields, keys);
    return { name, path: f ? f.key : null, text: f ? valueText(f.value) : "" };
  };
  const cells = [known("time", TIME_KEYS), known("level", LEVEL_KEYS)];
  for (const path of picked) {
    const v = getPath(fields, path);
    cells.push({ name: path, path: v === undefined ? null : path, text: valueText(v) });
  }
  cells.push(known("message", MESSAGE_KEYS));
  return cells;
}

/** The picked columns of ?fields=a,b.c: paths, in order, without repeats. */
export function parseColumns(text) {
  return [...new Set(String(text || "").split(",").map((s) => s.trim()).filter(Boolean))];
}
