// One connection per stream for every tab of this origin. Over HTTP/1.1 a browser holds at
// most 6 connections to an origin, across all its tabs, and each open stream takes one: tabs
// that show the same stream (the same file, or the same files merged) share one instead.
// One tab leads (a Web Lock named after the stream elects it): it reads the stream and
// passes every chunk's events on over a BroadcastChannel; the others receive them. A tab
// that joins asks the leader for its backlog, which the leader answers from the events it
// keeps (the last RING), so the joining tab gets the backlog and then every event after
// it, once: a BroadcastChannel delivers one sender's messages in order. When the leader
// closes, the lock goes to a waiting tab, which opens the stream after the last event it
// got (ids are positions): nothing lost, nothing repeated, and line ids already delivered
// are dropped should they come again. A tab whose backlog the leader cannot give (it
// resumes from a line the leader no longer keeps) reads its own stream until it leads.
// Without Web Locks (pages not in a secure context) every tab has its own stream.

import { CLOSED, CONNECTING, EventStream, OPEN } from "./eventstream.js";

export const RING = 10000; // events the leading tab keeps for the tabs that join
const ANSWER_WAIT = 2000; // ms a joining tab waits for the leader before reading on its own
// After these the lines that follow are new even where their ids were seen.
const RESTARTS = ["rotated", "truncated", "lost", "appeared"];

/** A stream's identity: its URL without where it starts (after=, lines=). */
export function streamKey(url) {
  const u = new URL(url, "http://host/");
  u.searchParams.delete("after");
  u.searchParams.delete("lines");
  return u.pathname.replace(/^\/+/, "") + u.search;
}

/** Where a stream URL starts: {after, lines} (null when not given). */
export function startOf(url) {
  const q = new URL(url, "http://host/").searchParams;
  return { after: q.get("after"), lines: q.has("lines") ? Number(q.get("lines")) : null };
}

/** The stream URL that resumes after the event with id. */
export function resumeUrl(url, id) {
  const absolute = /^[a-z]+:/i.test(url);
  const u = new URL(url, "http://host/");
  u.searchParams.delete("lines");
  u.searchParams.set("after", id);
  return absolute ? u.href : u.pathname.replace(/^\/+/, "") + u.search;
}

/**
 * The kept events of a stream, oldest first, chunk by chunk as they came (at most about
 * RING events): keep(ring, events) adds a chunk's. after: the id the first kept event came
 * after (null: the stream's start); backlog: the lines the stream started with (null: it
 * resumed after an id).
 */
export function createRing(start, limit = RING) {
  return { chunks: [], count: 0, limit, trimmed: false, after: start.after, backlog: start.after ? null : start.lines };
}

/** Keeps a chunk's events; the oldest chunks go past the limit (a chunk costs the same however long). */
export function keep(ring, events) {
  if (!events.length) return;
  ring.chunks.push(events);
  ring.count += events.length;
  while (ring.chunks.length > 1 && ring.count - ring.chunks[0].length >= ring.limit) {
    ring.count -= ring.chunks.shift().length;
    ring.trimmed = true;
  }
}

/** The kept events, oldest first. */
export function ringEvents(ring) {
  return ring.chunks.flat();
}

/**
 * What a tab that joins gets: the events after the line with id after, or the last lines
 * lines (and what came after them); null when the ring cannot say (it no longer holds them).
 */
export function replayFor(ring, { after = null, lines = null }) {
  const events = ringEvents(ring);
  if (after) {
    if (!ring.trimmed && after === ring.after) return events;
    // After the last event with that id (a notice without an id of its own carries the one
    // before): what the server would send after it too.
    for (let i = events.length - 1; i >= 0; i--) if (events[i].lastEventId === after) return events.slice(i + 1);
    return null;
  }
  const want = lines === null ? 0 : lines;
  let n = 0;
  for (let i = events.length - 1; i >= 0; i--) {
    if (events[i].type === "message" && ++n === want) return events.slice(i);
  }
  if (want === 0) return [];
  // Fewer lines than asked: all there are only if the stream started with at least as many.
  return !ring.trimmed && ring.backlog !== null && ring.backlog >= want ? events : null;
}

