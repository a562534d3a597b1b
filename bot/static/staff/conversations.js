// @ts-check
// 人工会话 tab, one conversation: its state, the handoff, who the merchant is and the conversation's
// tickets, the transcript (refreshed every 5 s while visible), the reply box and 交还机器人.
// The queue of waiting conversations above it is queue.js.

import { ApiError, api, canWrite } from "./api.js";
import { $, busy, el, field, flash, fmtTime, setFormEnabled, showError } from "./dom.js";
import { badge, label, personName } from "./labels.js";
import { loadWaiting } from "./queue.js";
import { activeTab } from "./tabs.js";
import { renderTranscript } from "./transcript.js";

/** @typedef {import("./api.js").Me} Me */

const CONV_REFRESH_MS = 5000;
const conv = {
  /** @type {string | null} */
  id: null,
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  timer: undefined,
  /** @type {any} */
  data: null,
  lastCount: -1,
  lastKey: "",
};

/** The conversation open in the tab (its id), or null. */
export const openConversationId = () => conv.id;

export function initConversations() {
  $("#c-open").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = field("#c-id").value.trim();
    if (!id) return;
    const target = `conversations/${encodeURIComponent(id)}`;
    if (location.hash.slice(1) === target) openConversation(id);
    else location.hash = target;
  });
  $("#c-refresh").addEventListener("click", () => conv.id && openConversation(conv.id));
  $("#c-handback").addEventListener("click", handBack);
  const text = field("#c-text");
  const count = $("#c-count");
  text.addEventListener("input", () => (count.textContent = `${text.value.length}/2000`));
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) {
      e.preventDefault();
      /** @type {HTMLFormElement} */ ($("#c-reply")).requestSubmit();
    }
  });
  $("#c-reply").addEventListener("submit", (e) => {
    e.preventDefault();
    busy(/** @type {HTMLElement} */ (e.currentTarget), sendReply);
  });
  document.addEventListener("visibilitychange", scheduleConvRefresh);
}

/**
 * After sign-in: replies are signed with the account's name; an account that may only read cannot reply.
 * @param {Me} me
 */
export function conversationsSignedIn(me) {
  $("#c-signature").textContent = `署名：${me.display_name}（商户可见）`;
  setFormEnabled($("#c-reply"), canWrite(me, "conversations:write"));
  $("#c-handback").hidden = !canWrite(me, "conversations:write");
}

function scheduleConvRefresh() {
  clearTimeout(conv.timer);
  if (!conv.id || document.hidden) return;
  conv.timer = setTimeout(async () => {
    if (activeTab() === "conversations" && conv.id && !document.hidden) {
      await loadConversation(conv.id, { quiet: true });
    }
    scheduleConvRefresh();
  }, CONV_REFRESH_MS);
}

/** @param {string} id */
export async function openConversation(id) {
  if (conv.id !== id) conv.lastCount = -1;
  conv.id = id;
  showError($("#c-error"), null);
  await loadConversation(id, { quiet: false });
  scheduleConvRefresh();
}

/**
 * @param {string} id
 * @param {{ quiet: boolean }} options quiet: a background refresh (only real errors show)
 */
async function loadConversation(id, { quiet }) {
  try {
    const data = await api("GET", `/api/conversations/${encodeURIComponent(id)}`);
    if (conv.id !== id) return;
    conv.data = data;
    renderConversation(id, data);
    if (!quiet) showError($("#c-error"), null);
  } catch (err) {
    if (conv.id !== id) return;
    if (!quiet || err.status) showError($("#c-error"), err);
    if (!quiet) $("#c-view").hidden = true;
  }
}

/** @param {any[]} lines */
function transcriptKey(lines) {
  // a web line's acknowledgement (delivered_at) changes what the line shows, too
  return lines
    .map((l) => (l && l.delivery ? `${l.id}:${l.delivery.status}` : `${l && l.id}:${l && l.delivered_at ? 1 : 0}`))
    .join(",");
}

/**
 * @param {any} data
 * @returns {any[]}
 */
function convLines(data) {
  const lines = data.transcript ?? data.messages ?? data.events ?? [];
  return Array.isArray(lines) ? lines : [];
}

/**
 * true / false / null (unknown) from whatever the conversations API reports.
 * @param {any} data
 * @returns {boolean | null}
 */
function handoffActive(data) {
  if (typeof data.handoff === "boolean") return data.handoff;
  if (typeof data.handoff_active === "boolean") return data.handoff_active;
  if (data.handoff && typeof data.handoff === "object") return data.handoff.active ?? !data.handoff.ended_at;
  const s = String(data.state ?? data.status ?? data.mode ?? "").toLowerCase();
  if (!s) return null;
  return ["handoff", "human", "agent", "staff", "active", "handed_off"].includes(s);
}

