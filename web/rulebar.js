// The exclude box (lines that match it are hidden) and the highlight rules: a word or a
// /pattern/ and a colour, added in the page, shown as chips that remove them, and kept in
// the URL like the filter so that one link shows everyone the same.

import { COLOURS, parseRule } from "./highlight.js";
import { rulesChanged } from "./levelbar.js";

const DELAY = 120; // ms of typing pause before the exclude box applies

/** Attaches the exclude box and the highlight form. */
export function wireRules(app) {
  const { doc, ui, state } = app;
  const $ = (id) => doc.getElementById(id);
  Object.assign(ui, {
    exclude: $("exclude"),
    excludeBox: $("exclude-box"),
    hlForm: $("hl-form"),
    hlText: $("hl-text"),
    hlColour: $("hl-colour"),
    hlList: $("hl-list"),
  });
  if (!ui.exclude || !ui.hlForm) return;
  let timer = 0;
  ui.exclude.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.opts.exclude = ui.exclude.value;
      rulesChanged(app);
      syncRules(app);
    }, DELAY);
  });
  for (const colour of COLOURS) {
    const option = doc.createElement("option");
    option.value = colour;
    option.textContent = colour;
    ui.hlColour.appendChild(option);
  }
  ui.hlForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const rule = parseRule(ui.hlColour.value + ":" + ui.hlText.value);
    if (!rule) return;
    state.opts.highlight = [...state.opts.highlight, rule];
    ui.hlText.value = "";
    // The next rule gets the next colour, unless the user picks one.
    ui.hlColour.value = COLOURS[(COLOURS.indexOf(rule.colour) + 1) % COLOURS.length];
    rulesChanged(app);
    syncRules(app);
  });
  app.win.addEventListener("popstate", () => syncRules(app));
  syncRules(app);
}

/** The exclude box and the chips as the options say. */
export function syncRules(app) {
  const { doc, ui, state } = app;
  if (!ui.hlList) return;
  if (ui.exclude.value !== state.opts.exclude && doc.activeElement !== ui.exclude) ui.exclude.value = state.opts.exclude;
  ui.excludeBox.classList.toggle("invalid", !!state.filter.excludeInvalid);
  ui.hlList.textContent = "";
  state.opts.highlight.forEach((rule, i) => {
    const chip = doc.createElement("span");
    chip.className = "hl-chip hl hl-" + rule.colour;
    const text = doc.createElement("span");
    text.textContent = rule.pattern;
    const remove = doc.createElement("button");
    remove.type = "button";
    remove.className = "hl-remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `Remove the highlight of ${rule.pattern}`);
    remove.title = "Remove this highlight";
    remove.addEventListener("click", () => {
      state.opts.highlight = state.opts.highlight.filter((_, j) => j !== i);
      rulesChanged(app);
      syncRules(app);
      ui.hlText.focus();
    });
    chip.append(text, remove);
    ui.hlList.appendChild(chip);
  });
}