/**
 * The events of a chunk that were not delivered before (the ring holds what was), and
 * whether the check is over: repeats can only lead a new stream (it resumed from a position
 * already passed), so the first line not seen before ends them, and so does a file starting
 * again (its positions may then come again, as new lines).
 */
export function dropRepeats(ring, events, known = null) {
  known = known || new Set(ringEvents(ring).filter((e) => e.type === "message").map((e) => e.lastEventId));
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (RESTARTS.includes(e.type)) return { events: events.slice(i), done: true, known };
    if (e.type !== "message") continue;
    if (known.has(e.lastEventId)) {
      events = events.slice(0, i).concat(events.slice(i + 1));
      i--;
    } else {
      return { events, done: true, known };
    }
  }
  return { events, done: false, known };
}

/**
 * The stream for url, EventStream-like (eventstream.js): shared with the other tabs of this
 * origin that show the same stream where the browser can (Web Locks and BroadcastChannel),
 * else a stream of its own. lines: the backlog the server gives when the URL asks for none.
 */
export function openShared(url, { win, fetch, lines = 100 }) {
  const nav = win.navigator;
  if (!nav.locks || typeof nav.locks.request !== "function" || typeof win.BroadcastChannel !== "function") {
    return new EventStream(url, { fetch });
  }
  return new SharedStream(url, { win, fetch, lines });
}

/** A stream read by one tab for all: role is "leader", "follower", "own" or "joining". */
export class SharedStream {
  constructor(url, { win, fetch, lines }) {
    this.url = url;
    this.readyState = CONNECTING;
    this.status = 0;
    this.lastEventId = "";
    this.onopen = null;
    this.onevents = null;
    this.onerror = null;
    this.onready = null;
    this.role = "joining";
    this._ready = false; // the stream's opening was read (its first chunk): onready was called
    this._leaderReady = false; // as leader: our own stream's opening was read
    this._fetch = fetch;
    this._win = win;
    this._start = startOf(url);
    if (this._start.lines === null && !this._start.after) this._start.lines = lines;
    this._ring = createRing(this._start);
    this._check = false; // a new stream of ours may repeat lines delivered (ids: _known)
    this._known = null;
    this._me = Math.random().toString(36).slice(2) + Date.now().toString(36);
    this._es = null;
    this._heard = false; // a tab follows (or may): events are passed on
    this._leader = null; // the tab we follow
    this._timer = 0;
    this._abort = new AbortController();
    this._held = new Promise((resolve) => {
      this._release = resolve;
    });
    const name = "tailsse:" + streamKey(url);
    this._channel = new win.BroadcastChannel(name);
    this._channel.onmessage = (m) => this._message(m.data);
    const locks = win.navigator.locks;
    locks
      .request(name, { ifAvailable: true }, (lock) => {
        if (this.readyState === CLOSED) return null;
        if (lock) return this._lead(false);
        this._join();
        locks.request(name, { signal: this._abort.signal }, () => this._lead(true)).catch(() => {});
        return null;
      })
      .catch(() => {});
  }

  close() {
    this.readyState = CLOSED;
    clearTimeout(this._timer);
    if (this._es) this._es.close();
    this._es = null;
    this._abort.abort();
    this._release();
    this._channel.close();
  }

  // This tab holds the lock: it reads the stream (after the last event it got, if any) and
  // passes its events on until it closes. A lock that was free at once had no tab waiting,
  // so no tab follows: events are passed on from the first tab that says hello.
  _lead(waited) {
    if (this.readyState === CLOSED) return null;
    clearTimeout(this._timer);
    const had = this.role;
    this.role = "leader";
    this._heard = this._heard || waited;
    if (had === "own") {
      this._post({ t: "state", state: this.readyState, status: this.status });
    } else {
      this._read(this.lastEventId ? resumeUrl(this.url, this.lastEventId) : this.url);
    }
    return this._held;
  }

  // Asks the leader for what comes after the last event we got (at first: our start).
  _join() {
    this.role = "joining";
    const after = this.lastEventId || this._start.after;
    this._post({ t: "hello", from: this._me, after, lines: after ? null : this._start.lines });
    this._timer = setTimeout(() => {
      if (this.role === "joining" && this.readyState !== CLOSED) this._own();
    }, ANSWER_WAIT);
  }

