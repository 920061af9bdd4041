// eventstream.js: the event-stream parser, whatever the chunks (a boundary inside a CRLF,
// inside a UTF-8 character), and the stream's decisions: what it sends when it
// reconnects, when it waits, when it gives up.
import assert from "node:assert/strict";
import { test } from "node:test";

import { afterRefusal, CLOSED, CONNECTING, EventStream, EventStreamParser, OPEN } from "../../web/eventstream.js";

/** Parses the chunks (strings, or bytes through one streaming TextDecoder). */
function parse(chunks, lastEventId = "") {
  const p = new EventStreamParser(lastEventId);
  const decoder = new TextDecoder();
  const events = [];
  for (const c of chunks) {
    const text = typeof c === "string" ? c : decoder.decode(c, { stream: true });
    events.push(...p.push(text));
  }
  return { events, lastEventId: p.lastEventId, retry: p.retry };
}

const msg = (data, lastEventId = "", type = "message") => ({ type, data, lastEventId });

test("fields: data, id, event, retry, comments", () => {
  const got = parse([": a comment\nretry: 2500\nid: a-4-f\ndata: one\n\nevent: rotated\ndata: {\"m\":1}\n\n"]);
  assert.deepEqual(got.events, [msg("one", "a-4-f"), msg('{"m":1}', "a-4-f", "rotated")]);
  assert.equal(got.retry, 2500);
  assert.equal(got.lastEventId, "a-4-f");
});

test("data lines are joined with a newline; one space after the colon is dropped", () => {
  const got = parse(["data: one\ndata:two\ndata:  three\ndata\ndata:\n\n"]);
  assert.deepEqual(got.events, [msg("one\ntwo\n three\n\n")]);
});

test("an empty data line is an event with empty data; no data line is none", () => {
  assert.deepEqual(parse(["data\n\n"]).events, [msg("")]);
  assert.deepEqual(parse(["event: busy\n\n"]).events, []);
  // and the type does not carry over to the next event
  assert.deepEqual(parse(["event: busy\n\ndata: x\n\n"]).events, [msg("x")]);
});

test("an event is dispatched at a blank line only: not at the end of the text", () => {
  const p = new EventStreamParser();
  assert.deepEqual(p.push("id: 1\ndata: x\n"), []);
  assert.deepEqual(p.push("\n"), [msg("x", "1")]);
  assert.deepEqual(p.push("data: unfinished"), []);
});

test("the last event id is kept across events, set at the blank line, reset by an empty id", () => {
  const got = parse(["id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\n"]);
  assert.deepEqual(got.events, [msg("a", "7"), msg("b", "7"), msg("c", "")]);
  // an id alone takes effect at its blank line, with no event
  const p = new EventStreamParser("start");
  assert.deepEqual(p.push("id: 9\n"), []);
  assert.equal(p.lastEventId, "start");
  p.push("\n");
  assert.equal(p.lastEventId, "9");
  // a stream opened again starts from the id it resumed after
  assert.deepEqual(parse(["data: d\n\n"], "9").events, [msg("d", "9")]);
});

test("an id with NUL is ignored", () => {
  const got = parse(["id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"]);
  assert.deepEqual(got.events, [msg("a", "1"), msg("b", "1")]);
});

test("retry: only digits count", () => {
  assert.equal(parse(["retry: 10x\n\n"]).retry, null);
  assert.equal(parse(["retry: -5\n\n"]).retry, null);
  assert.equal(parse(["retry:\n\n"]).retry, null);
  assert.equal(parse(["retry: 300\nretry: bad\n\n"]).retry, 300);
});

test("unknown fields and colon-less names are ignored", () => {
  assert.deepEqual(parse(["foo: bar\nDATA: no\nid:x\ndata:y\n\n"]).events, [msg("y", "x")]);
});

test("CR, LF and CRLF all end lines", () => {
  const want = [msg("a\nb", "1"), msg("c", "1", "rotated")];
  for (const eol of ["\n", "\r", "\r\n"]) {
    const text = ["id: 1", "data: a", "data: b", "", "event: rotated", "data: c", "", ""].join(eol);
    assert.deepEqual(parse([text]).events, want, JSON.stringify(eol));
  }
  // mixed, and CR CR is two line ends (an empty line: a dispatch)
  assert.deepEqual(parse(["data: a\r\rdata: b\r\n\ndata: c\n\r"]).events, [msg("a"), msg("b"), msg("c")]);
});

test("a BOM is skipped at the start only", () => {
  assert.deepEqual(parse(["\uFEFFdata: a\n\n"]).events, [msg("a")]);
  assert.deepEqual(parse(["\uFEFF", "data: a\n\n"]).events, [msg("a")]);
  // later, it is part of a field name that nobody knows
  assert.deepEqual(parse(["data: a\n\n\uFEFFdata: b\n\n"]).events, [msg("a")]);
  // through the decoder (which drops a leading BOM itself): one is dropped, not two
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("data: a\n\n")]);
  assert.deepEqual(parse([bytes]).events, [msg("a")]);
});

