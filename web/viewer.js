// tailsse viewer, the entry point (index.html loads only this module). It reads the
// settings, builds the one state and the `app` every module receives, and decides what is
// shown: the list of files or one file, with the URL saying which.

import { AUTH_HELP, connect, disconnect } from "./connection.js";
import { wire } from "./controls.js";
import { human } from "./format.js";
import { close as closeResults } from "./finder.js";
import { showAround, toEnd } from "./history.js";
import { resetReceiver } from "./receive.js";
import { backlogLines, lineAt, nameFromPath, pagePath, pageQuery, readOptions } from "./settings.js";
import { addMergeControls, showMergedNote, wireMerge } from "./mergeview.js";
import { asSelection, eventsPath, isSelection, selectionFrom, selectionTitle, streamNames, viewPath } from "./selection.js";
import { openShared } from "./share.js";
import { createState } from "./state.js";
import { applyTheme, applyView, findElements, notice, setStatus } from "./ui.js";
import { compile, flush, pause, resetView, syncCount, syncPause } from "./view.js";

// The server's routes, relative to <base href>: the page works under any --base-path.
const routes = {
  files: "api/files",
  /** The stream of name: after the line with id after, else with a backlog of lines (or the server's). */
  events(name, { after = null, lines = null } = {}) {
    if (Array.isArray(name)) return eventsPath(name, { after, lines }); // a merged view's files
    const url = "events/" + encodeURIComponent(name);
    if (after) return url + "?after=" + encodeURIComponent(after);
    return lines !== null && lines !== "" ? url + "?lines=" + encodeURIComponent(lines) : url;
  },
  /** History: query is {before|after: ID, count}. */
  lines: (name, query) => api("lines", name, query),
  /** The whole file searched: query is {q, regex, case, before, limit}. */
  search: (name, query) => api("search", name, query),
  /** The first line at or after t (ISO 8601). */
  time: (name, t) => api("time", name, { t }),
};

function api(kind, name, query) {
  return "api/" + kind + "/" + encodeURIComponent(name) + "?" + new URLSearchParams(query);
}

/** The backlog the server gives a stream that asks for none (its --lines). */
function serverBacklog(doc) {
  const meta = doc.querySelector('meta[name="tailsse-lines"]');
  const n = meta ? parseInt(meta.content, 10) : NaN;
  return Number.isFinite(n) ? n : 100;
}

/** What this browser remembers (theme, wrap, times, JSON, keep); nothing when embedded. */
function openStorage(win, embed) {
  let storage = null;
  try {
    storage = embed ? null : win.localStorage;
  } catch {
    storage = null; // storage blocked
  }
  return {
    get(key) {
      try {
        return storage ? storage.getItem("tailsse." + key) : null;
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        if (storage) storage.setItem("tailsse." + key, String(value));
      } catch {
        // private mode, quota: not remembered
      }
    },
  };
}

/**
 * The app every module receives: the window and document, ui (ui.js: the page's elements),
 * state (state.js: everything that changes), the server's routes, open (makes the stream,
 * shared with the other tabs that show it: share.js; read with fetch rather than
 * EventSource: eventstream.js), remember (stores a setting), the navigation the controls
 * call back (show, listFiles, pageUrl, nameFromLocation, shows), refetch (the view resumed
 * after dropping what came while it was paused), toEnd (the view resumed where the page let
 * go of the newest lines) and at (a permalink's line).
 */
function createApp(win) {
  const doc = win.document;
  const ui = findElements(doc);
  const embed = ui.root.getAttribute("data-mode") === "embed";
  const params = new URLSearchParams(win.location.search);
  const storage = openStorage(win, embed);
  const state = createState(readOptions(params, storage.get), { embed, backlog: backlogLines(params) });
  const app = {
    win,
    doc,
    ui,
    state,
    routes,
    // Shared with the other tabs that show the same stream (share.js).
    open: (url) => openShared(url, { win, fetch: (...a) => win.fetch(...a), lines: serverBacklog(doc) }),
    remember: storage.set,
    recall: storage.get,
    show: (name, how) => show(app, name, how),
    refetch: () => {
      if (state.current) connect(app, state.current);
    },
    toEnd: () => toEnd(app),
    at: lineAt(params), // the line a permalink opens, once
    listFiles: () => listFiles(app),
    pageUrl: (name) => pageUrl(app, name),
    nameFromLocation: () => nameFromLocation(win, doc),
    shows: (view) => shows(state, view),
  };
  return app;
}

