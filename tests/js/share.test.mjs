import assert from "node:assert/strict";
import { test } from "node:test";

import {
  createRing,
  dropRepeats,
  keep,
  openShared,
  replayFor,
  resumeUrl,
  ringEvents,
  SharedStream,
  startOf,
  streamKey,
} from "../../web/share.js";
import { EventStream, OPEN } from "../../web/eventstream.js";

const msg = (data, id) => ({ type: "message", data, lastEventId: id });

test("a stream's key leaves out where it starts; resuming asks after an id instead of a backlog", () => {
  assert.equal(streamKey("events/app.log?lines=20"), "events/app.log");
  assert.equal(streamKey("events/app.log?after=a-4-f"), "events/app.log");
  assert.equal(streamKey("events?file=a.log&file=b.log&after=m.x"), "events?file=a.log&file=b.log");
  assert.notEqual(streamKey("events/a.log"), streamKey("events/b.log"));
  assert.deepEqual(startOf("events/app.log?lines=20"), { after: null, lines: 20 });
  assert.deepEqual(startOf("events?file=*&after=m.1"), { after: "m.1", lines: null });
  assert.equal(resumeUrl("events/app.log?lines=20", "a-4-f"), "events/app.log?after=a-4-f");
  assert.equal(resumeUrl("events?file=*&lines=5", "m.ab"), "events?file=*&after=m.ab");
  assert.equal(resumeUrl("http://h:1/logs/events/x", "a-1-f"), "http://h:1/logs/events/x?after=a-1-f");
});

test("the leader's ring hands a joining tab the last lines, or what came after an id", () => {
  const ring = createRing({ after: null, lines: 3 }, 5);
  keep(ring, [msg("1", "a-1-f"), msg("2", "a-2-f"), { type: "rotated", data: "{}", lastEventId: "a-2-f" }]);
  keep(ring, [msg("3", "b-1-f")]);
  assert.deepEqual(replayFor(ring, { lines: 2 }).map((e) => e.data), ["2", "{}", "3"]);
  assert.deepEqual(replayFor(ring, { lines: 0 }), []);
  // Fewer lines than asked: all of them, since the stream started with a backlog of 3.
  assert.deepEqual(replayFor(ring, { lines: 3 }).map((e) => e.data), ["1", "2", "{}", "3"]);
  assert.equal(replayFor(ring, { lines: 4 }), null); // it may have held more: cannot say
  assert.deepEqual(replayFor(ring, { after: "a-1-f" }).map((e) => e.data), ["2", "{}", "3"]);
  assert.deepEqual(replayFor(ring, { after: "a-2-f" }).map((e) => e.data), ["3"]); // the notice came too
  assert.deepEqual(replayFor(ring, { after: "b-1-f" }), []);
  assert.equal(replayFor(ring, { after: "z-9-f" }), null);
  keep(ring, [msg("4", "b-2-f"), msg("5", "b-3-f")]); // six: without the oldest chunk, too few
  assert.deepEqual(ringEvents(ring).map((e) => e.data), ["1", "2", "{}", "3", "4", "5"]);
  assert.deepEqual(replayFor(ring, { after: "b-1-f" }).map((e) => e.data), ["4", "5"]);
  keep(ring, [6, 7, 8, 9, 10, 11].map((i) => msg(String(i), `c-${i}-f`))); // a chunk is kept whole
  assert.deepEqual(ringEvents(ring).map((e) => e.data), ["6", "7", "8", "9", "10", "11"]);
  assert.deepEqual(replayFor(ring, { lines: 2 }).map((e) => e.data), ["10", "11"]);
  assert.equal(replayFor(ring, { lines: 7 }), null); // trimmed: it cannot say
  // A ring that began after an id hands over everything to one who asks after the same id.
  const resumed = createRing({ after: "a-9-f", lines: null });
  keep(resumed, [msg("10", "a-10-f")]);
  assert.deepEqual(replayFor(resumed, { after: "a-9-f" }).map((e) => e.data), ["10"]);
  assert.equal(replayFor(resumed, { lines: 5 }), null);
});

