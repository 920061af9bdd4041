// tailsse viewer. One EventSource per tab. Log text only ever reaches the page through
// textContent and text nodes: a line can look like HTML, it can never become HTML.
(function () {
  "use strict";

  var doc = document;
  var root = doc.documentElement;
  var embed = root.getAttribute("data-mode") === "embed";
  var params = new URLSearchParams(location.search);
  var FILE_EVENTS = ["rotated", "truncated", "missing", "appeared", "lost", "unreadable", "unavailable", "available"];
  var DEFAULT_KEEP = 10000;
  var MIN_KEEP = 100;
  var MAX_KEEP = 1000000;
  var PIECE_LIMIT = 262144; // pieces of an over-long line are joined up to this many characters
  var ID_RE = /^([0-9a-f]+)-(\d+)-[0-9a-f]+(-p)?$/;

  var $ = function (id) { return doc.getElementById(id); };
  var logEl = $("log");
  var viewEl = $("view");
  var statusEl = $("status");
  var statusText = $("status-text");
  var fileSelect = $("file");
  var filterInput = $("filter");
  var countEl = $("count");
  var jumpEl = $("jump");
  var jumpText = $("jump-text");
  var toastEl = $("toast");
  var toolsTemplate = $("row-tools");

  // ---- settings: URL parameters win, then what this browser remembered, then defaults

  var storage = null;
  try { storage = embed ? null : window.localStorage; } catch (err) { storage = null; }

  function remembered(key) {
    try { return storage ? storage.getItem("tailsse." + key) : null; } catch (err) { return null; }
  }

  function remember(key, value) {
    try { if (storage) storage.setItem("tailsse." + key, String(value)); } catch (err) { /* private mode */ }
  }

  function flag(value, fallback) {
    if (value === null || value === undefined || value === "") return fallback;
    value = String(value).toLowerCase();
    if (["1", "true", "on", "yes"].indexOf(value) >= 0) return true;
    if (["0", "false", "off", "no"].indexOf(value) >= 0) return false;
    return fallback;
  }

  function setting(key, fallback) {
    return params.has(key) ? params.get(key) : remembered(key) !== null ? remembered(key) : fallback;
  }

  function clampKeep(value) {
    var n = parseInt(value, 10);
    if (!isFinite(n)) return DEFAULT_KEEP;
    return Math.min(MAX_KEEP, Math.max(MIN_KEEP, n));
  }

  var opts = {
    theme: ["auto", "light", "dark"].indexOf(setting("theme", "auto")) >= 0 ? setting("theme", "auto") : "auto",
    wrap: flag(setting("wrap", "1"), true),
    time: flag(setting("time", "0"), false),
    json: flag(setting("json", "0"), false),
    keep: clampKeep(setting("keep", DEFAULT_KEEP)),
    follow: flag(params.get("follow"), true),
    filter: params.get("filter") || "",
    regex: flag(params.get("regex"), false),
    matchCase: flag(params.get("case"), false),
  };
  // ?lines=N asks for a backlog; the server refuses more than 100,000 (an error would stop the stream)
  var backlogParam = /^\d{1,9}$/.test(params.get("lines") || "") ? String(Math.min(100000, +params.get("lines"))) : null;

  // ---- state

  var current = null; // name of the file shown
  var files = []; // from api/files
  var source = null; // the EventSource
  var entries = []; // lines kept in the page, oldest first
  var incoming = []; // received, not yet handled (handled once per animation frame)
  var held = []; // handled while paused: nothing is dropped, it waits here
  var heldShown = 0; // how many of those pass the filter
  var frameQueued = false;
  var mode = "live"; // live | scroll (paused by scrolling up) | user (paused by the button)
  var piece = null; // an over-long line arriving in pieces
  var lastPos = null; // {ino, offset} of the last line received, to drop repeats after a manual reconnect
  var dedupe = false;
  var reconnectTimer = 0;
  var busyTimer = 0;
  var reconnectDelay = 1000;
  var pauseAt = null; // follow=0: pause once lines beyond this file size arrive
  var matcher = null; // the compiled filter, or null
  var matchLines = 0;
  var matchCount = 0;
  var lineCount = 0; // line entries kept (meta rows aside)
  var received = 0;
  var lastTop = 0;
  var lastInput = -1e9; // when the user last scrolled by hand (wheel, touch, keys, scrollbar)
  var toolsEl = null;
  var authRequired = false; // the server asked for credentials we do not have
  var AUTH_HELP = "Authentication required: reload the page, or open the link with ?token= again";

  // ---- ANSI SGR colours: parsed into runs over the visible text; other escapes are dropped

  var ESC_RE = /\x1b(?:\[([0-9;:?]*)[ -\/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[P^_][^\x1b]*(?:\x1b\\)?|[@-Z\\-_]?)/g;

  function xterm(n) {
    if (n < 232) {
      n -= 16;
      var steps = [0, 95, 135, 175, 215, 255];
      return "rgb(" + steps[Math.floor(n / 36)] + "," + steps[Math.floor(n / 6) % 6] + "," + steps[n % 6] + ")";
    }
    var g = 8 + (n - 232) * 10;
    return "rgb(" + g + "," + g + "," + g + ")";
  }

  function extendedColour(codes, i) {
    // 38;5;n  or  38;2;r;g;b (also with ':' separators, already split)
    if (codes[i + 1] === 5 && codes.length > i + 2) {
      var n = codes[i + 2];
      return { skip: 2, value: n < 16 ? n : n < 256 ? xterm(n) : null };
    }
    if (codes[i + 1] === 2 && codes.length > i + 4) {
      var c = codes.slice(i + 2, i + 5).map(function (v) { return Math.max(0, Math.min(255, v | 0)); });
      return { skip: 4, value: "rgb(" + c.join(",") + ")" };
    }
    return { skip: codes.length, value: null };
  }

  function applySgr(st, text) {
    var codes = text === "" ? [0] : text.split(/[;:]/).map(function (v) { return v === "" ? 0 : +v; });
    for (var i = 0; i < codes.length; i++) {
      var c = codes[i];
      if (c === 0) { st.fg = st.bg = null; st.b = st.d = st.i = st.u = st.s = st.inv = false; }
      else if (c === 1) st.b = true;
      else if (c === 2) st.d = true;
      else if (c === 3) st.i = true;
      else if (c === 4) st.u = true;
      else if (c === 7) st.inv = true;
      else if (c === 9) st.s = true;
      else if (c === 22) st.b = st.d = false;
      else if (c === 23) st.i = false;
      else if (c === 24) st.u = false;
      else if (c === 27) st.inv = false;
      else if (c === 29) st.s = false;
      else if (c >= 30 && c <= 37) st.fg = c - 30;
      else if (c >= 90 && c <= 97) st.fg = c - 82;
      else if (c === 39) st.fg = null;
      else if (c >= 40 && c <= 47) st.bg = c - 40;
      else if (c >= 100 && c <= 107) st.bg = c - 92;
      else if (c === 49) st.bg = null;
      else if (c === 38 || c === 48) {
        var ext = extendedColour(codes, i);
        if (c === 38) st.fg = ext.value; else st.bg = ext.value;
        i += ext.skip;
      }
    }
  }

  function styleOf(st) {
    var fg = st.fg, bg = st.bg;
    if (st.inv) { var t = fg; fg = bg === null ? "inv" : bg; bg = t === null ? "inv" : t; }
    var cls = "";
    var run = { cls: "", fgx: null, bgx: null };
    if (fg === "inv") cls += " a-fg-inv";
    else if (typeof fg === "number") cls += " a-fg" + fg;
    else if (fg) { cls += " a-fgx"; run.fgx = fg; }
    if (bg === "inv") cls += " a-bg-inv";
    else if (typeof bg === "number") cls += " a-bg" + bg;
    else if (bg) { cls += " a-bgx"; run.bgx = bg; }
    if (st.b) cls += " a-b";
    if (st.d) cls += " a-d";
    if (st.i) cls += " a-i";
    if (st.u) cls += " a-u";
    if (st.s) cls += " a-s";
    run.cls = cls.trim();
    return run.cls ? run : null;
  }

  function parseAnsi(raw) {
    var st = { fg: null, bg: null, b: false, d: false, i: false, u: false, s: false, inv: false };
    var out = "";
    var runs = [];
    var style = null;
    var last = 0;
    var m;
    function take(upto) {
      if (upto <= last) return;
      var start = out.length;
      out += raw.slice(last, upto);
      if (style) {
        var prev = runs[runs.length - 1];
        if (prev && prev.e === start && prev.cls === style.cls && prev.fgx === style.fgx && prev.bgx === style.bgx) {
          prev.e = out.length;
        } else {
          runs.push({ s: start, e: out.length, cls: style.cls, fgx: style.fgx, bgx: style.bgx });
        }
      }
    }
    ESC_RE.lastIndex = 0;
    while ((m = ESC_RE.exec(raw)) !== null) {
      take(m.index);
      last = ESC_RE.lastIndex;
      if (m[2] === "m" && m[1] !== undefined && m[1].indexOf("?") < 0) {
        applySgr(st, m[1]);
        style = styleOf(st);
      }
      if (m[0].length === 0) ESC_RE.lastIndex++;
    }
    take(raw.length);
    return { text: out, runs: runs.length ? runs : null };
  }

  // ---- levels

  var LEVELS = {
    fatal: "fatal", critical: "fatal", crit: "fatal", emerg: "fatal", emergency: "fatal", alert: "fatal",
    panic: "fatal", severe: "error", error: "error", err: "error", warning: "warn", warn: "warn",
    notice: "info", info: "info", information: "info", debug: "debug", dbg: "debug", trace: "trace",
    verbose: "trace",
  };
  var LEVEL_KV = /\b(?:level|lvl|severity|loglevel|levelname)"?\s*[:=]\s*"?([A-Za-z]+)/i;
  var LEVEL_WORD = /\b(FATAL|CRITICAL|CRIT|EMERG|EMERGENCY|ALERT|PANIC|SEVERE|ERROR|ERR|WARNING|WARN|NOTICE|INFO|DEBUG|DBG|TRACE|VERBOSE)\b/;
  var LEVEL_TAG = /[[<(](fatal|critical|crit|emerg|alert|panic|error|err|warning|warn|notice|info|debug|trace)[\]>)]/i;

  function detectLevel(e) {
    var head = e.plain.length > 400 ? e.plain.slice(0, 400) : e.plain;
    var m = LEVEL_KV.exec(head);
    if (m && LEVELS[m[1].toLowerCase()]) {
      var at = m.index + m[0].length - m[1].length;
      e.level = LEVELS[m[1].toLowerCase()];
      e.lvl = [at, at + m[1].length];
      return;
    }
    m = LEVEL_WORD.exec(head) || LEVEL_TAG.exec(head);
    if (m) {
      var start = m.index + m[0].indexOf(m[1]);
      e.level = LEVELS[m[1].toLowerCase()];
      e.lvl = [start, start + m[1].length];
    }
  }

  // ---- entries: one per line or file event; prepared lazily

  function lineEntry(text, id, piecewise) {
    return { meta: false, raw: text, id: id, t: Date.now(), piece: piecewise, plain: null, node: null };
  }

  function metaEntry(kind, message) {
    return { meta: true, kind: kind, raw: message, plain: message, t: Date.now(), node: null, shown: true };
  }

  function prepare(e) {
    if (e.plain !== null) return e;
    if (e.raw.indexOf("\x1b") < 0) {
      e.plain = e.raw;
      e.runs = null;
    } else {
      var parsed = parseAnsi(e.raw);
      e.plain = parsed.text;
      e.runs = parsed.runs;
    }
    e.level = null;
    e.lvl = null;
    detectLevel(e);
    var s = e.plain;
    e.jsonish = s.length > 1 && s.charAt(0) === "{" && s.charAt(s.length - 1) === "}";
    e.pretty = undefined; // undefined: as the JSON toggle says
    e.prettyText = undefined;
    return e;
  }

  function prettyOf(e) {
    if (e.prettyText === undefined) {
      e.prettyText = null;
      try {
        var value = JSON.parse(e.plain);
        if (value && typeof value === "object") {
          e.prettyText = JSON.stringify(value, null, 2);
          e.prettyRuns = jsonRuns(e.prettyText);
        }
      } catch (err) { /* not JSON after all */ }
    }
    return e.prettyText;
  }

  function showsPretty(e) {
    if (e.meta || !e.jsonish) return false;
    var want = e.pretty === undefined ? opts.json : e.pretty;
    return want && prettyOf(e) !== null;
  }

  function displayText(e) {
    return showsPretty(e) ? e.prettyText : e.plain;
  }

  var JSON_TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|\b(true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

  function jsonRuns(text) {
    var runs = [];
    var m;
    JSON_TOKEN.lastIndex = 0;
    while ((m = JSON_TOKEN.exec(text)) !== null) {
      var cls = m[1] ? (m[2] ? "j-key" : "j-str") : m[3] ? "j-lit" : "j-num";
      var end = m[1] ? m.index + m[1].length : m.index + m[0].length;
      runs.push({ s: m.index, e: end, cls: cls, fgx: null, bgx: null });
    }
    return runs;
  }

  // ---- filter

  function escapeRegex(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  function compileFilter() {
    matcher = null;
    $("search").classList.remove("invalid");
    if (!opts.filter) return;
    try {
      var source = opts.regex ? opts.filter : escapeRegex(opts.filter);
      matcher = new RegExp(source, opts.matchCase ? "g" : "gi");
    } catch (err) {
      $("search").classList.add("invalid");
      matcher = null;
    }
  }

  // Sets e.shown, e.hits (flat [start, end, ...] of non-empty matches) and e.count.
  function applyFilter(e) {
    e.hits = null;
    e.count = 0;
    if (e.meta) { e.shown = true; return; }
    prepare(e);
    if (!matcher) { e.shown = true; return; }
    var text = displayText(e);
    var re = matcher;
    var found = false;
    var hits = null;
    var m;
    re.lastIndex = 0;
    while ((m = re.exec(text)) !== null) {
      found = true;
      if (m[0].length === 0) { re.lastIndex++; if (re.lastIndex > text.length) break; continue; }
      (hits = hits || []).push(m.index, m.index + m[0].length);
      if (hits.length > 20000) break;
    }
    e.shown = found;
    e.hits = hits;
    e.count = hits ? hits.length / 2 : 0;
  }

  // ---- rendering (text nodes only)

  function pad(n, w) { n = String(n); while (n.length < w) n = "0" + n; return n; }

  function clock(t) {
    var d = new Date(t);
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2) + "." + pad(d.getMilliseconds(), 3);
  }

  function fillText(el, text, runs, lvl, hits) {
    if (!runs && !lvl && !hits) { el.textContent = text; return; }
    var cuts = [0, text.length];
    var i;
    if (runs) for (i = 0; i < runs.length; i++) cuts.push(runs[i].s, runs[i].e);
    if (lvl) cuts.push(lvl[0], lvl[1]);
    if (hits) for (i = 0; i < hits.length; i++) cuts.push(hits[i]);
    cuts.sort(function (a, b) { return a - b; });
    var ri = 0;
    var hi = 0;
    for (i = 0; i < cuts.length - 1; i++) {
      var a = cuts[i];
      var b = cuts[i + 1];
      if (a >= b) continue;
      while (runs && ri < runs.length && runs[ri].e <= a) ri++;
      var run = runs && ri < runs.length && runs[ri].s <= a ? runs[ri] : null;
      while (hits && hi < hits.length && hits[hi + 1] <= a) hi += 2;
      var hit = hits && hi < hits.length && hits[hi] <= a;
      var inLevel = lvl && lvl[0] <= a && a < lvl[1];
      var node;
      if (run || inLevel) {
        node = doc.createElement("span");
        node.className = (run ? run.cls : "") + (inLevel ? " lvl" : "");
        if (run && run.fgx) node.style.setProperty("--c", run.fgx);
        if (run && run.bgx) node.style.setProperty("--cb", run.bgx);
        node.textContent = text.slice(a, b);
      } else {
        node = doc.createTextNode(text.slice(a, b));
      }
      if (hit) {
        var mark = doc.createElement("mark");
        mark.appendChild(node);
        node = mark;
      }
      el.appendChild(node);
    }
  }

  function renderRow(e) {
    var row = doc.createElement("div");
    row.tailsseEntry = e;
    if (opts.time) {
      var ts = doc.createElement("span");
      ts.className = "ts";
      ts.textContent = clock(e.t);
      row.appendChild(ts);
    }
    var tx = doc.createElement("span");
    tx.className = "tx";
    if (e.meta) {
      row.className = "row meta meta-" + e.kind;
      tx.textContent = e.raw;
    } else {
      row.className = e.level ? "row lv-" + e.level : "row";
      if (showsPretty(e)) {
        row.className += " pretty";
        fillText(tx, e.prettyText, e.prettyRuns, null, e.hits);
      } else {
        fillText(tx, e.plain, e.runs, e.lvl, e.hits);
      }
    }
    row.appendChild(tx);
    return row;
  }

  // Rows live in chunks of CHUNK rows: the browser lays out and paints only the chunks on
  // screen (content-visibility), and dropping old rows touches only the first chunk.
  var CHUNK = 200;
  var tail = null;

  function appendRows(nodes) {
    var i = 0;
    while (i < nodes.length) {
      if (!tail || tail.childElementCount >= CHUNK) {
        tail = doc.createElement("div");
        tail.className = "chunk";
        logEl.appendChild(tail);
      }
      var frag = doc.createDocumentFragment();
      for (var room = CHUNK - tail.childElementCount; room > 0 && i < nodes.length; room--, i++) frag.appendChild(nodes[i]);
      tail.appendChild(frag);
    }
  }

  function removeRow(node) {
    var chunk = node.parentNode;
    if (!chunk) return;
    chunk.removeChild(node);
    if (!chunk.firstChild) {
      chunk.parentNode.removeChild(chunk);
      if (chunk === tail) tail = null;
    }
  }

  function clearRows() {
    logEl.textContent = "";
    tail = null;
  }

  function rerenderAll() {
    hideTools();
    var nodes = [];
    for (var i = 0; i < entries.length; i++) {
      var e = entries[i];
      e.node = e.shown ? renderRow(e) : null;
      if (e.node) nodes.push(e.node);
    }
    clearRows();
    appendRows(nodes);
    if (mode === "live") toBottom();
  }

  function rerenderOne(e) {
    if (!e.node) return;
    var fresh = renderRow(e);
    e.node.replaceWith(fresh);
    e.node = fresh;
  }

  // ---- following, pausing and the "N new lines" button

  function atBottom() {
    return logEl.scrollHeight - logEl.scrollTop - logEl.clientHeight <= 24;
  }

  function toBottom() {
    logEl.scrollTop = logEl.scrollHeight;
    lastTop = logEl.scrollTop;
  }

  function pause(why) {
    if (mode !== "live" && why === "scroll") return;
    mode = why;
    hideTools();
    syncPause();
  }

  function resume() {
    if (mode !== "live") {
      mode = "live";
      if (held.length) {
        var items = held;
        held = [];
        heldShown = 0;
        addEntries(items);
      }
    }
    toBottom();
    syncPause();
  }

  function syncPause() {
    var paused = mode !== "live";
    root.classList.toggle("paused", paused);
    var button = $("pause");
    button.setAttribute("aria-pressed", String(mode === "user"));
    $("pause-label").textContent = mode === "user" ? "Resume" : "Pause";
    button.title = mode === "user" ? "Resume following (End)" : "Pause following (End resumes)";
    jumpEl.hidden = !paused;
    var n = heldShown;
    jumpText.textContent = n ? n.toLocaleString() + (n === 1 ? " new line" : " new lines") : mode === "user" ? "Paused · resume" : "Jump to end";
    jumpEl.classList.toggle("has-new", n > 0);
  }

  // ---- the per-frame batch: every DOM change for new lines happens here

  function schedule() {
    if (frameQueued) return;
    frameQueued = true;
    requestAnimationFrame(flush);
  }

  function flush() {
    frameQueued = false;
    if (!incoming.length) return;
    var items = incoming;
    incoming = [];
    if (mode !== "live") {
      for (var i = 0; i < items.length; i++) {
        var e = items[i];
        applyFilter(e);
        if (e.shown && !e.meta) heldShown++;
        held.push(e);
      }
      syncPause();
      return;
    }
    addEntries(items);
  }

  function addEntries(items) {
    var keep = opts.keep;
    if (items.length > keep) items = items.slice(items.length - keep);
    var i;
    var e;
    for (i = 0; i < items.length; i++) {
      e = items[i];
      applyFilter(e);
      entries.push(e);
      count(e, 1);
    }
    trim(keep);
    var nodes = [];
    var start = entries.length - items.length;
    for (i = Math.max(0, start); i < entries.length; i++) {
      e = entries[i];
      if (e.shown && !e.node) {
        e.node = renderRow(e);
        nodes.push(e.node);
      }
    }
    appendRows(nodes);
    if (mode === "live") toBottom();
    syncCount();
  }

  function trim(keep) {
    var over = entries.length - keep;
    if (over <= 0) return;
    var gone = entries.splice(0, over);
    for (var i = 0; i < gone.length; i++) {
      count(gone[i], -1);
      if (gone[i].node) removeRow(gone[i].node);
      gone[i].node = null;
    }
  }

  function count(e, sign) {
    if (e.meta) return;
    lineCount += sign;
    if (matcher && e.shown) {
      matchLines += sign;
      matchCount += sign * e.count;
    }
  }

  function recount() {
    lineCount = matchLines = matchCount = 0;
    for (var i = 0; i < entries.length; i++) count(entries[i], 1);
    heldShown = 0;
    for (i = 0; i < held.length; i++) {
      applyFilter(held[i]);
      if (held[i].shown && !held[i].meta) heldShown++;
    }
  }

  function syncCount() {
    if (opts.filter && !matcher) {
      countEl.textContent = "invalid regular expression";
      countEl.className = "count bad";
      return;
    }
    countEl.className = "count";
    if (matcher) {
      countEl.textContent = matchCount.toLocaleString() + (matchCount === 1 ? " match" : " matches") + " in " +
        matchLines.toLocaleString() + " of " + lineCount.toLocaleString() + " lines";
    } else {
      countEl.textContent = lineCount.toLocaleString() + (lineCount === 1 ? " line" : " lines");
    }
    countEl.title = entries.length >= opts.keep ? "The page keeps the newest " + opts.keep.toLocaleString() + " lines" : "";
  }

  function refilter() {
    compileFilter();
    for (var i = 0; i < entries.length; i++) applyFilter(entries[i]);
    recount();
    rerenderAll();
    syncCount();
    syncPause();
  }

  // ---- the stream

  function setStatus(state, text, detail) {
    statusEl.setAttribute("data-state", state);
    statusText.textContent = text;
    statusEl.title = detail || text;
  }

  function streamUrl(name, lines) {
    var url = "events/" + encodeURIComponent(name);
    return lines !== null && lines !== undefined && lines !== "" ? url + "?lines=" + encodeURIComponent(lines) : url;
  }

  function connect(name, lines) {
    disconnect();
    var es = new EventSource(streamUrl(name, lines));
    source = es;
    setStatus(received ? "reconnecting" : "connecting", received ? "Reconnecting…" : "Connecting…");
    es.onopen = function () {
      if (source !== es) return;
      reconnectDelay = 1000;
      clearTimeout(busyTimer);
      // After a "busy" answer, only call it live once this stream has not been refused too.
      busyTimer = setTimeout(function () {
        if (source === es && es.readyState === EventSource.OPEN) setStatus("live", "Live", "Live: " + name);
      }, statusEl.getAttribute("data-state") === "busy" ? 500 : 0);
    };
    es.onerror = function () {
      if (source !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // The server (or a proxy in front of it) answered with an error: the browser gave
        // up, so try again ourselves, dropping lines we already have.
        setStatus("offline", "Disconnected", "Disconnected; retrying in " + Math.round(reconnectDelay / 1000) + " s");
        // EventSource does not tell why; a 401 from the file list means the sign-in ended.
        fetch("api/files", { cache: "no-store" }).then(function (r) {
          if (r.status === 401 && source === es) setStatus("offline", "Authentication required", AUTH_HELP);
        }, function () { /* offline: keep saying so */ });
        clearTimeout(reconnectTimer);
        reconnectTimer = setTimeout(function () {
          dedupe = lastPos !== null;
          connect(name, backlogParam);
        }, reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, 30000);
      } else if (statusEl.getAttribute("data-state") !== "busy") {
        setStatus("reconnecting", "Reconnecting…", "Connection lost; reconnecting (the stream resumes after the last line)");
      }
    };
    es.addEventListener("busy", function (ev) {
      if (source !== es) return;
      clearTimeout(busyTimer);
      var message = "the server has too many open streams; retrying";
      try { message = JSON.parse(ev.data).message || message; } catch (err) { /* keep ours */ }
      setStatus("busy", "Server busy", message);
    });
    es.onmessage = function (ev) { if (source === es) onLine(ev.data, ev.lastEventId); };
    FILE_EVENTS.forEach(function (kind) {
      es.addEventListener(kind, function (ev) { if (source === es) onFileEvent(kind, ev.data); });
    });
  }

  function disconnect() {
    clearTimeout(reconnectTimer);
    if (source) source.close();
    source = null;
  }

  function onLine(data, id) {
    var m = ID_RE.exec(id || "");
    if (m) {
      var pos = { ino: m[1], offset: +m[2] };
      if (dedupe && lastPos && pos.ino === lastPos.ino && pos.offset <= lastPos.offset) return;
      dedupe = false;
      lastPos = pos;
      if (pauseAt !== null && pos.offset > pauseAt) {
        pauseAt = null;
        flush();
        pause("user");
      }
    }
    received++;
    if (statusEl.getAttribute("data-state") !== "live" && source && source.readyState === EventSource.OPEN) {
      setStatus("live", "Live", "Live: " + current);
    }
    var isPiece = !!(m && m[3]);
    if (piece) {
      piece.raw += data;
      if (!isPiece || piece.raw.length >= PIECE_LIMIT) {
        piece.piece = false;
        push(piece);
        piece = null;
      }
      return;
    }
    var e = lineEntry(data, id, isPiece);
    if (isPiece) { piece = e; return; }
    push(e);
  }

  function onFileEvent(kind, data) {
    var message = kind;
    try {
      var body = JSON.parse(data);
      if (body && typeof body.message === "string") message = body.message;
    } catch (err) { /* keep the name */ }
    if (piece) { push(piece); piece = null; }
    if (kind === "missing") setStatus("missing", "File missing", message);
    else if (kind === "unreadable") setStatus("offline", "Unreadable", message);
    else if (kind === "unavailable") setStatus("offline", "Unavailable", message);
    else setStatus("live", "Live", "Live: " + current);
    push(metaEntry(kind, message));
  }

  function push(e) {
    incoming.push(e);
    // A hidden tab gets no animation frames: keep only what the page would keep anyway.
    if (mode === "live" && incoming.length > opts.keep * 2) incoming.splice(0, incoming.length - opts.keep);
    schedule();
  }

  // ---- files and the URL

  function basePath() { return new URL(doc.baseURI).pathname; }

  function pageUrl(name) {
    var path = name ? (embed ? "embed/" : "view/") + encodeURIComponent(name) : "./";
    var q = new URLSearchParams(location.search);
    ["filter", "regex", "case"].forEach(function (k) { q.delete(k); });
    if (opts.filter) {
      q.set("filter", opts.filter);
      if (opts.regex) q.set("regex", "1");
      if (opts.matchCase) q.set("case", "1");
    }
    var qs = q.toString();
    return new URL(path + (qs ? "?" + qs : ""), doc.baseURI).href;
  }

  function nameFromLocation() {
    var rest = location.pathname.slice(basePath().length);
    var m = /^(?:view|embed)\/([^/]+)$/.exec(rest);
    return m ? decodeURIComponent(m[1]) : null;
  }

  function resetView() {
    entries = [];
    incoming = [];
    held = [];
    heldShown = 0;
    piece = null;
    lastPos = null;
    dedupe = false;
    received = 0;
    lineCount = matchLines = matchCount = 0;
    hideTools();
    clearRows();
    mode = "live";
    syncPause();
    syncCount();
  }

  function show(name, how) {
    current = name;
    root.classList.toggle("no-file", !name);
    $("picker").hidden = !!name;
    logEl.hidden = !name;
    fileSelect.value = name || "";
    if (how === "push") history.pushState(null, "", pageUrl(name));
    else if (how === "replace") history.replaceState(null, "", pageUrl(name));
    resetView();
    if (!name) {
      disconnect();
      setStatus("idle", files.length ? "Choose a file" : "No files");
      doc.title = "tailsse";
      return;
    }
    doc.title = name + " · tailsse";
    pauseAt = null;
    if (!opts.follow) {
      var info = files.filter(function (f) { return f.name === name; })[0];
      pauseAt = info && typeof info.size === "number" ? info.size : -1;
      if (pauseAt < 0) {
        pauseAt = null;
        setTimeout(function () { if (current === name) { flush(); pause("user"); } }, 1000);
      }
    }
    connect(name, backlogParam);
    if (!embed) logEl.focus({ preventScroll: true });
  }

  function human(size) {
    if (typeof size !== "number") return "—";
    var units = ["B", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (size >= 1024 && i < units.length - 1) { size /= 1024; i++; }
    return (i ? size.toFixed(size < 10 ? 1 : 0) : size) + " " + units[i];
  }

  function listFiles() {
    fileSelect.textContent = "";
    var list = $("picker-list");
    list.textContent = "";
    if (!current) {
      var blank = doc.createElement("option");
      blank.value = "";
      blank.textContent = "Choose a file…";
      fileSelect.appendChild(blank);
    }
    files.forEach(function (f) {
      var opt = doc.createElement("option");
      opt.value = f.name;
      opt.textContent = f.name;
      fileSelect.appendChild(opt);

      var li = doc.createElement("li");
      var a = doc.createElement("a");
      a.href = "view/" + encodeURIComponent(f.name);
      a.className = "file";
      var n = doc.createElement("span");
      n.className = "name";
      n.textContent = f.name;
      var meta = doc.createElement("span");
      meta.className = "meta-info";
      meta.textContent = f.exists ? human(f.size) : "missing";
      var state = doc.createElement("span");
      state.className = "pill state-" + String(f.state || "").replace(/[^a-z]/g, "");
      state.textContent = f.state || "";
      a.append(n, meta, state);
      a.addEventListener("click", function (ev) {
        if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
        ev.preventDefault();
        show(f.name, "push");
        listFiles();
      });
      li.appendChild(a);
      list.appendChild(li);
    });
    fileSelect.value = current || "";
    fileSelect.disabled = files.length < 2 && !!current;
  }

  function loadFiles(attempt) {
    return fetch("api/files", { cache: "no-store" })
      .then(function (r) {
        if (r.status === 401) { authRequired = true; setStatus("offline", "Authentication required", AUTH_HELP); }
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (body) { files = Array.isArray(body.files) ? body.files : []; })
      .catch(function () {
        if (current || attempt > 20 || authRequired) return;
        setStatus("offline", "Cannot list files");
        return new Promise(function (res) { setTimeout(res, 2000); }).then(function () { return loadFiles(attempt + 1); });
      });
  }

  // ---- row tools: copy, pretty-print

  function hideTools() {
    if (toolsEl && toolsEl.parentNode) toolsEl.parentNode.removeChild(toolsEl);
  }

  function toolsFor(row) {
    if (!toolsEl) {
      toolsEl = toolsTemplate.content.firstElementChild.cloneNode(true);
      toolsEl.addEventListener("click", onTool);
    }
    var e = row.tailsseEntry;
    toolsEl.querySelector('[data-act="json"]').hidden = !e.jsonish;
    if (toolsEl.parentNode !== row) row.appendChild(toolsEl);
  }

  function onTool(ev) {
    var button = ev.target.closest("button");
    var row = toolsEl.parentNode;
    if (!button || !row || !row.tailsseEntry) return;
    ev.stopPropagation();
    var e = row.tailsseEntry;
    if (button.getAttribute("data-act") === "copy") {
      copyText(e.plain).then(function () { toast("Line copied"); }, function () { toast("Cannot copy here"); });
    } else if (button.getAttribute("data-act") === "json") {
      e.pretty = !showsPretty(e);
      if (e.pretty && prettyOf(e) === null) { toast("Not valid JSON"); e.pretty = undefined; return; }
      count(e, -1);
      applyFilter(e);
      count(e, 1);
      hideTools();
      if (e.shown) rerenderOne(e);
      syncCount();
    }
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = doc.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      doc.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = doc.execCommand("copy"); } catch (err) { ok = false; }
      doc.body.removeChild(area);
      if (ok) resolve(); else reject(new Error("copy failed"));
    });
  }

  var toastTimer = 0;
  function toast(text) {
    toastEl.textContent = text;
    toastEl.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { toastEl.hidden = true; }, 1600);
  }

  // ---- download what is shown

  function download() {
    var out = [];
    for (var i = 0; i < entries.length; i++) {
      var e = entries[i];
      if (!e.shown) continue;
      var text = e.meta ? "--- " + e.raw + " ---" : displayText(e);
      out.push(opts.time ? clock(e.t) + " " + text : text);
    }
    var blob = new Blob([out.join("\n") + (out.length ? "\n" : "")], { type: "text/plain;charset=utf-8" });
    var url = URL.createObjectURL(blob);
    var a = doc.createElement("a");
    var d = new Date();
    var stamp = d.getFullYear() + pad(d.getMonth() + 1, 2) + pad(d.getDate(), 2) + "-" + pad(d.getHours(), 2) + pad(d.getMinutes(), 2) + pad(d.getSeconds(), 2);
    a.href = url;
    a.download = (current || "log").replace(/\.(log|txt)$/, "") + (matcher ? "-filtered" : "") + "-" + stamp + ".log";
    doc.body.appendChild(a);
    a.click();
    doc.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
  }

  // ---- theme, wrap, times, JSON, kept lines

  var THEMES = { auto: "Auto", light: "Light", dark: "Dark" };

  function applyTheme() {
    if (opts.theme === "auto") root.removeAttribute("data-theme");
    else root.setAttribute("data-theme", opts.theme);
    $("theme-label").textContent = THEMES[opts.theme];
    $("theme").title = opts.theme === "auto" ? "Theme: follows the system (click to change)" : "Theme: " + opts.theme + " (click to change)";
  }

  function pressed(id, on) { $(id).setAttribute("aria-pressed", String(!!on)); }

  function applyView() {
    logEl.classList.toggle("nowrap", !opts.wrap);
    pressed("wrap", opts.wrap);
    pressed("time", opts.time);
    pressed("json", opts.json);
    pressed("regex", opts.regex);
    pressed("case", opts.matchCase);
  }

  // ---- events from the page

  function wire() {
    var filterTimer = 0;
    filterInput.value = opts.filter;
    filterInput.addEventListener("input", function () {
      clearTimeout(filterTimer);
      filterTimer = setTimeout(function () {
        opts.filter = filterInput.value;
        refilter();
        if (current) history.replaceState(null, "", pageUrl(current));
      }, 120);
    });
    filterInput.addEventListener("keydown", function (ev) {
      if (ev.key === "Escape" && filterInput.value) {
        filterInput.value = "";
        filterInput.dispatchEvent(new Event("input"));
      }
    });
    function toggleFilterFlag(key) {
      opts[key] = !opts[key];
      applyView();
      refilter();
      if (current) history.replaceState(null, "", pageUrl(current));
    }
    $("regex").addEventListener("click", function () { toggleFilterFlag("regex"); });
    $("case").addEventListener("click", function () { toggleFilterFlag("matchCase"); });

    $("pause").addEventListener("click", function () {
      if (mode === "user") resume(); else pause("user");
    });
    jumpEl.addEventListener("click", function () { resume(); logEl.focus({ preventScroll: true }); });

    $("wrap").addEventListener("click", function () {
      opts.wrap = !opts.wrap;
      remember("wrap", opts.wrap ? 1 : 0);
      applyView();
      if (mode === "live") toBottom();
    });
    $("time").addEventListener("click", function () {
      opts.time = !opts.time;
      remember("time", opts.time ? 1 : 0);
      applyView();
      rerenderAll();
    });
    $("json").addEventListener("click", function () {
      opts.json = !opts.json;
      remember("json", opts.json ? 1 : 0);
      applyView();
      for (var i = 0; i < entries.length; i++) entries[i].pretty = entries[i].meta ? entries[i].pretty : undefined;
      refilter();
    });
    $("theme").addEventListener("click", function () {
      opts.theme = opts.theme === "auto" ? "light" : opts.theme === "light" ? "dark" : "auto";
      remember("theme", opts.theme);
      applyTheme();
    });
    $("download").addEventListener("click", download);
    var keepInput = $("keep");
    keepInput.value = opts.keep;
    keepInput.addEventListener("change", function () {
      opts.keep = clampKeep(keepInput.value);
      keepInput.value = opts.keep;
      remember("keep", opts.keep);
      if (mode === "live") { trim(opts.keep); toBottom(); }
      syncCount();
    });
    fileSelect.addEventListener("change", function () {
      if (fileSelect.value && fileSelect.value !== current) { show(fileSelect.value, "push"); listFiles(); }
    });
    window.addEventListener("popstate", function () {
      var name = nameFromLocation();
      var q = new URLSearchParams(location.search);
      opts.filter = q.get("filter") || "";
      opts.regex = flag(q.get("regex"), false);
      opts.matchCase = flag(q.get("case"), false);
      filterInput.value = opts.filter;
      applyView();
      compileFilter();
      if (name !== current) { show(name, null); listFiles(); } else refilter();
    });

    // Only the user's own scrolling pauses: layout changes (wrapping, resizing, rows
    // measured for the first time) can move the view too, and then it is put back.
    function byHand() { lastInput = performance.now(); }
    logEl.addEventListener("wheel", byHand, { passive: true });
    logEl.addEventListener("touchmove", byHand, { passive: true });
    logEl.addEventListener("mousedown", byHand);
    logEl.addEventListener("keydown", function (ev) {
      if (/^(PageUp|PageDown|ArrowUp|ArrowDown|Home| )$/.test(ev.key)) byHand();
    });
    logEl.addEventListener("scroll", function () {
      var top = logEl.scrollTop;
      var manual = performance.now() - lastInput < 1000;
      if (mode === "live" && !atBottom()) {
        if (manual && top < lastTop - 1) pause("scroll");
        else if (!manual) toBottom();
      } else if (mode === "scroll" && manual && atBottom()) {
        resume();
      }
      lastTop = logEl.scrollTop;
    }, { passive: true });
    if (window.ResizeObserver) {
      new ResizeObserver(function () { if (mode === "live") toBottom(); }).observe(logEl);
    }

    logEl.addEventListener("mouseover", function (ev) {
      var row = ev.target.closest && ev.target.closest(".row");
      if (row && !row.classList.contains("meta") && logEl.contains(row)) toolsFor(row);
    });
    logEl.addEventListener("mouseleave", hideTools);
    logEl.addEventListener("click", function (ev) {
      var row = ev.target.closest && ev.target.closest(".row");
      if (row && !row.classList.contains("meta") && logEl.contains(row)) toolsFor(row);
    });

    doc.addEventListener("keydown", function (ev) {
      var typing = /^(INPUT|TEXTAREA|SELECT)$/.test(doc.activeElement && doc.activeElement.tagName);
      if (ev.key === "End" && !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
        ev.preventDefault();
        resume();
      } else if (ev.key === "/" && !typing && !embed) {
        ev.preventDefault();
        filterInput.focus();
        filterInput.select();
      }
    });
  }

  // ---- start

  function start() {
    if (embed) viewEl.appendChild(statusEl);
    applyTheme();
    applyView();
    compileFilter();
    wire();
    syncCount();
    syncPause();
    var name = doc.querySelector('meta[name="tailsse-file"]').content || null;
    current = name;
    if (name) {
      doc.title = name + " · tailsse";
      setStatus("connecting", "Connecting…");
    }
    loadFiles(0).then(function () {
      if (!name && files.length === 1 && !embed) {
        show(files[0].name, "replace");
      } else {
        show(name, null);
      }
      listFiles();
    });
  }

  window.tailsse = {
    // for tests and the curious: how many lines are kept, held and received
    stats: function () {
      return { kept: lineCount, rows: logEl.getElementsByClassName("row").length, held: held.length, received: received, mode: mode };
    },
  };

  start();
})();