// A stream with every kind of line end and multi-byte characters (2, 3 and 4 bytes).
const STREAM =
  ": hello\r\nretry: 1500\r\nid: a-4-f\r\ndata: é ü\r\n\r\n" +
  "id: a-9-f\rdata: 日本語\rdata: 🎉 two\r\r" +
  "event: rotated\ndata: {\"message\": \"rotated\"}\n\n" +
  "id: b-3-f\0\nid: b-4-f\r\ndata: last 🎉\n\n" +
  "data: not finished";
const WANT = [
  msg("é ü", "a-4-f"),
  msg("日本語\n🎉 two", "a-9-f"),
  msg('{"message": "rotated"}', "a-9-f", "rotated"),
  msg("last 🎉", "b-4-f"),
];

test("chunk boundaries anywhere in the text (inside a CRLF too) change nothing", () => {
  assert.deepEqual(parse([STREAM]).events, WANT);
  for (let i = 0; i <= STREAM.length; i++) {
    const got = parse([STREAM.slice(0, i), STREAM.slice(i)]);
    assert.deepEqual(got.events, WANT, `split at ${i}`);
    assert.equal(got.retry, 1500);
    assert.equal(got.lastEventId, "b-4-f");
  }
});

test("chunk boundaries anywhere in the bytes (inside a UTF-8 character too) change nothing", () => {
  const bytes = new TextEncoder().encode(STREAM);
  for (let i = 0; i <= bytes.length; i++) {
    for (const j of [i, i + 1, i + 2, i + 3, bytes.length]) {
      if (j > bytes.length) continue;
      const got = parse([bytes.slice(0, i), bytes.slice(i, j), bytes.slice(j)]);
      assert.deepEqual(got.events, WANT, `split at ${i} and ${j}`);
    }
  }
  // one byte at a time
  assert.deepEqual(parse([...bytes].map((b) => new Uint8Array([b]))).events, WANT);
});

test("many events in one chunk come back as one array, in order", () => {
  let text = "";
  for (let i = 0; i < 5000; i++) text += `id: a-${i}-f\ndata: line ${i}\n\n`;
  const got = parse([text]);
  assert.equal(got.events.length, 5000);
  assert.deepEqual(got.events[4999], msg("line 4999", "a-4999-f"));
});

test("a refusal: 401 is the sign-in, 502/503/504 and other 5xx are asked again, 404 and the like stop", () => {
  assert.equal(afterRefusal(401), "auth");
  for (const s of [502, 503, 504, 500, 429, 408, 0]) assert.equal(afterRefusal(s), "retry", String(s));
  for (const s of [400, 403, 404, 410]) assert.equal(afterRefusal(s), "stop", String(s));
});

// ------------------------------------------------------------------ the stream, over a fake fetch

/** A fake fetch: records each request; answer(i) gives the i-th response (or throws). */
function fakeFetch(answer) {
  const calls = [];
  const fetch = async (url, init) => {
    const call = { url, init, headers: { ...init.headers }, aborted: false };
    init.signal.addEventListener("abort", () => {
      call.aborted = true;
    });
    calls.push(call);
    return answer(calls.length - 1, call);
  };
  return { fetch, calls };
}

/** A 200 event stream whose body is fed by hand: push(bytes or text), end(), fail(). */
function streamResponse(call) {
  let controller;
  const body = new ReadableStream({
    start(c) {
      controller = c;
    },
  });
  call.init.signal.addEventListener("abort", () => {
    try {
      controller.error(new DOMException("aborted", "AbortError"));
    } catch {
      // already closed
    }
  });
  const feed = {
    push: (x) => controller.enqueue(typeof x === "string" ? new TextEncoder().encode(x) : x),
    end: () => controller.close(),
    fail: () => controller.error(new TypeError("network error")),
  };
  call.feed = feed;
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream; charset=utf-8" } });
}