test("a new stream's lines already delivered are dropped, up to the first new one", () => {
  const ring = createRing({ after: null, lines: 10 });
  keep(ring, [msg("1", "a-1-f"), msg("2", "a-2-f"), msg("3", "a-3-f")]);
  const first = dropRepeats(ring, [msg("2", "a-2-f")]);
  assert.deepEqual(first.events, []);
  assert.equal(first.done, false); // maybe more to come
  const notice = { type: "busy", data: "{}", lastEventId: "a-2-f" };
  const next = dropRepeats(ring, [notice, msg("3", "a-3-f"), msg("4", "a-4-f"), msg("2", "a-2-f")], first.known);
  assert.deepEqual(next.events.map((e) => e.data), ["{}", "4", "2"]); // after a new line, none is a repeat
  assert.equal(next.done, true);
  const truncated = { type: "truncated", data: "{}", lastEventId: "a-3-f" };
  const again = dropRepeats(ring, [truncated, msg("1 again", "a-1-f")]);
  assert.deepEqual(again.events.map((e) => e.data), ["{}", "1 again"]); // a file that started again
  assert.equal(again.done, true);
});

// ------------------------------------------------------------------ tabs, over fake locks and fetch

/** Web Locks as the browser gives them: exclusive, granted in order, ifAvailable and signal. */
function fakeLocks() {
  const held = new Set();
  const queues = new Map();
  const grant = (name, req) => {
    held.add(name);
    Promise.resolve()
      .then(() => req.cb({ name }))
      .then(req.resolve, req.reject)
      .finally(() => {
        const next = (queues.get(name) || []).shift();
        if (next) grant(name, next);
        else held.delete(name);
      });
  };
  return {
    request(name, opts, cb) {
      return new Promise((resolve, reject) => {
        const req = { cb, resolve, reject };
        if (!held.has(name)) return grant(name, req);
        if (opts.ifAvailable) return Promise.resolve(cb(null)).then(resolve, reject);
        if (!queues.has(name)) queues.set(name, []);
        queues.get(name).push(req);
        if (opts.signal) {
          opts.signal.addEventListener("abort", () => {
            const q = queues.get(name);
            if (q.includes(req)) q.splice(q.indexOf(req), 1);
            reject(new DOMException("aborted", "AbortError"));
          });
        }
      });
    },
  };
}

/** The server: every stream request answered with a stream fed by hand. */
function fakeServer() {
  const calls = [];
  const fetch = async (url, init) => {
    let controller;
    const body = new ReadableStream({ start: (c) => (controller = c) });
    const call = {
      url,
      open: true,
      push: (text) => controller.enqueue(new TextEncoder().encode(text)),
      fail: () => controller.error(new TypeError("network error")),
    };
    init.signal.addEventListener("abort", () => {
      call.open = false;
      try {
        controller.error(new DOMException("aborted", "AbortError"));
      } catch {
        // closed
      }
    });
    calls.push(call);
    return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
  };
  return { fetch, calls, open: () => calls.filter((c) => c.open) };
}

