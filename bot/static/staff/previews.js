// @ts-check
// What the merchant will read. Notes on a ticket are internal unless marked for the merchant; the
// server renders the exact message (POST /api/tickets/{number}/preview), shown under the form before
// anything is saved.

import { api } from "./api.js";
import { $, el, field } from "./dom.js";

/** @typedef {{ status?: string | null, note: string | null, reply_to_merchant: boolean }} PreviewBody */

/** @type {() => any} the ticket on screen (tickets.js) */
let currentTicket = () => null;

/** @type {Record<string, { box: string, inputs: string[], body: () => PreviewBody }>} */
const PREVIEWS = {
  update: {
    box: "#t-preview",
    inputs: ["#t-new-status", "#t-note", "#t-reply"],
    body: () => {
      const status = field("#t-new-status").value;
      const t = currentTicket();
      const current = t && t.status;
      return {
        status: status && status !== current ? status : null,
        note: field("#t-note").value.trim() || null,
        reply_to_merchant: field("#t-reply").checked,
      };
    },
  },
  comment: {
    box: "#t-comment-preview",
    inputs: ["#t-comment-body", "#t-comment-reply"],
    body: () => ({ note: field("#t-comment-body").value.trim() || null, reply_to_merchant: field("#t-comment-reply").checked }),
  },
};

/**
 * @param {HTMLElement} box
 * @param {...Node} children none: the box hides
 */
function showPreview(box, ...children) {
  box.replaceChildren(...children);
  box.hidden = !children.length;
}

/** @param {string} kind */
async function refreshPreview(kind) {
  const { box: sel, body: makeBody } = PREVIEWS[kind];
  const box = $(sel);
  const t = currentTicket();
  const body = makeBody();
  if (!t || (!body.status && !body.reply_to_merchant)) return showPreview(box);
  if (body.reply_to_merchant && !body.note) return showPreview(box, el("span", { class: "none", text: "请先写好要发给商户的内容" }));
  try {
    const data = await api("POST", `/api/tickets/${encodeURIComponent(t.number)}/preview`, { body });
    if (currentTicket() !== t) return;
    if (!data.messages.length) {
      const why = data.recipient ? "这次修改商户不会收到消息" : "这张工单不是从对话里来的，商户不会收到消息";
      return showPreview(box, el("span", { class: "none", text: why }));
    }
    showPreview(box, el("strong", { text: "商户将收到：" }), ...data.messages.map((/** @type {string} */ m) => el("div", { class: "pre", text: m })));
  } catch (err) {
    showPreview(box, el("span", { class: "none", text: err.message }));
  }
}

/** A ticket (re)opened: nothing ticked, no preview. */
export function resetMerchantPreviews() {
  field("#t-reply").checked = false;
  field("#t-comment-reply").checked = false;
  for (const kind of Object.keys(PREVIEWS)) showPreview($(PREVIEWS[kind].box));
}

/** @param {() => any} getTicket the ticket on screen, or null */
export function initMerchantPreviews(getTicket) {
  currentTicket = getTicket;
  for (const [kind, { inputs }] of Object.entries(PREVIEWS)) {
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(() => refreshPreview(kind), 300);
    };
    for (const sel of inputs) {
      $(sel).addEventListener("input", later);
      $(sel).addEventListener("change", later);
    }
  }
}
