// The keyboard shortcuts, shown by `?` in a dialog: Escape (or its button) closes it, and
// the focus goes back to where it was.

const SHORTCUTS = [
  ["?", "Show these shortcuts"],
  ["/", "Filter lines (Escape clears the filter)"],
  ["Enter", "In the log: go to the lines on screen"],
  ["↑ ↓", "On a line: the line before or after"],
  ["Tab", "On a line: its tools (pretty-print, copy a link, copy)"],
  ["Escape", "On a line: back to the log; close the search results or this dialog"],
  ["End", "The last line, following"],
  ["Home", "The first line of the file"],
  ["n N", "The next and the previous search result"],
  ["e E", "The next and the previous error line"],
];

/** Fills the dialog with the shortcuts and wires its closing. */
export function wireShortcuts({ doc, ui }) {
  const list = ui.keysList;
  for (const [keys, what] of SHORTCUTS) {
    const dt = doc.createElement("dt");
    for (const key of keys.split(" ")) {
      const kbd = doc.createElement("kbd");
      kbd.textContent = key;
      dt.appendChild(kbd);
    }
    const dd = doc.createElement("dd");
    dd.textContent = what;
    list.append(dt, dd);
  }
  ui.keysClose.addEventListener("click", () => ui.keys.close());
  ui.keys.addEventListener("close", () => {
    const back = ui.keys.returnTo;
    ui.keys.returnTo = null;
    if (back && back.isConnected) back.focus({ preventScroll: true });
  });
}

/** Shows the shortcuts (a modal dialog), remembering where the focus was. */
export function showShortcuts({ doc, ui }) {
  if (ui.keys.open) return;
  ui.keys.returnTo = doc.activeElement;
  ui.keys.showModal();
  ui.keysClose.focus();
}
