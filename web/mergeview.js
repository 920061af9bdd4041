// The merged view's parts of the page: a checkbox on each file of the list and the bar that
// shows the files chosen (or all of them) in one view, "All files" in the header's file
// menu, and the note over a merged view that says what it holds: the stream's backlog and
// what arrives since, merged; history, search and times are read file by file, so the note
// links to each file's own view for them.

import { ALL, MAX_FILES, shortLabel } from "./selection.js";
import { pagePath } from "./settings.js";

/** Attaches the bar's buttons (once). */
export function wireMerge(app) {
  const { ui } = app;
  ui.root.querySelector("#merge-go").addEventListener("click", () => {
    const names = chosen(app);
    if (names.length) go(app, names);
  });
  ui.root.querySelector("#merge-all").addEventListener("click", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
    ev.preventDefault();
    go(app, ALL);
  });
}

function go(app, view) {
  app.show(view, "push");
  app.listFiles();
}

function chosen({ ui }) {
  return [...ui.pickerList.querySelectorAll("input.pick:checked")].map((box) => box.value);
}

/** After the list and the menu were made (viewer.js listFiles): the merged view's parts in them. */
export function addMergeControls(app) {
  const { doc, ui, state } = app;
  const items = ui.pickerList.children;
  state.files.forEach((f, i) => {
    const box = doc.createElement("input");
    box.type = "checkbox";
    box.className = "pick";
    box.value = f.name;
    box.title = "Show with other files in one view";
    box.setAttribute("aria-label", "Show " + f.name + " with other files");
    box.addEventListener("change", () => syncBar(app));
    if (items[i]) items[i].prepend(box);
  });
  ui.root.querySelector("#merge-bar").hidden = state.files.length < 2;
  syncBar(app);
  if (state.files.length > 1) {
    const all = doc.createElement("option");
    all.value = ALL;
    all.textContent = "All files, merged";
    ui.file.appendChild(all);
  }
  if (state.merged) {
    const mine = doc.createElement("option");
    mine.value = state.current;
    mine.textContent = state.current;
    ui.file.appendChild(mine);
    ui.file.value = state.current;
  }
}

function syncBar(app) {
  const n = chosen(app).length;
  const go = app.ui.root.querySelector("#merge-go");
  go.disabled = n < 2 || n > MAX_FILES;
  go.textContent = n > MAX_FILES ? `At most ${MAX_FILES} files` : n > 1 ? `Show ${n} together` : "Show together";
}

/** The note over a merged view (hidden for one file): what it holds, and each file's own view. */
export function showMergedNote(app) {
  const { doc, ui, state } = app;
  const note = ui.root.querySelector("#merged-note");
  note.textContent = "";
  note.hidden = !state.merged;
  if (!state.merged) return;
  const names = state.mergedNames;
  // Labels as wide as the longest (the log is monospace): the lines start in one column.
  const widest = Math.max(4, ...names.map((n) => shortLabel(n).length));
  ui.log.style.setProperty("--src-w", widest + "ch");
  note.append(
    `${names.length === 1 ? "One file" : names.length + " files"} in one stream, each line labelled with its file: ` +
      "the backlog and what arrives since, merged by the lines' times. Search the files searches " +
      "each of them whole (a result opens in its own file); scrolling back past the backlog and " +
      "jumping to a time work file by file: ",
  );
  names.forEach((name, i) => {
    if (i) note.append(" · ");
    const a = doc.createElement("a");
    a.href = pagePath(name, state.embed);
    a.textContent = name;
    a.addEventListener("click", (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.shiftKey || ev.button !== 0) return;
      ev.preventDefault();
      go(app, name);
    });
    note.appendChild(a);
  });
}
