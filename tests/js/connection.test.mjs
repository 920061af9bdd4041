// connection.js with a fake stream (eventstream.js) and a fake page: which stream each new
// one asks for, what a refusal leads to, and what a paused view does with more lines than
// it keeps.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";

import { AUTH_HELP, connect } from "../../web/connection.js";
import { createState } from "../../web/state.js";
import { resume, pause } from "../../web/view.js";

class FakeSource {
  constructor(url) {
    this.url = url;
    this.readyState = this.CONNECTING;
    this.status = 0;
    this.closed = false;
  }
  close() {
    this.readyState = this.CLOSED;
    this.closed = true;
  }
  /** Open, with the events of the first chunk (the server's opening), then ready. */
  opened(first = []) {
    this.readyState = this.OPEN;
    this.onopen();
    if (first.length) this.events(first);
    if (this.readyState === this.OPEN) this.onready();
  }
  /** One chunk's events, handed over at once as eventstream.js does. */
  events(list) {
    this.onevents(list);
  }
  line(data, id) {
    this.events([{ type: "message", data, lastEventId: id }]);
  }
  fileEvent(kind, message) {
    this.events([{ type: kind, data: JSON.stringify({ message }), lastEventId: "" }]);
  }
  /** An answer that is not a 200 event stream: the stream gives up for good. */
  refused(status = 502) {
    this.readyState = this.CLOSED;
    this.status = status;
    this.onerror();
  }
  /** The connection was lost: the stream reconnects by itself. */
  lost() {
    this.readyState = this.CONNECTING;
    this.onerror();
  }
}
Object.assign(FakeSource.prototype, { CONNECTING: 0, OPEN: 1, CLOSED: 2 });

function element() {
  const attrs = {};
  return {
    attrs,
    hidden: false,
    textContent: "",
    title: "",
    className: "",
    setAttribute(k, v) {
      attrs[k] = String(v);
    },
    getAttribute(k) {
      return k in attrs ? attrs[k] : null;
    },
    classList: { toggle() {}, add() {}, remove() {} },
    focus() {},
  };
}

function fakeApp({ keep = 100, backlog = null } = {}) {
  const names = ["root", "log", "status", "statusText", "search", "count", "pause", "pauseLabel", "jump", "jumpText"];
  const ui = Object.fromEntries(names.map((n) => [n, element()]));
  const opts = { keep, follow: true, filter: "", regex: false, matchCase: false, json: false };
  const app = {
    ui,
    state: createState(opts, { backlog }),
    sources: [],
    routes: {
      files: "api/files",
      events: (name, query) => ({ name, ...query }),
    },
    open(url) {
      const es = new FakeSource(url);
      app.sources.push(es);
      return es;
    },
    refetch: () => connect(app, app.state.current),
  };
  app.state.current = "app.log";
  return app;
}

const last = (app) => app.sources[app.sources.length - 1];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let frames;
beforeEach(() => {
  frames = [];
  globalThis.requestAnimationFrame = (fn) => frames.push(fn); // never run: entries stay queued
  globalThis.fetch = async () => ({ status: 502 });
});
afterEach(() => {
  delete globalThis.requestAnimationFrame;
  delete globalThis.fetch;
});

test("the first stream asks for the backlog", () => {
  const app = fakeApp({ backlog: "500" });
  connect(app, "app.log");
  assert.deepEqual(last(app).url, { name: "app.log", lines: "500" });
});

test("after a refused reconnect, the new stream resumes after the last line", async () => {
  const app = fakeApp({ backlog: "500" });
  connect(app, "app.log");
  const first = last(app);
  first.opened();
  first.line("one", "a-4-f");
  first.line("two", "a-8-f");
  app.state.stream.reconnectDelay = 1;
  first.refused();
  assert.equal(app.ui.status.attrs["data-state"], "offline");
  await sleep(30);
  assert.equal(app.sources.length, 2);
  assert.deepEqual(last(app).url, { name: "app.log", after: "a-8-f" }); // and no backlog
  assert.equal(first.closed, true);
  // again and again: always from the newest line received
  last(app).opened();
  last(app).line("three", "a-14-f");
  app.state.stream.reconnectDelay = 1;
  last(app).refused();
  await sleep(30);
  assert.deepEqual(last(app).url, { name: "app.log", after: "a-14-f" });
});

test("Redis ids resume too, and a repeat is dropped", async () => {
  const app = fakeApp();
  connect(app, "web1/app.log");
  last(app).opened();
  last(app).line("one", "1700000000000-0");
  last(app).line("two", "1700000000000-1");
  app.state.stream.reconnectDelay = 1;
  last(app).refused();
  await sleep(30);
  assert.deepEqual(last(app).url, { name: "web1/app.log", after: "1700000000000-1" });
  last(app).opened();
  last(app).line("two", "1700000000000-1");
  last(app).line("three", "1700000000002-0");
  assert.deepEqual(
    app.state.store.incoming.filter((e) => !e.meta).map((e) => e.raw),
    ["one", "two", "three"],
  );
});