async function until(check, what, ms = 2000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting for " + what);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

test("events of one chunk arrive in one call; a lost connection resumes with Last-Event-ID after retry", async () => {
  const { fetch, calls } = fakeFetch((i, call) => streamResponse(call));
  const es = new EventStream("events/app.log?lines=10", { fetch, retry: 5000 });
  const batches = [];
  let opened = 0;
  const errors = [];
  es.onopen = () => opened++;
  es.onevents = (events) => batches.push(events);
  es.onerror = () => errors.push(es.readyState);
  await until(() => opened === 1, "open");
  assert.equal(es.readyState, OPEN);
  const first = calls[0];
  assert.equal(first.init.credentials, "same-origin");
  assert.equal(first.headers.Accept, "text/event-stream");
  assert.equal(first.headers["Last-Event-ID"], undefined);
  first.feed.push("retry: 20\n\nid: a-4-f\ndata: one\n\nid: a-8-f\ndata: two\n\nid: a-1");
  await until(() => batches.length === 1, "the first chunk");
  assert.deepEqual(batches[0], [msg("one", "a-4-f"), msg("two", "a-8-f")]);
  first.feed.push("2-f\ndata: three\r");
  first.feed.push("\n\r\n");
  await until(() => batches.length === 2, "the second chunk");
  assert.deepEqual(batches[1], [msg("three", "a-12-f")]);
  assert.equal(es.lastEventId, "a-12-f");
  first.feed.fail();
  await until(() => errors.length === 1, "the error");
  assert.deepEqual(errors, [CONNECTING]);
  await until(() => calls.length === 2, "the reconnect (after retry: 20, not 5000)", 1000);
  assert.equal(calls[1].url, "events/app.log?lines=10");
  assert.equal(calls[1].headers["Last-Event-ID"], "a-12-f");
  // the server ending the response is a reconnect too
  await until(() => opened === 2, "open again");
  calls[1].feed.push("data: four\n\n");
  calls[1].feed.end();
  await until(() => calls.length === 3, "the reconnect after the end");
  assert.deepEqual(batches[2], [msg("four", "a-12-f")]);
  es.close();
  assert.equal(calls[2].aborted, true);
});

test("a network error before any answer is retried too", async () => {
  const { fetch, calls } = fakeFetch((i, call) => {
    if (i === 0) throw new TypeError("Failed to fetch");
    return streamResponse(call);
  });
  const es = new EventStream("events/x", { fetch, retry: 5, lastEventId: "a-4-f" });
  const states = [];
  es.onerror = () => states.push(es.readyState);
  await until(() => calls.length === 2, "the retry");
  assert.deepEqual(states, [CONNECTING]);
  assert.equal(calls[1].headers["Last-Event-ID"], "a-4-f");
  es.close();
});

test("an answer that is not a 200 event stream closes the stream for good, with its status", async () => {
  for (const [status, type, want] of [
    [502, "text/plain", 502],
    [401, "application/json", 401],
    [404, "text/html", 404],
    [200, "text/html", 0],
  ]) {
    const { fetch, calls } = fakeFetch(() => new Response("no", { status, headers: { "Content-Type": type } }));
    const es = new EventStream("events/x", { fetch, retry: 1 });
    let errors = 0;
    es.onerror = () => errors++;
    await until(() => errors === 1, `the error for ${status}`);
    assert.equal(es.readyState, CLOSED);
    assert.equal(es.status, want);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(calls.length, 1, "not asked again by the stream itself");
  }
});

test("close() aborts the request and nothing more is delivered", async () => {
  const { fetch, calls } = fakeFetch((i, call) => streamResponse(call));
  const es = new EventStream("events/x", { fetch, retry: 1 });
  const batches = [];
  let errors = 0;
  es.onevents = (events) => batches.push(events);
  es.onerror = () => errors++;
  es.onopen = () => {};
  await until(() => calls.length === 1 && calls[0].feed, "the request");
  await until(() => es.readyState === OPEN, "open");
  es.close();
  assert.equal(calls[0].aborted, true);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.deepEqual(batches, []);
  assert.equal(errors, 0);
  assert.equal(calls.length, 1);
});

test("a handler that closes the stream stops it there", async () => {
  const { fetch, calls } = fakeFetch((i, call) => streamResponse(call));
  const es = new EventStream("events/x", { fetch, retry: 1 });
  const batches = [];
  es.onevents = (events) => {
    batches.push(events);
    es.close();
  };
  await until(() => es.readyState === OPEN, "open");
  calls[0].feed.push("data: a\n\n");
  await until(() => batches.length === 1, "the chunk");
  assert.equal(calls[0].aborted, true);
  await new Promise((resolve) => setTimeout(resolve, 30));
  assert.equal(calls.length, 1);
  assert.equal(es.readyState, CLOSED);
});

test("onready follows the first chunk's events, once per connection, also for a chunk of no event", async () => {
  const { fetch, calls } = fakeFetch((i, call) => streamResponse(call));
  const es = new EventStream("events/x", { fetch, retry: 1 });
  const seen = [];
  es.onopen = () => seen.push("open");
  es.onevents = (events) => seen.push(events.map((e) => e.type).join(","));
  es.onready = () => seen.push("ready");
  await until(() => es.readyState === OPEN, "open");
  assert.deepEqual(seen, ["open"]); // not live yet: the server's opening has not been read
  calls[0].feed.push("retry: 1\n\nevent: missing\ndata: {}\n\n");
  await until(() => seen.length === 3, "the first chunk");
  assert.deepEqual(seen, ["open", "missing", "ready"]);
  calls[0].feed.push("data: x\n\n");
  await until(() => seen.length === 4, "the second chunk");
  calls[0].feed.end();
  await until(() => calls.length === 2 && calls[1].feed, "the reconnect");
  calls[1].feed.push("retry: 1\n\n");
  await until(() => seen.length === 6, "ready again");
  assert.deepEqual(seen.slice(3), ["message", "open", "ready"]);
  es.close();
});
