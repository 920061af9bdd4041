// The file's history, read from the server (api/lines) as the view needs it: older lines
// when it comes near the top of what the page keeps, newer ones when it comes down again
// after the page let them go, a line in context (search results, permalinks, times), the
// first line of the file and the end. While the page does not have the newest lines the
// stream is stopped; it resumes exactly after the newest line kept once they are read again.

import { AUTH_HELP, attach, connect, detach, disconnect } from "./connection.js";
import { isoLocal } from "./format.js";
import * as pages from "./pages.js";
import { resetReceiver } from "./receive.js";
import { firstLineId } from "./store.js";
import { notice } from "./ui.js";
import { addEntries, prependEntries, resume, showEntries, syncPause } from "./view.js";

const EDGE = 10; // entries at each end of the page where a page of history may overlap

/** GET url as JSON: {status, body}; status 0 when the server cannot be reached. */
export async function getJson(url, signal) {
  let r;
  try {
    r = await fetch(url, { cache: "no-store", signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    return { status: 0, body: null };
  }
  let body = null;
  try {
    body = await r.json();
  } catch {
    body = null;
  }
  return { status: r.status, body };
}

/** What to tell the user about an answer that is not 200. */
export function problem(res) {
  if (res.status === 410) {
    return "This line no longer exists: the file it was in was rotated away and deleted.";
  }
  if (res.status === 401) return AUTH_HELP;
  if (res.status === 0) return "The server cannot be reached.";
  const error = res.body && typeof res.body.error === "string" ? res.body.error : "";
  return error || "The server answered HTTP " + res.status + ".";
}

const pageSize = (state) => pages.pageSize(state.opts.keep);

// One history request at a time; a later jump makes the answers to earlier ones stale.
async function request(app, query) {
  const h = app.state.paging;
  const seq = h.seq;
  const name = app.state.current;
  h.busy = true;
  const res = await getJson(app.routes.lines(name, query));
  const stale = seq !== h.seq || name !== app.state.current;
  if (seq === h.seq) h.busy = false; // else the newer view's request may be under way
  return stale ? null : res;
}

/** The view came near the top of what the page keeps: reads the lines before it. */
export async function loadOlder(app) {
  const { state } = app;
  const s = state.store;
  if (state.paging.busy || !s.older || !state.current || state.mode === "live" || state.merged) return;
  const res = await request(app, pages.olderQuery(firstLineId(s), pageSize(state)));
  if (!res) return;
  if (res.status !== 200) {
    s.older = false;
    notice(app, problem(res));
    return;
  }
  const fresh = pages.unseen(pages.pageEntries(res.body.lines), pages.idsOf(s.entries.slice(0, EDGE)));
  s.older = !!res.body.more && fresh.length > 0;
  const wasDetached = s.detached;
  prependEntries(app, fresh);
  if (s.detached && !wasDetached) detach(app);
  reach(app);
}

/** The view came near the bottom of what the page keeps, and newer lines were let go. */
export async function loadNewer(app) {
  const { state } = app;
  const s = state.store;
  if (state.paging.busy || !s.detached || !state.current) return;
  const res = await request(app, pages.newerQuery(s.lastKept, pageSize(state)));
  if (!res) return;
  if (res.status !== 200) {
    notice(app, problem(res));
    return;
  }
  const fresh = pages.unseen(pages.pageEntries(res.body.lines), pages.idsOf(s.entries.slice(-EDGE)));
  addEntries(app, fresh);
  if (!res.body.more) attach(app);
  syncPause(app);
  reach(app);
}

/** Near the top or the bottom of what the page keeps (while not following), reads on. */
export function reach(app) {
  const log = app.ui.log;
  if (app.state.mode === "live") return;
  const margin = log.clientHeight * 1.5;
  if (log.scrollTop < margin) loadOlder(app);
  else if (log.scrollHeight - log.scrollTop - log.clientHeight < margin) loadNewer(app);
}

// A new view of the file: what was asked for before is stale, the stream stops.
function startOver(app) {
  const { state } = app;
  state.paging.seq++;
  state.paging.busy = false;
  disconnect(app);
}

// Shows a page of entries; the stream goes on after them when they reach the end.
function showPage(app, entries, { older, detached, target, atEnd }) {
  showEntries(app, entries, { older, detached, target, atEnd });
  if (!detached) attach(app);
}

/**
 * Shows the line with id in the middle of the lines around it, highlighted. Returns false
 * (and says why) when it cannot be read.
 */
export async function showAround(app, id) {
  startOver(app);
  const h = app.state.paging;
  const seq = h.seq;
  const [before, after] = await Promise.all(
    pages.contextQueries(id, pageSize(app.state)).map((q) => getJson(app.routes.lines(app.state.current, q))),
  );
  if (seq !== h.seq) return true;
  const failed = [before, after].find((r) => r.status !== 200);
  if (failed) {
    notice(app, problem(failed));
    return false;
  }
  const entries = pages.pageEntries(before.body.lines.concat(after.body.lines));
  const target = pages.entryWithId(entries, id);
  showPage(app, entries, { older: !!before.body.more, detached: !!after.body.more, target });
  return true;
}

/** Shows the first lines of the oldest generation of the file (Home). */
export async function toStart(app) {
  if (app.state.merged) return; // history is read file by file (the merged view's note says so)
  startOver(app);
  const res = await request(app, pages.newerQuery(null, pageSize(app.state)));
  if (!res) return;
  if (res.status !== 200) {
    notice(app, problem(res));
    return;
  }
  showPage(app, pages.pageEntries(res.body.lines), { older: false, detached: !!res.body.more });
}

/** Shows the last lines and follows the file again (End, when the page let them go). */
export async function toEnd(app) {
  startOver(app);
  const res = await request(app, { before: "end", count: pageSize(app.state) });
  if (!res) return;
  if (res.status !== 200) {
    // No history here: start over from the stream's backlog.
    showEntries(app, [], { older: false, detached: false, atEnd: true });
    resetReceiver(app.state.stream.rx);
    connect(app, app.state.current);
    return;
  }
  showPage(app, pages.pageEntries(res.body.lines), { older: !!res.body.more, detached: false, atEnd: true });
  resume(app);
}

/** Shows the first line written at or after when (a local date and time, as an input gives it). */
export async function showTime(app, when) {
  const date = new Date(when);
  if (Number.isNaN(date.getTime())) {
    notice(app, "Not a date and time: " + when);
    return;
  }
  const t = isoLocal(date);
  const res = await getJson(app.routes.time(app.state.current, t));
  if (res.status !== 200) {
    notice(app, problem(res));
    return;
  }
  if (!res.body.id) {
    notice(app, `No line was written at or after ${t}: every line is older.`);
    return;
  }
  notice(app, null);
  await showAround(app, res.body.id);
}