/**
 * @param {string} id
 * @param {any} data
 */
function renderConversation(id, data) {
  $("#c-view").hidden = false;
  $("#c-title").textContent = `会话 ${data.conversation_id || data.conv_id || data.id || id}`;
  const active = handoffActive(data);
  const state = $("#c-state");
  state.textContent = active === null ? "未知状态" : active ? "人工处理中" : "机器人接待中";
  state.className = `badge ${active ? "state-handoff" : "state-bot"}`;
  field("#c-handback").disabled = active === false;

  /** @type {[string, string | Node][]} */
  const fields = [];
  const h = data.handoff && typeof data.handoff === "object" ? data.handoff : {};
  for (const [k, name] of [
    ["channel", "渠道"],
    ["ticket_number", "工单号"],
    ["reason", "转人工原因"],
    ["started_at", "转人工时间"],
    ["ended_at", "交还时间"],
    ["ended_by", "交还人"],
    ["last_message_at", "最近消息"],
  ]) {
    const v = h[k] ?? data[k];
    if (v === null || v === undefined || v === "" || typeof v === "object") continue;
    let dd;
    if (k === "ticket_number") dd = el("a", { href: `#tickets/${encodeURIComponent(v)}`, text: String(v) });
    else if (k.endsWith("_at")) dd = fmtTime(v);
    else if (k === "ended_by") dd = personName(v);
    else dd = k === "channel" || k === "reason" ? label(k, v) : String(v);
    fields.push([name, dd]);
  }
  $("#c-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
  renderConvContext(data);

  const lines = convLines(data);
  const list = $("#c-transcript");
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  const key = transcriptKey(lines);
  if (lines.length !== conv.lastCount || key !== conv.lastKey) {
    renderTranscript(list, lines, conv.id);
    if (atEnd || conv.lastCount < 0) list.scrollTop = list.scrollHeight;
    conv.lastCount = lines.length;
    conv.lastKey = key;
  }
}

/** Who the merchant is and every ticket of the conversation. @param {any} data */
function renderConvContext(data) {
  const m = data.merchant || {};
  /** @type {any[]} */
  const tickets = Array.isArray(data.tickets) ? data.tickets : [];
  const rows = [
    ["商户号", m.merchant_id],
    ["终端号", m.terminal_id],
    ["设备序列号", m.device_serial],
    ["联系电话", m.contact_phone_masked],
  ].filter(([, v]) => v);
  $("#c-context").hidden = !rows.length && !tickets.length;
  $("#c-merchant").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { class: "mono", text: v })]));
  $("#c-tickets").replaceChildren(
    ...tickets.map((t) =>
      el(
        "li",
        {},
        el("a", { href: `#tickets/${encodeURIComponent(t.number)}`, class: "mono", text: t.number }),
        " ",
        badge("status", t.status),
        el("span", { class: "muted", text: ` ${label("category", t.category)} · ${fmtTime(t.created_at)} · ${t.description}` })
      )
    )
  );
}

async function sendReply() {
  const input = field("#c-text");
  const text = input.value.trim();
  const errBox = $("#c-error");
  showError(errBox, null);
  if (!conv.id) return;
  if (!text) {
    showError(errBox, new ApiError(0, "回复内容不能为空"));
    input.focus();
    return;
  }
  try {
    // Signed with the account's display name by the server; recorded under its username.
    await api("POST", `/api/conversations/${encodeURIComponent(conv.id)}/messages`, { body: { text } });
    input.value = "";
    $("#c-count").textContent = "0/2000";
    flash($("#c-msg"), "已发送给商户");
    await loadConversation(conv.id, { quiet: false });
    input.focus();
  } catch (err) {
    showError(errBox, err);
  }
}

async function handBack() {
  if (!conv.id) return;
  if (!window.confirm("确定把这个会话交还给机器人吗？之后商户的消息将由机器人回答。")) return;
  const btn = field("#c-handback");
  btn.disabled = true;
  showError($("#c-error"), null);
  try {
    await api("POST", `/api/conversations/${encodeURIComponent(conv.id)}/handback`, { body: {} });
    flash($("#c-msg"), "已交还机器人");
    await loadConversation(conv.id, { quiet: false });
    loadWaiting();
  } catch (err) {
    btn.disabled = false;
    showError($("#c-error"), err);
  }
}

