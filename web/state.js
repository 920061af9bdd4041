// Everything the viewer knows that can change, in one object. Modules receive it (inside
// the `app` the entry point builds) instead of keeping variables of their own. Pure.

import { receiver } from "./receive.js";
import { createStore } from "./store.js";
import { createUnseen } from "./unseen.js";

/** The state of a viewer started with these options (settings.js). */
export function createState(opts, { embed = false, backlog = null } = {}) {
  return {
    opts, // settings, changed by the toolbar
    embed, // chrome-less page in an iframe: nothing remembered
    backlog, // ?lines=N, or null
    current: null, // name of the file shown, or null for the file list (a merged view: its title)
    unknown: null, // the file the URL named that the server does not show (its 404 page)
    merged: null, // a merged view's selection (selection.js): file names, or ["*"]; else null
    mergedNames: [], // and the files its stream holds, in name order
    files: [], // from api/files
    authRequired: false, // the server asked for credentials we do not have

    store: createStore(), // the lines (store.js)
    filter: { matcher: null, invalid: false }, // the compiled filter (filter.js)
    mode: "live", // live | scroll (paused by scrolling up) | user (paused by the button)

    stream: {
      source: null, // the EventStream (eventstream.js)
      rx: receiver(), // receive.js
      reconnectTimer: 0,
      reconnectDelay: 1000,
      said: null, // what this connection said that is not "Live": missing, busy... (connection.js)
      ready: false, // this connection's opening has been seen
      downAt: null, // when the last connection that had opened was lost, until one opens again
      lostNote: null, // what the stream that opened again said was lost
    },

    paging: { busy: false, seq: 0 }, // reading api/lines (history.js); seq: the view's generation
    finder: { search: null, matcher: null, current: -1, focus: -1, abort: null }, // finder.js

    frameQueued: false, // a flush is waiting for the next animation frame
    lastFlush: -1e9, // when new lines were last handled (performance.now())
    lastBatch: 0, // and how many there were
    rowsQueued: false, // the rows near the view are drawn at the next animation frame
    lastTop: 0, // the log's scrollTop after our last move
    lastInput: -1e9, // when the user last scrolled by hand (wheel, touch, keys, scrollbar)
    tools: null, // the row-tools element, once made
    filterTimer: 0, // typing in the filter box: applied once the typing pauses
    toastTimer: 0,
    errorAt: null, // the entry e / E went to last (levelbar.js)
    levelsTimer: 0, // the level buttons are redrawn then (levelbar.js)
    levelsDrawn: -1e9, // and were last at
    unseen: createUnseen(), // what came while the tab was hidden (background.js)
    notify: { matcher: null, last: -1e9, skipped: 0, timer: 0 }, // notifications asked for
  };
}