async function until(check, what, ms = 3000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function tab(locks, server, url) {
  const win = { navigator: { locks }, BroadcastChannel };
  const es = openShared(url, { win, fetch: server.fetch, lines: 100 });
  const got = [];
  es.onevents = (events) => got.push(...events.filter((e) => e.type === "message").map((e) => e.data));
  return { es, got };
}

const event = (id, data) => `id: ${id}\ndata: ${data}\n\n`;

test("tabs share the leader's stream, join with a backlog and take over after the last line", async () => {
  const locks = fakeLocks();
  const server = fakeServer();
  const a = tab(locks, server, "events/app.log?lines=2");
  assert.ok(a.es instanceof SharedStream);
  await until(() => server.calls.length === 1, "the leader's stream");
  await until(() => a.es.readyState === OPEN, "open");
  server.calls[0].push(event("a-1-f", "one") + event("a-2-f", "two") + event("a-3-f", "three"));
  await until(() => a.got.length === 3, "the leader's lines");
  assert.equal(a.es.role, "leader");

  const b = tab(locks, server, "events/app.log?lines=2");
  await until(() => b.es.role === "follower", "a follower");
  assert.deepEqual(b.got, ["two", "three"]); // its backlog, from the leader
  assert.equal(b.es.readyState, OPEN);
  server.calls[0].push(event("a-4-f", "four"));
  await until(() => b.got.length === 3, "the follower's line");
  assert.equal(server.calls.length, 1);

  const c = tab(locks, server, "events/app.log?after=a-3-f"); // resuming: what came after three
  await until(() => c.es.role === "follower", "another follower");
  assert.deepEqual(c.got, ["four"]);

  a.es.close();
  await until(() => b.es.role === "leader", "a new leader");
  await until(() => server.calls.length === 2, "its stream");
  assert.equal(server.calls[1].url, "events/app.log?after=a-4-f");
  assert.equal(server.calls[0].open, false);
  server.calls[1].push(event("a-4-f", "four") + event("a-5-f", "five")); // a repeat is dropped
  await until(() => c.got.length === 2 && b.got.length === 4, "lines after the takeover");
  assert.deepEqual(b.got, ["two", "three", "four", "five"]);
  assert.deepEqual(c.got, ["four", "five"]);
  assert.equal(server.open().length, 1);

  // One the leader cannot serve (it never held that line) reads its own stream.
  const d = tab(locks, server, "events/app.log?after=a-0-f");
  await until(() => d.es.role === "own", "a stream of its own");
  assert.equal(server.calls[2].url, "events/app.log?after=a-0-f");
  for (const t of [b, c, d]) t.es.close();
  await until(() => server.open().length === 0, "every stream closed");
});

test("a follower takes the leader's state; without Web Locks every tab has its own stream", async () => {
  const locks = fakeLocks();
  const server = fakeServer();
  const a = tab(locks, server, "events/x");
  await until(() => a.es.readyState === OPEN, "open");
  const b = tab(locks, server, "events/x");
  const errors = [];
  b.es.onerror = () => errors.push(b.es.readyState);
  await until(() => b.es.role === "follower" && b.es.readyState === OPEN, "a follower");
  server.calls[0].push(event("x-1-f", "one"));
  await until(() => b.got.length === 1, "a line");
  server.calls[0].fail(); // the leader's connection is lost: it reconnects by itself
  await until(() => errors.length === 1, "the follower told");
  assert.equal(b.es.readyState, 0);
  await until(() => server.calls.length === 2 && b.es.readyState === OPEN, "open again, for both");
  server.calls[1].push(event("x-2-f", "two"));
  await until(() => b.got.length === 2, "the line after");
  assert.deepEqual(b.got, ["one", "two"]);
  a.es.close();
  b.es.close();

  const plain = openShared("events/x", { win: { navigator: {}, BroadcastChannel }, fetch: server.fetch });
  assert.ok(plain instanceof EventStream);
  plain.close();
});

test("a tab reading its own stream that comes to lead is followed from each follower's own last line", async () => {
  const locks = fakeLocks();
  const server = fakeServer();
  const a = tab(locks, server, "events/app.log?lines=2");
  await until(() => a.es.readyState === OPEN, "open");
  server.calls[0].push(event("a-3-f", "three") + event("a-4-f", "four"));
  await until(() => a.got.length === 2, "the leader's lines");
  const d = tab(locks, server, "events/app.log?after=a-1-f"); // the leader never had a-1-f
  await until(() => d.es.role === "own" && server.calls.length === 2, "a stream of its own");
  server.calls[1].push(event("a-2-f", "two") + event("a-3-f", "three"));
  await until(() => d.got.length === 2, "its own lines");
  const e = tab(locks, server, "events/app.log?lines=2");
  await until(() => e.es.role === "follower", "a follower");
  assert.deepEqual(e.got, ["three", "four"]);

  server.calls[1].push(event("a-4-f", "four")); // d has caught up
  await until(() => d.got.length === 3, "caught up");
  a.es.close(); // d waited first: it leads, with its own stream; e asks it for what follows four
  await until(() => d.es.role === "leader", "the own stream leads");
  await until(() => e.es.role === "follower" && e.es._leader === d.es._me, "e follows d");
  server.calls[1].push(event("a-5-f", "five"));
  await until(() => e.got.length === 3 && d.got.length === 4, "lines after");
  assert.deepEqual(e.got, ["three", "four", "five"]);
  assert.deepEqual(d.got, ["two", "three", "four", "five"]);
  assert.equal(e.es.role, "follower");
  assert.equal(server.open().length, 1);
  d.es.close();
  e.es.close();
});
