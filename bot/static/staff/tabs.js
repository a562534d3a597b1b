// @ts-check
// The tablist of the workspace: which tab shows (router.js decides from the hash route).

import { $ } from "./dom.js";

export const TABS = ["faq", "tickets", "field", "conversations", "unanswered", "analytics", "kb"];
let current = "faq";

/** The tab on screen. */
export const activeTab = () => current;

/**
 * @param {string} name
 * @param {{ focus?: boolean }} [options]
 */
export function selectTab(name, { focus = false } = {}) {
  current = name;
  for (const t of TABS) {
    const tab = $(`#tab-${t}`);
    const on = t === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#panel-${t}`).hidden = !on;
    if (on && focus) tab.focus();
  }
}
