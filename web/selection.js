// A merged view: several files in one stream (/events?file=A&file=B, or ?file=* for every
// file). The selection as the URL gives it, the page and stream URLs that carry it, each
// line's file (a merged event's data is "NAME\nLINE") and the file's own id inside the
// merged id (m. then, per file in name order, a 6-hex-digit tag of its name and the file's
// own id: tailsse/sources/merged_ids.py), its short label and colour. Pure: no DOM.

export const ALL = "*";
export const MAX_FILES = 50; // the server's bound for one merged stream
export const COLOURS = 8; // label colours: .src-0 ... .src-7 in viewer.css

/** The files a page URL selects (?file=A&file=B, sorted, once each; ["*"] for all), or null. */
export function selectionFrom(params) {
  const names = params.getAll("file").filter((n) => n !== "");
  if (!names.length) return null;
  if (names.includes(ALL)) return [ALL];
  return [...new Set(names)].sort();
}

/** Whether a name stands for a merged view: a selection, or "*" (never a file's name). */
export function isSelection(view) {
  return Array.isArray(view) || view === ALL;
}

/** A selection from what the page was asked to show (an array, or "*"). */
export function asSelection(view) {
  return view === ALL ? [ALL] : [...view];
}

function fileQuery(names) {
  const q = new URLSearchParams();
  for (const name of names) q.append("file", name);
  return q.toString();
}

/** The stream of a selection: after the event with id after, else with a backlog of lines. */
export function eventsPath(names, { after = null, lines = null } = {}) {
  const url = "events?" + fileQuery(names);
  if (after) return url + "&after=" + encodeURIComponent(after);
  return lines !== null && lines !== "" ? url + "&lines=" + encodeURIComponent(lines) : url;
}

/** The page of a selection, relative to <base>: view?file=A&file=B (embed?… for iframes). */
export function viewPath(names, embed) {
  return (embed ? "embed?" : "view?") + fileQuery(names);
}

/** The title of a merged view: "All files", "a.log + b.log", or "a.log + b.log + 3 more". */
export function selectionTitle(names) {
  if (names.includes(ALL)) return "All files";
  if (names.length <= 3) return names.join(" + ");
  return names.slice(0, 2).join(" + ") + ` + ${names.length - 2} more`;
}

/** The files a selection streams, as the server sorts them ("*": every file listed now). */
export function streamNames(names, files) {
  return names.includes(ALL) ? files.map((f) => f.name).sort() : [...names];
}

/** A merged line event's data: [file, line]. */
export function splitMerged(data) {
  const at = data.indexOf("\n");
  return at < 0 ? [data, ""] : [data.slice(0, at), data.slice(at + 1)];
}

/** Whether an id is a merged stream's. */
export function isMergedId(id) {
  return typeof id === "string" && id.startsWith("m.");
}

let TABLE = null;

/** CRC-32 (the one of zlib) of a string's UTF-8 bytes. */
export function crc32(text) {
  if (!TABLE) {
    TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      TABLE[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) crc = TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Each file's tag in merged ids, as the server makes them (unique within the stream). */
export function tags(names) {
  const out = [];
  for (const name of names) {
    let tag;
    for (let salt = 0; ; salt++) {
      tag = (crc32(salt ? `${name}\0${salt}` : name) & 0xffffff).toString(16).padStart(6, "0");
      if (!out.includes(tag)) break;
    }
    out.push(tag);
  }
  return out;
}

/**
 * The file's own id inside a merged id (the id it has in its own stream, usable with
 * /api/lines/{name} and view/NAME?at=), or null when it holds none for that file.
 */
export function ownId(mergedId, name, names) {
  if (!isMergedId(mergedId)) return null;
  const at = names.indexOf(name);
  const tag = at >= 0 ? tags(names)[at] : tags([name])[0];
  for (const part of mergedId.slice(2).split(".")) {
    if (part.startsWith(tag) && part.length > 6) {
      const own = part.slice(6);
      return own === "_" ? null : own;
    }
  }
  return null;
}

/** A file's short label: its name without .log/.txt, at most 18 characters. */
export function shortLabel(name) {
  const bare = name.replace(/\.(log|txt)$/, "") || name;
  return bare.length > 18 ? bare.slice(0, 17) + "…" : bare;
}

/** The colour of a file's label: its place among the stream's files. */
export function colourOf(name, names) {
  const at = names.indexOf(name);
  return (at >= 0 ? at : crc32(name)) % COLOURS;
}
