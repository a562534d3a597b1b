// @ts-check
// Hash routes of the workspace: #faq, #tickets, #tickets/<number>, #field, #conversations,
// #conversations/<conv_id>, #unanswered, #analytics, #kb (kb.js follows that one itself).
// The tablist (ARIA: arrow keys, Home and End move between tabs) changes the hash.

import { showAnalytics } from "./analytics.js";
import { openConversation } from "./conversations.js";
import { $, field } from "./dom.js";
import { showField } from "./field.js";
import { looked as queueLooked } from "./queue-alert.js";
import { loadWaiting } from "./queue.js";
import { TABS, selectTab } from "./tabs.js";
import { openTicket, openTicketNumber, showTicketList } from "./tickets.js";
import { showUnanswered } from "./unanswered.js";

export function initRouter() {
  const tabs = TABS.map((t) => $(`#tab-${t}`));
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => {
      const name = tab.dataset.tab || "";
      const current = location.hash.slice(1).split("/")[0];
      const number = openTicketNumber();
      if (current !== name) location.hash = name === "tickets" && number ? `tickets/${number}` : name;
      else selectTab(name);
    });
    tab.addEventListener("keydown", (e) => {
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
      else if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = tabs.length - 1;
      if (j === null) return;
      e.preventDefault();
      tabs[j].focus();
      tabs[j].click();
    });
  });
  window.addEventListener("hashchange", route);
}

/** Shows the tab (and the ticket or conversation) the hash names. */
export function route() {
  const raw = location.hash.slice(1);
  const [name, ...rest] = raw.split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : "";
  const tab = TABS.includes(name) ? name : "faq";
  selectTab(tab);
  if (tab === "tickets") {
    if (arg) openTicket(arg);
    else showTicketList();
  } else if (tab === "field") {
    showField();
  } else if (tab === "conversations") {
    queueLooked();
    loadWaiting();
    if (arg) {
      field("#c-id").value = arg;
      openConversation(arg);
    }
  } else if (tab === "unanswered") showUnanswered();
  else if (tab === "analytics") showAnalytics();
}
