// @ts-check
// Staff workspace (/staff): FAQ search, tickets, field jobs, human handoff conversations, unanswered
// questions, analytics, the knowledge-base editor. Native ES modules, no build step; the one library
// is Chart.js (vendor/, for 数据看板). This entry wires the tabs together:
//   api.js transport and sign-in state   labels.js the vocabulary of GET /api/staff/labels
//   dom.js DOM helpers                   session.js login and logout
//   tabs.js, router.js tablist and hash routes
//   faq.js, tickets.js (+ previews.js), field.js, queue.js (+ queue-alert.js), conversations.js,
//   unanswered.js, analytics.js, kb.js one per tab; transcript.js the lines tickets and conversations show.
// The unanswered queue and the editor talk through two document events (kb:new-entry, kb:entry-created; kb.js).

import { analyticsSignedIn, initAnalytics } from "./analytics.js";
import { conversationsSignedIn, initConversations } from "./conversations.js";
import { $ } from "./dom.js";
import { initFaq } from "./faq.js";
import { initField } from "./field.js";
import { initKb, kbSignedIn } from "./kb.js";
import { fillSelect } from "./labels.js";
import { initQueue, startQueuePolling, stopQueue } from "./queue.js";
import { initRouter, route } from "./router.js";
import { initSession, start } from "./session.js";
import { activeTab } from "./tabs.js";
import { initTickets, ticketsSignedIn } from "./tickets.js";
import { initUnanswered, unansweredSignedIn } from "./unanswered.js";

/** The selects whose options are labels (filled once the labels are loaded). */
function fillStaticSelects() {
  for (const [sel, kind, any] of [
    ["#t-status", "status", "全部状态"],
    ["#t-category", "category", "全部类别"],
    ["#t-new-priority", "priority", null],
    ["#faq-cat", "faqCategory", "全部类别"],
  ]) {
    const select = /** @type {HTMLSelectElement} */ ($(String(sel)));
    const keep = select.value;
    fillSelect(select, String(kind), { any });
    if (keep) select.value = keep;
  }
}

initSession({
  signedIn: (me) => {
    fillStaticSelects();
    ticketsSignedIn(me);
    conversationsSignedIn(me);
    unansweredSignedIn(me);
    analyticsSignedIn(me);
    kbSignedIn(me);
    startQueuePolling();
    route();
  },
  signedOut: stopQueue,
});
initRouter();
initFaq();
initTickets();
initConversations();
initQueue({ isQueueShown: () => activeTab() === "conversations" && !document.hidden });
initField();
initUnanswered();
initAnalytics();
initKb();
start();
