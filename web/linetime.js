// The time a line says it was written, parsed as the server parses it
// (tailsse/history/timestamps.py): ISO 8601 / RFC 3339, syslog (no year: the latest year
// not after now), common log format, and a JSON "time", "ts" or "timestamp" field (ISO 8601,
// or seconds or milliseconds since the epoch). A time without a zone is local time. And how
// the page writes a time: in the user's zone or in UTC, absolute or relative. Pure: no DOM.

import { pad } from "./format.js";

const PREFIX = 512; // only the start of a line is looked at

const ISO = /(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d{1,9}))?)? ?(Z|z|[+-]\d\d(?::?\d\d)?)?/;
const JSON_NUMBER = /"(?:time|ts|timestamp)"\s*:\s*(\d{9,13}(?:\.\d+)?)[,}\s]/;
const SYSLOG = /^(?:<\d{1,3}>)?([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d)/;
const COMMON = /\[(\d\d)\/([A-Z][a-z]{2})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-]\d{4})\]/;
const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");

/** Minutes east of UTC from Z, +01, +0100 or +01:00; null for a local time. */
function zoneMinutes(text) {
  if (!text) return null;
  if (text === "Z" || text === "z") return 0;
  const digits = text.slice(1).replace(":", "");
  const minutes = +digits.slice(0, 2) * 60 + (digits.length >= 4 ? +digits.slice(2, 4) : 0);
  return text[0] === "-" ? -minutes : minutes;
}

/** ms since the epoch of a calendar time (local when zone is null); null when it is no date. */
function moment(y, mo, d, h, mi, s, zone) {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return null;
  const utc = Date.UTC(y, mo - 1, d, h, mi, s);
  if (new Date(utc).getUTCDate() !== d) return null; // 31 Feb
  if (zone !== null) return utc - zone * 60000;
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}

function iso(m) {
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const t = moment(+y, +mo, +d, +h, +mi, +(s || 0), zoneMinutes(zone));
  if (t === null) return null;
  return t + (frac ? (+frac / 10 ** frac.length) * 1000 : 0);
}

function syslog(m, now) {
  const [, month, day, h, mi, s] = m;
  const latest = new Date(now);
  for (const year of [latest.getFullYear(), latest.getFullYear() - 1]) {
    const t = moment(year, MONTHS.indexOf(month) + 1, +day, +h, +mi, +s, null);
    if (t !== null && t <= now + 86400000) return t;
  }
  return null;
}

/** The time (ms since the epoch) a line of plain text says it was written, or null. */
export function lineTime(text, now = Date.now()) {
  const head = text.length > PREFIX ? text.slice(0, PREFIX) : text;
  let m = COMMON.exec(head);
  if (m && MONTHS.includes(m[2])) {
    const [, d, month, y, h, mi, s, zone] = m;
    return moment(+y, MONTHS.indexOf(month) + 1, +d, +h, +mi, +s, zoneMinutes(zone));
  }
  m = SYSLOG.exec(head);
  if (m && MONTHS.includes(m[1])) return syslog(m, now);
  m = ISO.exec(head);
  if (m) return iso(m);
  m = JSON_NUMBER.exec(head);
  if (m) {
    const value = +m[1];
    return value >= 1e11 ? value : value * 1000;
  }
  return null;
}

// The parts of a time in the user's zone or in UTC.
function parts(t, tz) {
  const d = new Date(t);
  const utc = tz === "utc";
  return {
    y: utc ? d.getUTCFullYear() : d.getFullYear(),
    mo: (utc ? d.getUTCMonth() : d.getMonth()) + 1,
    d: utc ? d.getUTCDate() : d.getDate(),
    h: utc ? d.getUTCHours() : d.getHours(),
    mi: utc ? d.getUTCMinutes() : d.getMinutes(),
    s: utc ? d.getUTCSeconds() : d.getSeconds(),
    ms: utc ? d.getUTCMilliseconds() : d.getMilliseconds(),
  };
}

/** A time of day as the log column shows it: HH:MM:SS.mmm (UTC ends with Z). */
export function clockIn(t, tz) {
  const p = parts(t, tz);
  return `${pad(p.h, 2)}:${pad(p.mi, 2)}:${pad(p.s, 2)}.${pad(p.ms, 3)}` + (tz === "utc" ? "Z" : "");
}

/** A full time: 2026-12-01 10:00:00.123 UTC, or with the user's offset. */
export function fullTime(t, tz) {
  const p = parts(t, tz);
  let zone = "UTC";
  if (tz !== "utc") {
    const off = -new Date(t).getTimezoneOffset();
    const abs = Math.abs(off);
    zone = `${off < 0 ? "-" : "+"}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
  }
  const day = `${p.y}-${pad(p.mo, 2)}-${pad(p.d, 2)}`;
  return `${day} ${pad(p.h, 2)}:${pad(p.mi, 2)}:${pad(p.s, 2)}.${pad(p.ms, 3)} ${zone}`;
}

/** How long ago t was from now: "just now", "5 s ago", "3 min ago", "2 h ago", "4 days ago", "in 5 s". */
export function relative(t, now = Date.now()) {
  const diff = now - t;
  const s = Math.round(Math.abs(diff) / 1000);
  if (s < 1) return "just now";
  const amount =
    s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min` : s < 86400 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 86400)} days`;
  return diff >= 0 ? amount + " ago" : "in " + amount;
}

/** The time of a prepared entry (computed once): {t, own}: own is false for the arrival time. */
export function entryTime(e) {
  if (e.lineT === undefined) e.lineT = e.meta ? null : lineTime(e.plain);
  return e.lineT !== null ? { t: e.lineT, own: true } : { t: e.t, own: false };
}
