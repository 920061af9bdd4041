// The line store: the entries the page keeps (oldest first, at most `keep` of them: a stretch
// of the file's lines, which older pages of history join at the top and newer ones at the
// bottom), the ones received but not yet handled, and the ones held while paused (at most
// `keep` of those too: past that they are dropped and fetched from the server again on
// resume); with the counts the toolbar shows and whether the file goes on past either end.
// Pure: no DOM. Entries are filtered (filter.js) before they come in.

import { emptyCounts, levelOf } from "./levelfilter.js";
import { endId } from "./lines.js";

/** An empty store. */
export function createStore() {
  return {
    entries: [], // kept in the page, oldest first
    incoming: [], // received, not yet handled (handled once per animation frame)
    held: [], // handled while paused: it waits here, up to keep entries
    heldShown: 0, // how many held lines pass the filter
    lastKept: null, // the id after which the next line kept would come (endId of the last)
    overflow: 0, // while paused: the keep limit the held lines passed (they were dropped)
    lines: 0, // line entries kept (file-event rows aside)
    matchLines: 0, // of those, how many match the filter
    matchCount: 0, // and how many matches they have
    levels: emptyCounts(), // entries kept by level (levelfilter.js): lines once linked (multiline.js), traces once
    older: true, // the file may have lines before the oldest kept
    detached: false, // the file has lines after the newest kept that the page let go of
  };
}

/** Forgets everything (another file is shown). */
export function clearStore(store) {
  Object.assign(store, createStore());
}

/**
 * Queues a received entry. A hidden tab gets no animation frames, so while following only
 * what the page would keep anyway stays queued.
 */
export function enqueue(store, e, following, keep) {
  store.incoming.push(e);
  if (following && store.incoming.length > keep * 2) store.incoming.splice(0, store.incoming.length - keep);
}

/** The queued entries, in order; the queue is empty afterwards. */
export function takeIncoming(store) {
  const items = store.incoming;
  store.incoming = [];
  return items;
}

/** Adds (sign 1) or removes (sign -1) one entry from the counts. */
export function count(store, e, sign, filtering) {
  if (e.meta) return;
  store.lines += sign;
  if (e.level !== undefined && !e.cont) store.levels[levelOf(e)] += sign; // an entry of several lines counts once
  if (filtering && e.shown) {
    store.matchLines += sign;
    store.matchCount += sign * e.count;
  }
}

/** Drops the oldest entries beyond keep; returns them. */
export function trim(store, keep, filtering) {
  const over = store.entries.length - keep;
  if (over <= 0) return [];
  const gone = store.entries.splice(0, over);
  for (const e of gone) count(store, e, -1, filtering);
  if (gone.some((e) => !e.meta)) store.older = true;
  return gone;
}

/** Drops the newest entries beyond keep (older lines came in at the top); returns them. */
export function trimEnd(store, keep, filtering) {
  const over = store.entries.length - keep;
  if (over <= 0) return [];
  const gone = store.entries.splice(store.entries.length - over, over);
  for (const e of gone) count(store, e, -1, filtering);
  store.lastKept = lastLineId(store.entries);
  if (gone.some((e) => !e.meta)) store.detached = true;
  return gone;
}

/** The id after which the line following these entries comes: the last line's endId. */
function lastLineId(entries) {
  for (let i = entries.length - 1; i >= 0; i--) if (!entries[i].meta) return endId(entries[i]);
  return null;
}

/** The id of the oldest line kept, or null. */
export function firstLineId(store) {
  const e = store.entries.find((x) => !x.meta);
  return e ? e.id : null;
}

/**
 * Keeps filtered older entries before the first, dropping the newest beyond keep:
 * {added, removed}. added are the entries put in (the newest keep of items at most).
 */
export function prepend(store, items, keep, filtering) {
  if (items.length > keep) items = items.slice(items.length - keep);
  for (const e of items) count(store, e, 1, filtering);
  store.entries = items.concat(store.entries);
  if (store.lastKept === null) store.lastKept = lastLineId(store.entries);
  const removed = trimEnd(store, keep, filtering);
  return { added: items, removed };
}

/**
 * Keeps filtered entries, dropping the oldest beyond keep: {added, removed}. added are the
 * new entries still kept (at most keep), removed the older ones that made room for them.
 */
export function append(store, items, keep, filtering) {
  if (items.length > keep) items = items.slice(items.length - keep);
  for (const e of items) {
    store.entries.push(e);
    count(store, e, 1, filtering);
    if (!e.meta) store.lastKept = endId(e);
  }
  const removed = trim(store, keep, filtering);
  return { added: items, removed };
}

/** Holds filtered entries while paused. */
export function hold(store, items) {
  for (const e of items) {
    if (e.shown && !e.meta) store.heldShown++;
    store.held.push(e);
  }
}

/** Drops what waits while paused (the page let go of the newest lines). */
export function dropWaiting(store) {
  store.held = [];
  store.incoming = [];
  store.heldShown = 0;
}

/** How many entries wait while paused (held, and received but not yet handled). */
export function waiting(store) {
  return store.held.length + store.incoming.length;
}

/**
 * While paused: when more than keep entries wait, drops them all and records the overflow
 * (the next stream starts after lastKept instead). Returns whether it did.
 */
export function overflowed(store, keep) {
  if (waiting(store) <= keep) return false;
  dropWaiting(store);
  store.overflow = keep;
  return true;
}

/** The held entries, in order; nothing is held afterwards. */
export function release(store) {
  const items = store.held;
  store.held = [];
  store.heldShown = 0;
  return items;
}

/** Counts everything again after the filter changed (entries and held are refiltered). */
export function recount(store, filtering) {
  store.lines = store.matchLines = store.matchCount = 0;
  store.levels = emptyCounts();
  for (const e of store.entries) count(store, e, 1, filtering);
  store.heldShown = 0;
  for (const e of store.held) if (e.shown && !e.meta) store.heldShown++;
}
