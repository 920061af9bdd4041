// The stream: one per tab (eventstream.js: fetch, not EventSource, so that every chunk's
// lines are handled at once), its status badge, and reconnecting when the stream gives up
// (it reconnects by itself only after a connection that answered 200 was lost). Every
// stream opened again for a file resumes after the last line received (?after=ID), like
// its own reconnects (Last-Event-ID); a paused view that was sent more lines than it keeps
// stops its stream and resumes it after the last line kept. The stream is made by app.open
// and the URLs come from app.routes (the entry point).

import { afterRefusal } from "./eventstream.js";
import { fileEventMessage, metaEntry } from "./lines.js";
import { mergedEventMessage, receiveMergedEvent, receiveMergedLine } from "./merged.js";
import { outageMessage } from "./outage.js";
import { expectRepeats, receiveFileEvent, receiveLine, rewind } from "./receive.js";
import { dropWaiting } from "./store.js";
import { setStatus, statusState } from "./ui.js";
import { flush, pause, push } from "./view.js";

// Things that happen to the file; each is also a separator row in the log.
export const FILE_EVENTS = ["rotated", "truncated", "missing", "appeared", "lost", "unreadable", "unavailable", "available"];
export const AUTH_HELP = "Authentication required: reload the page, or open the link with ?token= again";
const MAX_DELAY = 30000;
// What a stream can open with that is not "Live".
const NOT_LIVE = ["missing", "unreadable", "unavailable"];

/**
 * Streams the file name, replacing any stream before: after the last line received when
 * there is one (nothing lost, nothing repeated), else with the backlog asked for.
 */
export function connect(app, name) {
  const { state, ui } = app;
  const stream = state.stream;
  disconnect(app);
  const after = stream.rx.lastId;
  const es = app.open(app.routes.events(state.merged || name, after ? { after } : { lines: state.backlog }));
  stream.source = es;
  const again = stream.rx.received > 0;
  setStatus(ui, again ? "reconnecting" : "connecting", again ? "Reconnecting…" : "Connecting…");
  const mine = () => stream.source === es;

  es.onopen = () => {
    if (!mine()) return;
    stream.reconnectDelay = 1000;
    stream.said = null;
    stream.ready = false;
  };
  // Live only once the server's opening (a missing file, a busy server, lost lines) is seen.
  es.onready = () => {
    if (!mine()) return;
    stream.ready = true;
    if (stream.said !== "busy" && stream.downAt !== null) {
      take(app, metaEntry("reconnected", outageMessage(stream.downAt, Date.now(), stream.lostNote)));
      stream.downAt = null;
      stream.lostNote = null;
    }
    if (stream.said === null && stream.source) setStatus(ui, "live", "Live", "Live: " + name);
  };
  es.onerror = () => {
    if (!mine()) return;
    // A stream that had opened is gone: the row about the reconnect says from when.
    if (stream.ready && stream.said !== "busy" && stream.downAt === null) stream.downAt = Date.now();
    stream.ready = false;
    if (es.readyState === es.CLOSED) {
      const next = afterRefusal(es.status);
      if (next === "auth") {
        setStatus(ui, "offline", "Authentication required", AUTH_HELP);
        return;
      }
      if (next === "stop") {
        setStatus(ui, "offline", "Disconnected", `The server answered HTTP ${es.status || "without an event stream"}`);
        return;
      }
      // The server (or a proxy in front of it) answered with an error: the stream gave
      // up, so try again ourselves, after the last line received.
      const seconds = Math.round(stream.reconnectDelay / 1000);
      setStatus(ui, "offline", "Disconnected", `Disconnected; retrying in ${seconds} s`);
      clearTimeout(stream.reconnectTimer);
      stream.reconnectTimer = setTimeout(() => {
        expectRepeats(stream.rx);
        connect(app, name);
      }, stream.reconnectDelay);
      stream.reconnectDelay = Math.min(stream.reconnectDelay * 2, MAX_DELAY);
    } else if (statusState(ui) !== "busy") {
      setStatus(ui, "reconnecting", "Reconnecting…", "Connection lost; reconnecting (the stream resumes after the last line)");
    }
  };
  // Every event of a chunk at once; the view draws them at the next frame.
  es.onevents = (events) => {
    let lines = false;
    for (const ev of events) {
      if (!mine()) return; // stopped by the one before (a paused view that is full)
      if (ev.type === "message") {
        lines = true;
        onLine(app, ev.data, ev.lastEventId);
      } else if (ev.type === "busy") {
        lines = false;
        onBusy(app, ev.data);
      } else if (FILE_EVENTS.includes(ev.type)) {
        lines = false;
        onFileEvent(app, ev.type, ev.data);
      }
    }
    // A line after anything else says the stream is live again.
    if (lines && mine() && es.readyState === es.OPEN && statusState(ui) !== "live") {
      stream.said = null;
      setStatus(ui, "live", "Live", "Live: " + state.current);
    }
  };
}