test("paused, more lines than kept: they are dropped, the stream stops, and resume reads them again", () => {
  const app = fakeApp({ keep: 100 });
  connect(app, "app.log");
  const first = last(app);
  first.opened();
  app.state.store.entries.push({ meta: false, raw: "shown", id: "a-5-f" });
  app.state.store.lastKept = "a-5-f";
  pause(app, "user");
  for (let i = 1; i <= 100; i++) first.line(`held ${i}`, `a-${5 + i * 10}-f`);
  assert.equal(app.state.store.incoming.length, 100);
  assert.equal(first.closed, false);
  first.line("one too many", "a-2000-f");
  assert.equal(app.state.store.incoming.length + app.state.store.held.length, 0);
  assert.equal(app.state.store.overflow, 100);
  assert.equal(first.closed, true);
  assert.equal(app.state.stream.source, null);
  assert.equal(app.ui.status.attrs["data-state"], "paused");
  assert.match(app.ui.status.title, /more than 100 new lines; they are fetched again when you resume/);
  assert.match(app.ui.jumpText.textContent, /More than 100 new lines/);
  assert.equal(app.sources.length, 1);

  resume(app);
  assert.equal(app.sources.length, 2);
  assert.deepEqual(last(app).url, { name: "app.log", after: "a-5-f" });
  assert.equal(app.state.store.overflow, 0);
  last(app).opened();
  last(app).line("held 1", "a-15-f");
  assert.deepEqual(
    app.state.store.incoming.map((e) => e.raw),
    ["held 1"],
  );
});

test("paused within the keep limit: everything waits and the stream stays", () => {
  const app = fakeApp({ keep: 100 });
  connect(app, "app.log");
  const first = last(app);
  first.opened();
  pause(app, "user");
  for (let i = 1; i <= 99; i++) first.line(`held ${i}`, `a-${i * 10}-f`);
  first.fileEvent("rotated", "file rotated");
  assert.equal(app.state.store.incoming.length, 100);
  assert.equal(app.state.store.overflow, 0);
  assert.equal(first.closed, false);
  assert.equal(app.ui.status.attrs["data-state"], "paused"); // the stream is live, the view is not
  assert.equal(app.ui.statusText.textContent, "Paused");
  resume(app);
  assert.equal(app.ui.status.attrs["data-state"], "live");
});

test("a 401 says the sign-in ended, a 404 stops: neither is asked again", async () => {
  for (const [status, text] of [
    [401, "Authentication required"],
    [404, "Disconnected"],
    [403, "Disconnected"],
  ]) {
    const app = fakeApp();
    connect(app, "app.log");
    last(app).opened();
    app.state.stream.reconnectDelay = 1;
    last(app).refused(status);
    assert.equal(app.ui.status.attrs["data-state"], "offline");
    assert.equal(app.ui.statusText.textContent, text);
    if (status === 401) assert.equal(app.ui.status.title, AUTH_HELP);
    else assert.match(app.ui.status.title, new RegExp(`HTTP ${status}`));
    await sleep(30);
    assert.equal(app.sources.length, 1, `HTTP ${status}`);
  }
});

test("502, 503 and 504 (a proxy while tailsse restarts) are asked again, after the last line", async () => {
  for (const status of [502, 503, 504, 500]) {
    const app = fakeApp();
    connect(app, "app.log");
    last(app).opened();
    last(app).line("one", "a-4-f");
    app.state.stream.reconnectDelay = 1;
    last(app).refused(status);
    assert.match(app.ui.status.title, /Disconnected; retrying in/);
    await sleep(30);
    assert.equal(app.sources.length, 2, `HTTP ${status}`);
    assert.deepEqual(last(app).url, { name: "app.log", after: "a-4-f" });
  }
});

test("a lost connection says it is reconnecting, and its next line says live", () => {
  const app = fakeApp();
  connect(app, "app.log");
  const es = last(app);
  es.opened();
  es.line("one", "a-4-f");
  assert.equal(app.ui.status.attrs["data-state"], "live");
  es.lost();
  assert.equal(app.ui.status.attrs["data-state"], "reconnecting");
  assert.equal(app.sources.length, 1); // the stream reconnects by itself
  es.opened();
  es.line("two", "a-8-f");
  assert.equal(app.ui.status.attrs["data-state"], "live");
});

