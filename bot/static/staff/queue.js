// @ts-check
// The handoff queue (人工会话): polled while signed in; its count shows in the tab and the page title.
// queue-alert.js hears about each poll (beep and "(1) 新的人工会话" for a new arrival).

import { api, auth } from "./api.js";
import { $, el, showError } from "./dom.js";
import { label } from "./labels.js";
import { initQueueAlert, queueUpdated, resetQueueAlert } from "./queue-alert.js";

/** The page's own title, without counts. */
export const BASE_TITLE = document.title;
const QUEUE_MS = 5000;

/** @typedef {{ direction: string, text: string }} LastMessage */
/**
 * A conversation waiting for a person (GET /api/staff/queue).
 * @typedef {{ conversation_id: string, merchant_id_masked?: string | null, contact_phone_masked?: string | null,
 *   channel: string, reason: string,
 *   ticket_number?: string | null, waiting_since: string, unanswered?: number, last_message?: LastMessage | null }} Waiting
 */

const queue = {
  /** @type {ReturnType<typeof setTimeout> | null} */
  timer: null,
  /** @type {number | null} */
  count: null,
  /** @type {Waiting[]} */
  items: [],
};

/** @param {string} since */
function waitText(since) {
  const ms = Date.now() - new Date(since).getTime();
  if (!Number.isFinite(ms) || ms < 0) return "刚刚";
  const min = Math.floor(ms / 60000);
  if (min < 1) return "不到 1 分钟";
  if (min < 60) return `${min} 分钟`;
  const h = Math.floor(min / 60);
  return `${h} 小时 ${min % 60} 分钟`;
}

/** @param {number | null} n */
function showQueueCount(n) {
  const badge = $("#queue-badge");
  badge.hidden = !n;
  badge.textContent = n ? String(n) : "";
  badge.setAttribute("aria-label", n ? `${n} 个会话等待人工` : "");
  document.title = n ? `(${n}) ${BASE_TITLE}` : BASE_TITLE;
  $("#c-waiting-count").textContent = n === null ? "" : `（${n} 个）`;
}

/** @param {Waiting} c */
function queueRow(c) {
  // No merchant id yet (nothing filed): the last characters of the chat tell rows apart.
  const who = c.merchant_id_masked ? `商户 ${c.merchant_id_masked}` : `未留商户号的访客（…${c.conversation_id.slice(-4)}）`;
  const last = c.last_message;
  const lastWho = last ? label("role", last.direction) : "";
  return el(
    "li",
    { class: "queue-row", "data-conv": c.conversation_id },
    el(
      "div",
      { class: "queue-head" },
      el("a", { href: `#conversations/${encodeURIComponent(c.conversation_id)}`, class: "queue-link", title: "打开会话", text: who }),
      c.contact_phone_masked ? el("span", { class: "mono", title: "联系电话", text: `电话 ${c.contact_phone_masked}` }) : null,
      el("span", { class: "tag", text: label("channel", c.channel) }),
      el("span", { class: "muted", text: label("reason", c.reason) }),
      c.ticket_number ? el("a", { class: "tag mono", href: `#tickets/${encodeURIComponent(c.ticket_number)}`, text: c.ticket_number }) : null,
      el("span", { class: "wait", text: `已等待 ${waitText(c.waiting_since)}` }),
      c.unanswered ? el("span", { class: "badge unanswered", text: `${c.unanswered} 条未回复` }) : null
    ),
    last ? el("div", { class: "queue-last", text: `${lastWho}：${last.text}` }) : null
  );
}

export async function loadWaiting() {
  const list = $("#c-waiting");
  const errBox = $("#c-waiting-error");
  try {
    const data = await api("GET", "/api/staff/queue");
    showError(errBox, null);
    queue.items = data.items || [];
    queue.count = data.count ?? queue.items.length;
    showQueueCount(queue.count);
    queueUpdated(queue.items); // a new arrival: beep, and "(1) 新的人工会话" in the title
    list.replaceChildren(...queue.items.map(queueRow));
    if (!queue.items.length) list.replaceChildren(el("li", { class: "empty", text: "现在没有等待人工的会话" }));
  } catch (err) {
    if (err.status === 403) {
      list.replaceChildren();
      showQueueCount(null);
    }
    showError(errBox, err);
  }
}

export function startQueuePolling() {
  stopQueuePolling();
  const tick = async () => {
    if (!auth.me) return;
    await loadWaiting();
    // hidden tabs poll slower: the title still tells the agent when someone is waiting
    queue.timer = setTimeout(tick, document.hidden ? QUEUE_MS * 3 : QUEUE_MS);
  };
  tick();
}

/** Signed out: no more polling, no alert state, the page's own title. */
export function stopQueue() {
  stopQueuePolling();
  resetQueueAlert();
  document.title = BASE_TITLE;
}

function stopQueuePolling() {
  if (queue.timer !== null) clearTimeout(queue.timer);
  queue.timer = null;
}

/** @param {{ isQueueShown: () => boolean }} options */
export function initQueue({ isQueueShown }) {
  $("#c-waiting-refresh").addEventListener("click", loadWaiting);
  initQueueAlert({
    refreshButton: $("#c-waiting-refresh"),
    isQueueShown,
    restoreTitle: () => showQueueCount(queue.count),
  });
}