function onBusy({ state, ui }, data) {
  state.stream.said = "busy";
  let message = "the server has too many open streams; retrying";
  try {
    message = JSON.parse(data).message || message;
  } catch {
    // keep ours
  }
  setStatus(ui, "busy", "Server busy", message);
}

export function disconnect({ state }) {
  const stream = state.stream;
  clearTimeout(stream.reconnectTimer);
  if (stream.source) stream.source.close();
  stream.source = null;
}

/**
 * Paused, the view was sent more lines than it keeps and dropped them: the stream stops,
 * and resumes after the last line kept when the view follows again (viewer.js: refetch).
 */
export function suspend(app) {
  const { state, ui } = app;
  stopAtLastKept(app);
  const keep = state.store.overflow.toLocaleString();
  setStatus(ui, "paused", "Paused", `Paused: more than ${keep} new lines; they are fetched again when you resume`);
}

// The stream stops; the next one resumes after the newest line kept.
function stopAtLastKept(app) {
  const { state } = app;
  disconnect(app);
  rewind(state.stream.rx, state.store.lastKept);
  state.store.detached = true;
}

/**
 * Older lines came in at the top and the newest ones were let go: the stream stops, what
 * waited goes too, and they are read again (history) when the view comes down to them.
 */
export function detach(app) {
  const { state, ui } = app;
  if (!state.stream.source) return;
  stopAtLastKept(app);
  dropWaiting(state.store);
  setStatus(ui, "paused", "Paused", "Showing older lines: newer ones are read again when you scroll down, or press End");
}

/** The page has the newest lines again: the stream resumes after the newest line kept. */
export function attach(app) {
  const { state } = app;
  state.store.detached = false;
  state.store.overflow = 0;
  rewind(state.stream.rx, state.store.lastKept);
  if (state.current) connect(app, state.current);
}

// Hands an entry to the view; stops the stream when the paused view cannot hold it.
function take(app, e) {
  if (!push(app, e)) suspend(app);
}

function onLine(app, data, id) {
  const { state } = app;
  const rx = state.stream.rx;
  const got = state.merged ? receiveMergedLine(rx, data, id, state.mergedNames) : receiveLine(rx, data, id);
  if (got.drop) return;
  if (got.pause) {
    flush(app);
    pause(app, "user");
  }
  if (got.entry) take(app, got.entry);
}

function onFileEvent(app, kind, data) {
  const ui = app.ui;
  const stream = app.state.stream;
  const merged = !!app.state.merged;
  const message = merged ? mergedEventMessage(kind, data) : fileEventMessage(kind, data);
  const piece = merged ? receiveMergedEvent(stream.rx, kind, data) : receiveFileEvent(stream.rx, kind);
  if (piece) take(app, piece);
  if (!stream.source) return; // suspended by the piece: the stream has stopped
  stream.said = NOT_LIVE.includes(kind) ? kind : null;
  if (kind === "missing") setStatus(ui, "missing", "File missing", message);
  else if (kind === "unreadable") setStatus(ui, "offline", "Unreadable", message);
  else if (kind === "unavailable") setStatus(ui, "offline", "Unavailable", message);
  else setStatus(ui, "live", "Live", "Live: " + app.state.current);
  if (kind === "lost" && !stream.ready && stream.downAt !== null) {
    stream.lostNote = message; // said once, in the row about the reconnect
    return;
  }
  take(app, metaEntry(kind, message));
}