test("busy: the badge says so until a stream opens without being refused", () => {
  const app = fakeApp();
  connect(app, "app.log");
  const es = last(app);
  const busy = { type: "busy", data: JSON.stringify({ message: "too many open streams; retrying later" }) };
  es.opened([busy]);
  assert.equal(app.ui.status.attrs["data-state"], "busy");
  assert.equal(app.ui.status.title, "too many open streams; retrying later");
  es.lost(); // the busy answer ends
  assert.equal(app.ui.status.attrs["data-state"], "busy");
  es.opened([busy]); // refused again
  assert.equal(app.ui.status.attrs["data-state"], "busy");
  es.lost();
  es.opened();
  assert.equal(app.ui.status.attrs["data-state"], "live");
  // refusals are not outages: no row about a reconnect
  assert.deepEqual(app.state.store.incoming.filter((e) => e.meta), []);
});

test("a stream that opens with a missing file is never live", () => {
  const app = fakeApp();
  connect(app, "app.log");
  const es = last(app);
  const states = [];
  const set = app.ui.status.setAttribute;
  app.ui.status.setAttribute = (k, v) => {
    if (k === "data-state") states.push(v);
    set(k, v);
  };
  es.opened([{ type: "missing", data: JSON.stringify({ message: "the file is missing" }), lastEventId: "" }]);
  assert.deepEqual(states, ["missing"]);
  es.fileEvent("appeared", "the file appeared");
  assert.equal(app.ui.status.attrs["data-state"], "live");
});

test("a reconnect is a row in the log: when, and that nothing was missed", () => {
  const app = fakeApp();
  connect(app, "app.log");
  const es = last(app);
  es.opened();
  es.line("one", "a-4-f");
  es.lost();
  assert.equal(app.ui.status.attrs["data-state"], "reconnecting");
  es.opened();
  es.line("two", "a-8-f");
  const rows = app.state.store.incoming.map((e) => (e.meta ? e.kind + ": " + e.raw : e.raw));
  assert.equal(rows.length, 3);
  assert.equal(rows[0], "one");
  assert.match(rows[1], /^reconnected: disconnected \d\d:\d\d:\d\d – resumed \d\d:\d\d:\d\d, nothing missed$/);
  assert.equal(rows[2], "two");
});

test("a reconnect that lost lines says so, in that one row", async () => {
  const app = fakeApp();
  connect(app, "app.log");
  last(app).opened();
  last(app).line("one", "a-4-f");
  app.state.stream.reconnectDelay = 1;
  last(app).refused(502);
  await sleep(30);
  const lost = { type: "lost", data: JSON.stringify({ message: "the position is gone" }), lastEventId: "" };
  last(app).opened([lost]);
  const meta = app.state.store.incoming.filter((e) => e.meta);
  assert.equal(meta.length, 1);
  assert.equal(meta[0].kind, "reconnected");
  assert.match(meta[0].raw, /; lines were lost: the position is gone$/);
  assert.equal(app.ui.status.attrs["data-state"], "live");
});

test("one chunk's events: in order, the last one says the status", () => {
  const app = fakeApp();
  connect(app, "app.log");
  const es = last(app);
  es.opened();
  es.events([
    { type: "message", data: "one", lastEventId: "a-4-f" },
    { type: "missing", data: JSON.stringify({ message: "gone" }), lastEventId: "a-4-f" },
  ]);
  assert.equal(app.ui.status.attrs["data-state"], "missing");
  es.events([
    { type: "appeared", data: JSON.stringify({ message: "back" }), lastEventId: "a-4-f" },
    { type: "message", data: "two", lastEventId: "b-4-f" },
  ]);
  assert.equal(app.ui.status.attrs["data-state"], "live");
  assert.deepEqual(
    app.state.store.incoming.filter((e) => !e.meta).map((e) => e.raw),
    ["one", "two"],
  );
  assert.equal(app.state.stream.rx.lastId, "b-4-f");
});

test("a chunk that overfills a paused view: the rest of it is not taken", () => {
  const app = fakeApp({ keep: 100 });
  connect(app, "app.log");
  const first = last(app);
  first.opened();
  app.state.store.entries.push({ meta: false, raw: "shown", id: "a-5-f" });
  app.state.store.lastKept = "a-5-f";
  pause(app, "user");
  const chunk = [];
  for (let i = 1; i <= 150; i++) chunk.push({ type: "message", data: `held ${i}`, lastEventId: `a-${5 + i * 10}-f` });
  first.events(chunk);
  assert.equal(first.closed, true);
  assert.equal(app.state.stream.source, null);
  assert.equal(app.state.store.incoming.length + app.state.store.held.length, 0);
  assert.equal(app.state.stream.rx.lastId, "a-5-f"); // resumes after the last line kept
  assert.equal(app.ui.status.attrs["data-state"], "paused");
});

test("one stream at a time: connecting again closes the one before", () => {
  const app = fakeApp();
  connect(app, "app.log");
  const first = last(app);
  connect(app, "other.log");
  assert.equal(first.closed, true);
  assert.equal(app.sources.length, 2);
  first.line("late", "a-4-f"); // a chunk already under way is not taken
  assert.equal(app.state.store.incoming.length, 0);
});
