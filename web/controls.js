// What the user does: the toolbar, the filter box, scrolling, the row tools and the keys
// (the whole file's search is finder.js's, moving through it travel.js's).
// Each handler changes state.opts (remembering what this browser keeps) and asks the view
// to follow. Navigation (app.show, app.listFiles, app.pageUrl) comes from the entry point.

import { stepResult, wireFinder } from "./finder.js";
import { wireBackground } from "./background.js";
import { wireColumns } from "./columns.js";
import { entryText, wireFolds } from "./folds.js";
import { wireLevels } from "./levelbar.js";
import { wireRules } from "./rulebar.js";
import { wireTimes } from "./timecol.js";
import { toStart } from "./history.js";
import { endId, prettyOf, showsPretty } from "./lines.js";
import { ownEndId } from "./merged.js";
import { clampKeep, filterOptions, linePath, nextTheme } from "./settings.js";
import { copyText, download, hideTools, showTools, toolAt } from "./tools.js";
import { scrolled, wireTravel } from "./travel.js";
import { wireRowKeys } from "./rowkeys.js";
import { showShortcuts, wireShortcuts } from "./shortcuts.js";
import { applyTheme, applyView, toast } from "./ui.js";
import { atBottom, compile, keepChanged, pause, refilter, refilterOne, rerenderAll, resume, toBottom } from "./view.js";

const FILTER_DELAY = 120; // ms of typing pause before the filter applies

/** Attaches every listener of the page. */
export function wire(app) {
  wireFilter(app);
  wireToggles(app);
  wireScrolling(app);
  wireRows(app);
  wireKeys(app);
  wireTravel(app);
  wireFinder(app);
  wireRowKeys(app, (row) => showTools(app, row));
  wireShortcuts(app);
  wireLevels(app);
  wireRules(app);
  wireFolds(app);
  wireTimes(app);
  wireColumns(app);
  wireBackground(app);
}

function keepUrl(app) {
  if (app.state.current) app.win.history.replaceState(null, "", app.pageUrl(app.state.current));
}

function wireFilter(app) {
  const { ui, state } = app;
  ui.filter.value = state.opts.filter;
  ui.filter.addEventListener("input", () => {
    clearTimeout(state.filterTimer);
    state.filterTimer = setTimeout(() => {
      state.opts.filter = ui.filter.value;
      refilter(app);
      keepUrl(app);
    }, FILTER_DELAY);
  });
  ui.filter.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape" && ui.filter.value) {
      ui.filter.value = "";
      ui.filter.dispatchEvent(new Event("input"));
    }
  });
  const toggle = (key) => {
    state.opts[key] = !state.opts[key];
    applyView(app);
    refilter(app);
    keepUrl(app);
  };
  ui.regex.addEventListener("click", () => toggle("regex"));
  ui.matchCase.addEventListener("click", () => toggle("matchCase"));

  app.win.addEventListener("popstate", () => {
    const loc = app.win.location;
    Object.assign(state.opts, filterOptions(new URLSearchParams(loc.search)));
    ui.filter.value = state.opts.filter;
    applyView(app);
    compile(app);
    const name = app.nameFromLocation();
    if (!app.shows(name)) {
      app.show(name, null);
      app.listFiles();
    } else {
      refilter(app);
    }
  });
}

function wireToggles(app) {
  const { ui, state } = app;
  const opts = state.opts;
  ui.pause.addEventListener("click", () => {
    if (state.mode !== "live") resume(app);
    else pause(app, "user");
  });
  ui.jump.addEventListener("click", () => {
    resume(app);
    ui.log.focus({ preventScroll: true });
  });
  ui.wrap.addEventListener("click", () => {
    opts.wrap = !opts.wrap;
    app.remember("wrap", opts.wrap ? 1 : 0);
    applyView(app);
    rerenderAll(app); // rows not drawn keep heights measured with the other wrapping
  });
  ui.time.addEventListener("click", () => {
    opts.time = !opts.time;
    app.remember("time", opts.time ? 1 : 0);
    applyView(app);
    rerenderAll(app);
  });
  ui.json.addEventListener("click", () => {
    opts.json = !opts.json;
    app.remember("json", opts.json ? 1 : 0);
    applyView(app);
    for (const e of state.store.entries) if (!e.meta) e.pretty = undefined; // every line as the toggle says
    refilter(app);
  });
  ui.theme.addEventListener("click", () => {
    opts.theme = nextTheme(opts.theme);
    app.remember("theme", opts.theme);
    applyTheme(app);
  });
  ui.download.addEventListener("click", () => download(app));
  ui.keep.value = opts.keep;
  ui.keep.addEventListener("change", () => {
    opts.keep = clampKeep(ui.keep.value);
    ui.keep.value = opts.keep;
    app.remember("keep", opts.keep);
    keepChanged(app);
  });
  ui.file.addEventListener("change", () => {
    if (ui.file.value && ui.file.value !== state.current) {
      app.show(ui.file.value, "push");
      app.listFiles();
    }
  });
}