/** What the page URL shows: a file's name, a merged view's selection (selection.js), or null. */
function nameFromLocation(win, doc) {
  const base = new URL(doc.baseURI).pathname;
  const name = nameFromPath(win.location.pathname, base);
  const path = win.location.pathname.slice(base.length);
  if (name || !/^(view|embed)$/.test(path)) return name;
  return selectionFrom(new URLSearchParams(win.location.search));
}

/** Whether the page shows view (a name, a selection or null) already. */
function shows(state, view) {
  if (!isSelection(view)) return !state.merged && view === state.current;
  return !!state.merged && asSelection(view).join("\n") === state.merged.join("\n");
}

/** The page URL for a file, a merged view (or the list), carrying the filter and the other parameters. */
function pageUrl({ win, doc, state }, name) {
  if (state.merged && name === state.current) name = state.merged;
  const qs = pageQuery(win.location.search, state.opts);
  const path = isSelection(name) ? viewPath(asSelection(name), state.embed) : pagePath(name, state.embed);
  return new URL(path + (qs ? (path.includes("?") ? "&" : "?") + qs : ""), doc.baseURI).href;
}

/**
 * Shows a file, a merged view of several (view: their names, or "*") or the list (view is
 * null). how: "push" or "replace" the URL, or null.
 */
function show(app, view, how) {
  const { win, doc, ui, state } = app;
  const merged = isSelection(view) ? asSelection(view) : null;
  const name = merged ? selectionTitle(merged) : view;
  state.merged = merged;
  state.mergedNames = merged ? streamNames(merged, state.files) : [];
  state.current = name;
  ui.root.classList.toggle("merged", !!merged);
  showMergedNote(app);
  ui.root.classList.toggle("no-file", !name);
  ui.picker.hidden = !!name;
  ui.pickerNote.hidden = true;
  ui.log.hidden = !name;
  ui.file.value = name || "";
  if (how === "push") win.history.pushState(null, "", pageUrl(app, merged || name));
  else if (how === "replace") win.history.replaceState(null, "", pageUrl(app, merged || name));
  resetReceiver(state.stream.rx);
  Object.assign(state.stream, { downAt: null, lostNote: null }); // another file: no outage to tell
  resetView(app);
  closeResults(app);
  notice(app, null);
  if (!name) {
    disconnect(app);
    setStatus(ui, "idle", state.files.length ? "Choose a file" : "No files");
    doc.title = "tailsse";
    ui.heading.textContent = "tailsse: files";
    if (state.unknown) unknownFile(app);
    return;
  }
  doc.title = name + " · tailsse";
  ui.heading.textContent = name + " · tailsse";
  const at = merged ? null : app.at; // a line's link opens its own file
  app.at = null;
  if (at) {
    // A permalink: its line in context; when it cannot be read, say why and follow the end.
    showAround(app, at).then((ok) => {
      if (!ok && state.current === name) connect(app, name);
    });
    return;
  }
  if (state.backlog !== null && +state.backlog > state.opts.keep) {
    const keep = state.opts.keep.toLocaleString();
    notice(
      app,
      `The page keeps ${keep} lines at a time, not the ${(+state.backlog).toLocaleString()} asked for: ` +
        (merged ? "open one of its files to read older ones." : "scroll up to read older ones, or search the whole file."),
    );
  }
  const rx = state.stream.rx;
  rx.pauseAt = null;
  if (!state.opts.follow) {
    // follow=0: show what the file holds now, then hold what comes after.
    const info = state.files.find((f) => f.name === name);
    if (info && typeof info.size === "number") {
      rx.pauseAt = info.size;
    } else {
      setTimeout(() => {
        if (state.current !== name) return;
        flush(app);
        pause(app, "user");
      }, 1000);
    }
  }
  connect(app, name);
  if (!state.embed) ui.log.focus({ preventScroll: true });
}

