// The search box for the whole file and its results pane: pages of matches come in one
// after another (Stop stops them), a click or Enter on a result shows its line in context,
// and n / N go to the next and the previous result.

import { compileFilter, findHits } from "./filter.js";
import { getJson, problem, showAround } from "./history.js";
import { lineEntry, prepare } from "./lines.js";
import { fillText } from "./render.js";
import { highlightMarks } from "./highlight.js";
import { dropHidden } from "./rules.js";
import { createSearch, foldParts, goesOn, nextPart, searchLabel, searchQuery, takePage } from "./search.js";
import { colourOf, shortLabel } from "./selection.js";
import { linePath } from "./settings.js";

/** Attaches the search box and the pane. */
export function wireFinder(app) {
  const { ui, state } = app;
  ui.findForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = ui.find.value;
    if (q) start(app, q);
  });
  ui.resultsStop.addEventListener("click", () => stop(app));
  ui.resultsMore.addEventListener("click", () => run(app));
  ui.resultsClose.addEventListener("click", () => close(app));
  ui.results.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      close(app);
      ui.find.focus();
    } else if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      focusResult(app, state.finder.focus + (ev.key === "ArrowDown" ? 1 : -1));
    }
  });
}

/** Goes to the next (step 1) or previous (-1) result; false when there are none. */
export function stepResult(app, step) {
  const f = app.state.finder;
  if (!f.search || !f.search.matches.length || app.ui.results.hidden) return false;
  open(app, Math.max(0, Math.min(f.search.matches.length - 1, f.current + step)));
  return true;
}

/** Closes the pane and stops the search of another file. */
export function close(app) {
  stop(app);
  app.ui.results.hidden = true;
  app.state.finder.search = null;
}

/** Searches again, when results are open (the filter hides other lines now). */
export function refind(app) {
  const f = app.state.finder;
  if (f.search && !app.ui.results.hidden) start(app, f.search.q);
}

function start(app, q) {
  const { ui, state } = app;
  stop(app);
  const opts = { regex: state.opts.regex, matchCase: state.opts.matchCase };
  state.finder.search = createSearch(q, opts);
  // A merged view searches each of its files in turn, every line labelled with its file.
  if (state.merged) state.finder.search.parts = state.mergedNames.map((name) => ({ name, sub: createSearch(q, opts) }));
  const marks = compileFilter(q, opts);
  state.finder.matcher = marks.matcher;
  state.finder.current = -1;
  state.finder.focus = -1;
  ui.resultsList.textContent = "";
  ui.results.hidden = false;
  run(app);
}

function stop(app) {
  const f = app.state.finder;
  if (f.abort) f.abort.abort();
  f.abort = null;
  if (f.search) f.search.stopped = true;
  sync(app, false);
}

async function run(app) {
  const { state } = app;
  const f = state.finder;
  const search = f.search;
  if (!search) return;
  search.stopped = false;
  const abort = new AbortController();
  f.abort = abort;
  sync(app, true);
  try {
    do {
      const part = nextPart(search);
      const name = part ? part.name : state.current;
      const res = await getJson(app.routes.search(name, searchQuery(part ? part.sub : search)), abort.signal);
      if (f.search !== search) return;
      if (res.status !== 200) search.error = problem(res);
      else if (!part) show(app, dropHidden(search, takePage(search, res.body), state.filter));
      else {
        const added = takePage(part.sub, res.body);
        for (const m of added) m.file = name;
        search.matches.push(...added);
        foldParts(search);
        show(app, dropHidden(search, added, state.filter));
      }
      sync(app, true);
    } while (goesOn(search));
  } catch (err) {
    if (err.name !== "AbortError") throw err;
  }
  if (f.abort === abort) f.abort = null;
  if (f.search === search) sync(app, false);
}

function sync(app, running) {
  const { ui, state } = app;
  const search = state.finder.search;
  if (!search) return;
  const label = searchLabel(search, running && !!state.finder.abort);
  const hidden = search.hidden ? ` · ${search.hidden.toLocaleString()} more hidden by the level, field or exclude filters` : "";
  ui.resultsCount.textContent = label.text + hidden;
  ui.resultsCount.classList.toggle("bad", label.bad);
  const busy = !!state.finder.abort;
  ui.resultsStop.hidden = !busy;
  ui.resultsMore.hidden = busy || search.next === null || !!search.error || search.next === undefined;
}

// Appends result buttons for matches, their hits marked as the page's filter would.
function show(app, matches) {
  const { doc, ui, state } = app;
  const f = state.finder;
  const frag = doc.createDocumentFragment();
  let index = f.search.matches.length - matches.length;
  for (const m of matches) {
    const e = prepare(lineEntry(m.text, m.id));
    const hits = f.matcher ? findHits(f.matcher, e.plain).hits : null;
    const button = doc.createElement("button");
    button.type = "button";
    button.tabIndex = -1;
    if (m.file) {
      const label = doc.createElement("span");
      label.className = "src src-" + colourOf(m.file, state.mergedNames);
      label.textContent = shortLabel(m.file);
      label.title = m.file;
      button.appendChild(label);
      const text = doc.createElement("span");
      fillText(doc, text, e.plain, e.runs, null, hits, highlightMarks(state.filter.highlights, e.plain));
      button.appendChild(text);
    } else {
      fillText(doc, button, e.plain, e.runs, null, hits, highlightMarks(state.filter.highlights, e.plain));
    }
    const at = index++;
    button.addEventListener("click", () => open(app, at));
    const li = doc.createElement("li");
    li.appendChild(button);
    frag.appendChild(li);
  }
  ui.resultsList.appendChild(frag);
  if (f.focus < 0 && ui.resultsList.firstElementChild) setFocusable(app, 0);
}

function resultButton(app, i) {
  const li = app.ui.resultsList.children[i];
  return li ? li.firstElementChild : null;
}

// One result is in the tab order at a time; the arrows move between them.
function setFocusable(app, i) {
  const f = app.state.finder;
  const old = resultButton(app, f.focus);
  if (old) old.tabIndex = -1;
  const button = resultButton(app, i);
  if (!button) return null;
  button.tabIndex = 0;
  f.focus = i;
  return button;
}

function focusResult(app, i) {
  const count = app.ui.resultsList.children.length;
  const button = setFocusable(app, Math.max(0, Math.min(count - 1, i)));
  if (button) button.focus();
}

function open(app, i) {
  const f = app.state.finder;
  const match = f.search && f.search.matches[i];
  if (!match) return;
  const old = resultButton(app, f.current);
  if (old) old.removeAttribute("aria-current");
  f.current = i;
  const button = setFocusable(app, i);
  if (button) {
    button.setAttribute("aria-current", "true");
    button.scrollIntoView({ block: "nearest" });
  }
  // A merged view holds no history: a result opens in its own file's view, in context.
  if (match.file) app.win.location.assign(new URL(linePath(match.file, match.id), app.doc.baseURI).href);
  else showAround(app, match.id);
}