// Only the user's own scrolling pauses: layout changes (wrapping, resizing, rows measured
// for the first time) can move the view too, and then it is put back.
function wireScrolling(app) {
  const { ui, state } = app;
  const log = ui.log;
  const byHand = () => {
    state.lastInput = performance.now();
  };
  log.addEventListener("wheel", byHand, { passive: true });
  log.addEventListener("touchmove", byHand, { passive: true });
  log.addEventListener("mousedown", byHand);
  log.addEventListener("keydown", (ev) => {
    if (/^(PageUp|PageDown|ArrowUp|ArrowDown|Home| )$/.test(ev.key)) byHand();
  });
  log.addEventListener(
    "scroll",
    () => {
      const top = log.scrollTop;
      const manual = performance.now() - state.lastInput < 1000;
      if (state.mode === "live" && !atBottom(app)) {
        if (manual && top < state.lastTop - 1) pause(app, "scroll");
        else if (!manual) toBottom(app);
      } else if (state.mode === "scroll" && manual && atBottom(app) && !state.store.detached) {
        resume(app);
      }
      state.lastTop = log.scrollTop;
      scrolled(app);
    },
    { passive: true },
  );
  if (app.win.ResizeObserver) {
    new app.win.ResizeObserver(() => {
      if (state.mode === "live") toBottom(app);
    }).observe(log);
  }
}

function lineRow(app, target) {
  const row = target.closest && target.closest(".row");
  return row && !row.classList.contains("meta") && app.ui.log.contains(row) ? row : null;
}

// The tools stay where the keyboard's focus is, whatever the mouse does meanwhile.
const toolsFocused = ({ doc, state }) => !!state.tools && state.tools.contains(doc.activeElement);

function wireRows(app) {
  const log = app.ui.log;
  log.addEventListener("mouseover", (ev) => {
    const row = lineRow(app, ev.target);
    if (row && !toolsFocused(app)) showTools(app, row);
  });
  log.addEventListener("mouseleave", () => {
    if (!toolsFocused(app)) hideTools(app);
  });
  log.addEventListener("click", (ev) => {
    const tool = toolAt(app, ev.target);
    if (tool) onTool(app, tool.act, tool.entry);
    else {
      const row = lineRow(app, ev.target);
      if (row) showTools(app, row);
    }
  });
}

function onTool(app, act, e) {
  if (act === "copy" || act === "link") {
    // In a merged view, the link opens the line in its own file.
    const path = e.file ? linePath(e.file, ownEndId(e)) : linePath(app.state.current, endId(e));
    const link = () => new URL(path, app.doc.baseURI).href;
    copyText(app.doc, act === "copy" ? entryText(app, e) : link()).then(
      () => toast(app, act === "copy" ? "Line copied" : "Link to the line copied"),
      () => toast(app, "Cannot copy here"),
    );
  } else if (act === "json") {
    e.pretty = !showsPretty(e, app.state.opts.json);
    if (e.pretty && prettyOf(e) === null) {
      toast(app, "Not valid JSON");
      e.pretty = undefined;
      return;
    }
    const focused = toolsFocused(app);
    refilterOne(app, e);
    if (focused && e.node) {
      showTools(app, e.node); // the row was drawn again: the focus stays on its tool
      app.state.tools.querySelector('[data-act="json"]').focus();
    }
  }
}

function wireKeys(app) {
  const { doc, ui, state } = app;
  doc.addEventListener("keydown", (ev) => {
    if (ui.keys.open) return; // the shortcuts dialog has the keys (Escape closes it)
    const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(doc.activeElement && doc.activeElement.tagName);
    const plain = !typing && !ev.ctrlKey && !ev.metaKey && !ev.altKey;
    if (ev.key === "End" && plain) {
      ev.preventDefault();
      resume(app);
    } else if (ev.key === "Home" && plain) {
      ev.preventDefault();
      toStart(app);
    } else if ((ev.key === "n" || ev.key === "N") && plain && stepResult(app, ev.key === "n" ? 1 : -1)) {
      ev.preventDefault();
    } else if (ev.key === "?" && !typing && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      showShortcuts(app);
    } else if (ev.key === "/" && !typing && !state.embed) {
      ev.preventDefault();
      ui.filter.focus();
      ui.filter.select();
    }
  });
}