/** The page of a file this server does not show (HTTP 404): it says so, over the file list. */
function unknownFile({ doc, ui, state }) {
  const others = state.files.length ? " The files this server shows:" : " This server shows no files.";
  ui.pickerNote.textContent = `There is no file “${state.unknown}” here.` + others;
  ui.pickerNote.hidden = false;
  setStatus(ui, "offline", "No such file", `No such file: ${state.unknown}`);
  doc.title = "No such file · tailsse";
  state.unknown = null; // said once; choosing a file shows it
}

/** The file menu and the file list page. */
function listFiles(app) {
  const { doc, ui, state } = app;
  ui.file.textContent = "";
  ui.pickerList.textContent = "";
  if (!state.current) {
    const blank = doc.createElement("option");
    blank.value = "";
    blank.textContent = "Choose a file…";
    ui.file.appendChild(blank);
  }
  for (const f of state.files) {
    const option = doc.createElement("option");
    option.value = f.name;
    option.textContent = f.name;
    ui.file.appendChild(option);

    const a = doc.createElement("a");
    a.href = pagePath(f.name, state.embed);
    a.className = "file";
    const label = doc.createElement("span");
    label.className = "name";
    label.textContent = f.name;
    const size = doc.createElement("span");
    size.className = "meta-info";
    size.textContent = f.exists ? human(f.size) : "missing";
    const pill = doc.createElement("span");
    pill.className = "pill state-" + String(f.state || "").replace(/[^a-z]/g, "");
    pill.textContent = f.state || "";
    a.append(label, size, pill);
    a.addEventListener("click", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
      ev.preventDefault();
      show(app, f.name, "push");
      listFiles(app);
    });
    const li = doc.createElement("li");
    li.appendChild(a);
    ui.pickerList.appendChild(li);
  }
  ui.file.value = state.current || "";
  ui.file.disabled = state.files.length < 2 && !!state.current;
  addMergeControls(app);
}

/** Reads the file list into state.files, retrying for a while when the server is away. */
async function loadFiles(app, attempt = 0) {
  const { ui, state } = app;
  try {
    const r = await fetch(routes.files, { cache: "no-store" });
    if (r.status === 401) {
      state.authRequired = true;
      setStatus(ui, "offline", "Authentication required", AUTH_HELP);
    }
    if (!r.ok) throw new Error("HTTP " + r.status);
    const body = await r.json();
    state.files = Array.isArray(body.files) ? body.files : [];
  } catch {
    if (state.current || attempt > 20 || state.authRequired) return;
    setStatus(ui, "offline", "Cannot list files");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await loadFiles(app, attempt + 1);
  }
}

async function start(win) {
  const app = createApp(win);
  const { doc, ui, state } = app;
  if (state.embed) ui.view.appendChild(ui.status);
  applyTheme(app);
  applyView(app);
  compile(app);
  wire(app);
  wireMerge(app);
  syncCount(app);
  syncPause(app);
  const name = doc.querySelector('meta[name="tailsse-file"]').content || null;
  const unknown = doc.querySelector('meta[name="tailsse-unknown"]');
  state.unknown = (unknown && unknown.content) || null; // the server has no such file (404)
  const selection = name || state.unknown ? null : selectionFrom(new URLSearchParams(win.location.search));
  state.current = name || (selection && selectionTitle(selection));
  if (state.current) {
    doc.title = state.current + " · tailsse";
    setStatus(ui, "connecting", "Connecting…");
  }
  // For tests and the curious: how many lines are kept, held and received.
  win.tailsse = {
    stats: () => ({
      kept: state.store.lines,
      rows: ui.log.getElementsByClassName("row").length,
      held: state.store.held.length,
      waiting: state.store.held.length + state.store.incoming.length,
      overflow: state.store.overflow,
      older: state.store.older,
      detached: state.store.detached,
      first: state.store.entries.length ? state.store.entries[0].raw : null,
      last: state.store.entries.length ? state.store.entries[state.store.entries.length - 1].raw : null,
      received: state.stream.rx.received,
      mode: state.mode,
      merged: state.merged,
      share: state.stream.source ? state.stream.source.role || "own" : null,
    }),
    texts: () => state.store.entries.filter((e) => !e.meta).map((e) => e.raw),
  };
  await loadFiles(app);
  if (selection) show(app, selection, null);
  else if (!name && !state.unknown && state.files.length === 1 && !state.embed) {
    show(app, state.files[0].name, "replace");
  }
  else show(app, name, null);
  listFiles(app);
}

start(window);
