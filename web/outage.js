// The row a reconnect leaves in the log: when the stream was lost, when it came back, and
// whether anything was missed. Pure: no DOM.

import { clock } from "./format.js";

/**
 * "disconnected 12:03:04 – resumed 12:03:10, nothing missed"; lost is what the server said
 * was lost (its `lost` notice), or null when it resumed exactly after the last line.
 */
export function outageMessage(downAt, upAt, lost = null) {
  const span = `disconnected ${clock(downAt).slice(0, 8)} – resumed ${clock(upAt).slice(0, 8)}`;
  return lost ? `${span}; lines were lost: ${lost}` : `${span}, nothing missed`;
}
