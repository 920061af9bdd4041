// Taking lines out of the page: the row tools (copy, pretty-print) that hover over a row,
// the clipboard, and the download of what is shown.

import { downloadName, downloadText } from "./format.js";

export function hideTools({ state }) {
  const el = state.tools;
  if (el && el.parentNode) el.remove();
}

/** Shows the row tools on a row (one set for the page, moved from row to row). */
export function showTools({ state, ui }, row) {
  if (!state.tools) state.tools = ui.rowTools.content.firstElementChild.cloneNode(true);
  state.tools.querySelector('[data-act="json"]').hidden = !row.tailsseEntry.jsonish;
  if (state.tools.parentNode !== row) row.appendChild(state.tools);
}

/** The row tool an event happened on: {act, entry}, or null. */
export function toolAt({ state }, target) {
  const tools = state.tools;
  const button = tools && target.closest && target.closest("button");
  const row = tools && tools.parentNode;
  if (!button || !tools.contains(button) || !row || !row.tailsseEntry) return null;
  return { act: button.getAttribute("data-act"), entry: row.tailsseEntry };
}

/** Puts text on the clipboard (a hidden textarea where the Clipboard API is missing). */
export function copyText(doc, text) {
  const win = doc.defaultView;
  if (win.navigator.clipboard && win.isSecureContext) return win.navigator.clipboard.writeText(text);
  return new Promise((resolve, reject) => {
    const area = doc.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    doc.body.appendChild(area);
    area.select();
    let ok = false;
    try {
      ok = doc.execCommand("copy");
    } catch {
      ok = false;
    }
    area.remove();
    if (ok) resolve();
    else reject(new Error("copy failed"));
  });
}

/** Saves the lines shown, as they are shown, to a file. */
export function download({ doc, state }) {
  const text = downloadText(state.store.entries, state.opts);
  const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
  const a = doc.createElement("a");
  a.href = url;
  a.download = downloadName(state.merged ? "merged" : state.current, state.filter.matcher !== null, new Date());
  doc.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