  // No leader's events for us: our own stream, until the lock comes (then we lead).
  _own() {
    this.role = "own";
    this._read(this.lastEventId ? resumeUrl(this.url, this.lastEventId) : this.url);
  }

  _read(url) {
    const es = new EventStream(url, { fetch: this._fetch });
    this._check = this._ring.count > 0;
    this._known = null; // made from the ring at its first chunk
    this._es = es;
    const lead = () => this.role === "leader" && this._heard && this._es === es;
    this._leaderReady = false;
    es.onopen = () => {
      if (this._es !== es) return;
      if (lead()) this._post({ t: "state", state: OPEN, status: 0 });
      this._opened();
    };
    // After the first chunk's events (eventstream.js): what the server opened with is known.
    es.onready = () => {
      if (this._es !== es) return;
      this._leaderReady = true;
      if (lead()) this._post({ t: "ready" });
      this._readied();
    };
    es.onerror = (ev) => {
      if (this._es !== es) return;
      this._leaderReady = false;
      if (lead()) this._post({ t: "state", state: es.readyState, status: es.status });
      this._failed(es.readyState, es.status, ev);
    };
    es.onevents = (events) => {
      if (this._es !== es) return;
      this._deliver(events, lead());
    };
  }

  _message(m) {
    if (!m || this.readyState === CLOSED) return;
    if (m.t === "hello" && this.role === "leader") {
      this._heard = true;
      const events = replayFor(this._ring, m);
      const ready = this._leaderReady;
      this._post({ t: "replay", to: m.from, events, state: this.readyState, status: this.status, ready });
    } else if (m.t === "replay" && m.to === this._me && this.role === "joining") {
      clearTimeout(this._timer);
      if (m.events === null) {
        this._own();
        return;
      }
      this.role = "follower";
      this._leader = m.from;
      if (m.state === OPEN) this._opened();
      this._deliver(m.events);
      if (m.ready) this._readied();
    } else if (this.role === "follower" && (m.t === "ev" || m.t === "state") && m.from !== this._leader) {
      // Another tab leads now, from its own position: ask it for what comes after ours.
      this._join();
    } else if (this.role === "follower" && m.t === "ev") {
      this._deliver(m.events);
    } else if (this.role === "follower" && m.t === "ready" && m.from === this._leader) {
      this._readied();
    } else if (this.role === "follower" && m.t === "state") {
      if (m.state === OPEN) this._opened();
      else this._failed(m.state, m.status, { type: "error", status: m.status });
    }
  }

  _opened() {
    if (this.readyState === OPEN) return;
    this.readyState = OPEN;
    this._ready = false;
    if (this.onopen) this.onopen({ type: "open" });
  }

  // Once per opening: the page may say "Live" (nothing else was said at the start).
  _readied() {
    if (this._ready || this.readyState !== OPEN) return;
    this._ready = true;
    if (this.onready) this.onready({ type: "ready" });
  }

  _failed(state, status, ev) {
    this._ready = false;
    this.readyState = state === CLOSED ? CLOSED : CONNECTING;
    this.status = status || 0;
    if (this.onerror) this.onerror(ev || { type: "error", status: this.status });
    if (this.readyState === CLOSED) this.close();
  }

  _deliver(events, pass = false) {
    let fresh = events;
    if (this._check) {
      const r = dropRepeats(this._ring, events, this._known);
      fresh = r.events;
      this._check = !r.done;
      this._known = r.done ? null : r.known;
    }
    if (!fresh.length) return;
    // Passed on before this tab's own handler runs: it may close the stream.
    if (pass) this._post({ t: "ev", events: fresh });
    keep(this._ring, fresh);
    this.lastEventId = fresh[fresh.length - 1].lastEventId || this.lastEventId;
    if (this.onevents) this.onevents(fresh);
  }

  _post(message) {
    try {
      this._channel.postMessage({ from: this._me, ...message });
    } catch {
      // closed meanwhile
    }
  }
}

// Like EventSource's constants, on every stream: es.readyState === es.OPEN.
Object.assign(SharedStream.prototype, { CONNECTING, OPEN, CLOSED });
