// An event stream read with fetch() instead of EventSource. The browser's EventSource runs
// one task per event, which at thousands of lines a second keeps the page busy; here every
// chunk the network delivers is parsed at once and handed over as one array of events.
// The parser (WHATWG "text/event-stream" interpretation) is pure; EventStream does what
// EventSource does around it: Last-Event-ID, retry:, reconnecting after a lost connection,
// and giving up on an answer that is not a 200 event stream (the caller decides then).

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSED = 2;

/** Parses the text of one connection, chunk by chunk: push(text) returns its complete events. */
export class EventStreamParser {
  constructor(lastEventId = "") {
    this.lastEventId = lastEventId; // as of the last event dispatched (what a reconnect sends)
    this.retry = null; // the last valid retry: field, in ms
    this.idBuffer = lastEventId;
    this.type = "";
    this.data = null; // null: no data line yet
    this.rest = ""; // an incomplete line
    this.skipLF = false; // the last chunk ended with CR: an LF first in the next one ends nothing
    this.started = false; // a BOM is skipped only at the very start
  }

  /** Takes decoded text; returns the events it completed, [{type, data, lastEventId}]. */
  push(text) {
    const events = [];
    if (!text) return events;
    if (this.skipLF) {
      this.skipLF = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    if (!this.started && text) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const s = this.rest ? this.rest + text : text;
    const n = s.length;
    let pos = 0;
    let lf = s.indexOf("\n");
    let cr = s.indexOf("\r");
    for (;;) {
      if (lf !== -1 && lf < pos) lf = s.indexOf("\n", pos);
      if (cr !== -1 && cr < pos) cr = s.indexOf("\r", pos);
      let end;
      if (lf === -1) end = cr;
      else if (cr === -1) end = lf;
      else end = lf < cr ? lf : cr;
      if (end === -1) break;
      this.line(s.slice(pos, end), events);
      if (end === cr) {
        if (end + 1 < n) pos = s.charCodeAt(end + 1) === 10 ? end + 2 : end + 1;
        else {
          pos = n;
          this.skipLF = true;
        }
      } else pos = end + 1;
    }
    this.rest = pos < n ? s.slice(pos) : "";
    return events;
  }

  line(line, events) {
    if (line === "") {
      this.dispatch(events);
      return;
    }
    const colon = line.indexOf(":");
    if (colon === 0) return; // a comment
    let field = line;
    let value = "";
    if (colon > 0) {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    if (field === "data") this.data = this.data === null ? value : this.data + "\n" + value;
    else if (field === "id") {
      if (!value.includes("\0")) this.idBuffer = value;
    } else if (field === "event") this.type = value;
    else if (field === "retry") {
      if (/^[0-9]+$/.test(value)) this.retry = Number(value);
    }
  }

  dispatch(events) {
    this.lastEventId = this.idBuffer;
    const data = this.data;
    const type = this.type || "message";
    this.data = null;
    this.type = "";
    if (data === null) return;
    events.push({ type, data, lastEventId: this.lastEventId });
  }
}

/**
 * What to do after an answer that is not a 200 event stream (status 0: not one at all):
 * "retry" later (a proxy whose upstream restarts, a server overloaded), "auth" (the
 * sign-in ended) or "stop" (a stream that will not be there however often we ask).
 */
export function afterRefusal(status) {
  if (status === 401) return "auth";
  if (status === 0 || status === 408 || status === 429 || status >= 500) return "retry";
  return "stop";
}

/**
 * One stream, EventSource-like: readyState, url, lastEventId, status (of a refused answer),
 * and handlers onopen(), onevents(events) for each chunk's events, onready() once per
 * connection after its first chunk's events (the notices a server opens with), onerror() when the
 * connection is lost (readyState CONNECTING: it reconnects by itself after retry ms, with
 * Last-Event-ID) or refused (CLOSED, for good). close() aborts it.
 */
export class EventStream {
  constructor(url, { fetch = (...a) => globalThis.fetch(...a), lastEventId = "", retry = 1000 } = {}) {
    this.url = url;
    this.readyState = CONNECTING;
    this.lastEventId = lastEventId;
    this.retry = retry;
    this.status = 0;
    this.onopen = null;
    this.onevents = null;
    this.onready = null;
    this.onerror = null;
    this._fetch = fetch;
    this._abort = null;
    this._timer = 0;
    this._connect();
  }

  close() {
    this.readyState = CLOSED;
    clearTimeout(this._timer);
    if (this._abort) this._abort.abort();
    this._abort = null;
  }

  async _connect() {
    const abort = new AbortController();
    this._abort = abort;
    const live = () => this.readyState !== CLOSED && this._abort === abort;
    const headers = { Accept: "text/event-stream" };
    if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
    let res;
    try {
      res = await this._fetch(this.url, { headers, credentials: "same-origin", cache: "no-store", signal: abort.signal });
    } catch {
      if (live()) this._lost();
      return;
    }
    if (!live()) return;
    const type = (res.headers && res.headers.get("Content-Type")) || "";
    if (res.status !== 200 || !/^text\/event-stream\b/i.test(type) || !res.body) {
      this.status = res.status === 200 ? 0 : res.status;
      abort.abort(); // the body is not read
      this.readyState = CLOSED;
      if (this.onerror) this.onerror({ type: "error", status: this.status });
      return;
    }
    this.readyState = OPEN;
    if (this.onopen) this.onopen({ type: "open" });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const parser = new EventStreamParser(this.lastEventId);
    let first = true; // onready follows the first chunk's events: what the server opened with
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch {
        break; // the connection was lost (or aborted: then live() says so)
      }
      if (!live()) return;
      if (chunk.done) break;
      const events = parser.push(decoder.decode(chunk.value, { stream: true }));
      if (parser.retry !== null) this.retry = parser.retry;
      this.lastEventId = parser.lastEventId;
      if (events.length && this.onevents) this.onevents(events);
      if (!live()) return; // closed by a handler
      if (first) {
        first = false;
        if (this.onready) this.onready({ type: "ready" });
        if (!live()) return;
      }
    }
    if (live()) this._lost();
  }

  // Lost, or ended by the server: again after retry ms, from the last event id.
  _lost() {
    this.readyState = CONNECTING;
    if (this.onerror) this.onerror({ type: "error", status: 0 });
    if (this.readyState === CLOSED) return;
    clearTimeout(this._timer);
    this._timer = setTimeout(() => {
      if (this.readyState !== CLOSED) this._connect();
    }, this.retry);
  }
}

// Like EventSource's constants, on every stream: es.readyState === es.OPEN.
Object.assign(EventStream.prototype, { CONNECTING, OPEN, CLOSED });
