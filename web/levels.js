// Log levels: which level a line is, and where its level word is, so that the row can be
// tinted and the word coloured. Pure: no DOM, importable from Node.

/** Every spelling we recognise, by the level it shows as. */
export const LEVELS = {
  fatal: "fatal", critical: "fatal", crit: "fatal", emerg: "fatal", emergency: "fatal", alert: "fatal",
  panic: "fatal", severe: "error", error: "error", err: "error", warning: "warn", warn: "warn",
  notice: "info", info: "info", information: "info", debug: "debug", dbg: "debug", trace: "trace",
  verbose: "trace",
};

// level=warn, "level": "error", severity: INFO ... (any case)
const LEVEL_KV = /\b(?:level|lvl|severity|loglevel|levelname)"?\s*[:=]\s*"?([A-Za-z]+)/i;
// A bare upper-case word: 2026-11-24 ERROR ...
const LEVEL_WORD = /\b(FATAL|CRITICAL|CRIT|EMERG|EMERGENCY|ALERT|PANIC|SEVERE|ERROR|ERR|WARNING|WARN|NOTICE|INFO|DEBUG|DBG|TRACE|VERBOSE)\b/;
// A bracketed tag in any case: [info], <warn>, (debug)
const LEVEL_TAG = /[[<(](fatal|critical|crit|emerg|alert|panic|error|err|warning|warn|notice|info|debug|trace)[\]>)]/i;

// Only the start of a line is looked at: a level is never far in, and lines can be huge.
const HEAD = 400;

/**
 * The level of a line of plain text: {level, at: [start, end]} (at: where the level word is),
 * or null. A key=value level wins over a bare word, a bare word over a bracketed tag.
 */
export function detectLevel(plain) {
  const head = plain.length > HEAD ? plain.slice(0, HEAD) : plain;
  let m = LEVEL_KV.exec(head);
  if (m && LEVELS[m[1].toLowerCase()]) {
    const start = m.index + m[0].length - m[1].length;
    return { level: LEVELS[m[1].toLowerCase()], at: [start, start + m[1].length] };
  }
  m = LEVEL_WORD.exec(head) || LEVEL_TAG.exec(head);
  if (!m) return null;
  const start = m.index + m[0].indexOf(m[1]);
  return { level: LEVELS[m[1].toLowerCase()], at: [start, start + m[1].length] };
}
