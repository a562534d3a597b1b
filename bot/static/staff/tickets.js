// @ts-check
// 工单 tab: the list (filters, cursor paging) and one ticket (fields, transcript, events, update,
// comment; previews.js shows what the merchant will receive).

import { ApiError, api, canWrite } from "./api.js";
import { $, busy, el, field, flash, fmtTime, setFormEnabled, showError } from "./dom.js";
import { LABELS, TRANSITIONS, badge, fillSelect, label, personName } from "./labels.js";
import { initMerchantPreviews, resetMerchantPreviews } from "./previews.js";
import { renderTranscript } from "./transcript.js";

/** @typedef {import("./api.js").Me} Me */

const ticketList = {
  /** @type {(string | null)[]} the cursor of each page seen so far */
  cursors: [null],
  page: 0,
  /** @type {string | null} */
  next: null,
};
const ticketView = {
  /** @type {string | null} the ticket on screen (its number), null for the list */
  number: null,
  /** @type {any} */
  ticket: null,
};

/** The number of the ticket on screen, or null when the list shows. */
export const openTicketNumber = () => ticketView.number;

export function initTickets() {
  const filters = $("#t-filters");
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    const m = field("#t-merchant");
    if (m.value && !/^\d{15}$/.test(m.value.trim())) {
      showError($("#t-error"), new ApiError(0, "商户号应为 15 位数字"));
      m.focus();
      return;
    }
    resetPaging();
    busy(filters, loadTickets);
  });
  filters.addEventListener("reset", () => {
    setTimeout(() => {
      resetPaging();
      loadTickets();
    });
  });
  $("#t-next").addEventListener("click", () => {
    if (!ticketList.next) return;
    ticketList.page += 1;
    ticketList.cursors[ticketList.page] = ticketList.next;
    loadTickets();
  });
  $("#t-prev").addEventListener("click", () => {
    if (ticketList.page === 0) return;
    ticketList.page -= 1;
    loadTickets();
  });
  $("#t-back").addEventListener("click", () => (location.hash = "tickets"));
  $("#t-refresh").addEventListener("click", () => ticketView.number && openTicket(ticketView.number));
  $("#t-update").addEventListener("submit", (e) => {
    e.preventDefault();
    busy(/** @type {HTMLElement} */ (e.currentTarget), updateTicket);
  });
  $("#t-comment").addEventListener("submit", (e) => {
    e.preventDefault();
    busy(/** @type {HTMLElement} */ (e.currentTarget), addComment);
  });
  initMerchantPreviews(() => ticketView.ticket);
}

/**
 * After sign-in: an account that may only read sees the forms disabled.
 * @param {Me} me
 */
export function ticketsSignedIn(me) {
  for (const form of ["#t-update", "#t-comment"]) setFormEnabled($(form), canWrite(me, "tickets:write"));
}

function resetPaging() {
  ticketList.cursors = [null];
  ticketList.page = 0;
  ticketList.next = null;
}

export function showTicketList() {
  ticketView.number = null;
  ticketView.ticket = null;
  $("#t-detail-view").hidden = true;
  $("#t-list-view").hidden = false;
  loadTickets();
}

export async function loadTickets() {
  const errBox = $("#t-error");
  const rows = $("#t-rows");
  showError(errBox, null);
  const query = {
    status: field("#t-status").value,
    category: field("#t-category").value,
    merchant_id: field("#t-merchant").value.trim(),
    limit: field("#t-limit").value,
    cursor: ticketList.cursors[ticketList.page],
  };
  rows.setAttribute("aria-busy", "true");
  try {
    const data = await api("GET", "/api/tickets", { query });
    /** @type {any[]} */
    const items = data.items || [];
    ticketList.next = data.next_cursor || null;
    rows.replaceChildren(
      ...items.map((t) =>
        el(
          "tr",
          {},
          el("th", { scope: "row" }, el("a", { href: `#tickets/${encodeURIComponent(t.number)}`, class: "ticket-link", text: t.number })),
          el("td", {}, badge("status", t.status)),
          el("td", { text: label("category", t.category) }),
          el("td", {}, badge("priority", t.priority)),
          el("td", { class: "mono", text: t.merchant_id || "—" }),
          el("td", { text: t.assignee || "未指派" }),
          el("td", { class: "nowrap", text: fmtTime(t.created_at) }),
          el("td", { class: "desc", title: t.description || "", text: t.description || "" })
        )
      )
    );
    if (!items.length) {
      rows.replaceChildren(el("tr", {}, el("td", { colspan: "8", class: "empty", text: "没有符合条件的工单" })));
    }
    $("#t-caption").textContent = `工单列表（本页 ${items.length} 条）`;
  } catch (err) {
    rows.replaceChildren();
    ticketList.next = null;
    showError(errBox, err);
  } finally {
    rows.removeAttribute("aria-busy");
    $("#t-page").textContent = `第 ${ticketList.page + 1} 页`;
    field("#t-prev").disabled = ticketList.page === 0;
    field("#t-next").disabled = !ticketList.next;
  }
}

/** @param {string} number */
export async function openTicket(number) {
  ticketView.number = number;
  $("#t-list-view").hidden = true;
  $("#t-detail-view").hidden = false;
  $("#t-title").textContent = `工单 ${number}`;
  const errBox = $("#t-detail-error");
  showError(errBox, null);
  try {
    const [ticket, events] = await Promise.all([
      api("GET", `/api/tickets/${encodeURIComponent(number)}`),
      api("GET", `/api/tickets/${encodeURIComponent(number)}/events`).catch((e) => ({ error: e })),
    ]);
    if (ticketView.number !== number) return; // navigated away meanwhile
    renderTicket(ticket);
    renderEvents(events);
  } catch (err) {
    showError(errBox, err);
  }
}

/** @param {any} t */
function renderTicket(t) {
  ticketView.ticket = t;
  $("#t-badges").replaceChildren(badge("status", t.status), badge("priority", t.priority));
  const fields = [
    ["类别", label("category", t.category)],
    ["商户号", t.merchant_id],
    ["终端号", t.terminal_id],
    ["设备序列号", t.device_serial],
    ["联系电话", t.contact_phone],
    ["处理人", t.assignee || "未指派"],
    ["交易日期", t.settlement_date],
    ["交易金额", t.settlement_amount != null ? `${t.settlement_amount} 元` : null],
    ["渠道", label("channel", t.channel)],
    ["创建时间", fmtTime(t.created_at)],
    ["更新时间", fmtTime(t.updated_at)],
  ].filter(([, v]) => v !== null && v !== undefined && v !== "");
  $("#t-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  $("#t-description").textContent = t.description || "";
  $("#t-resolution-wrap").hidden = !t.resolution;
  $("#t-resolution").textContent = t.resolution || "";

  const convId = t.sender_id ? (t.sender_id.includes(":") ? t.sender_id : `${t.channel}:${t.sender_id}`) : "";
  $("#t-conv-link-wrap").hidden = !convId;
  if (convId) /** @type {HTMLAnchorElement} */ ($("#t-conv-link")).href = `#conversations/${encodeURIComponent(convId)}`;

  const transcript = Array.isArray(t.transcript) ? t.transcript : [];
  $("#t-transcript-card").hidden = !transcript.length;
  renderTranscript($("#t-transcript"), transcript, null);

  const targets = [t.status, ...(TRANSITIONS[t.status] || [])];
  const status = /** @type {HTMLSelectElement} */ ($("#t-new-status"));
  fillSelect(status, "status", { values: targets });
  status.value = t.status;
  status.disabled = targets.length === 1;
  field("#t-new-assignee").value = t.assignee || "";
  field("#t-new-priority").value = t.priority;
  field("#t-note").value = "";
  resetMerchantPreviews();
}

/** @param {{ type: string, data?: Record<string, any> }} ev */
function eventSummary(ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case "status_changed":
      return `${label("status", d.from ?? d.old)} → ${label("status", d.to ?? d.new ?? d.status)}${d.note ? `：${d.note}` : ""}`;
    case "assigned":
      return `处理人：${d.from ?? d.old ?? "未指派"} → ${d.to ?? d.new ?? d.assignee ?? "未指派"}`;
    case "priority_changed":
      return `${label("priority", d.from ?? d.old)} → ${label("priority", d.to ?? d.new ?? d.priority)}`;
    case "commented":
      return d.body || d.text || "";
    case "notification":
      return d.text || (d.channel ? `通过${label("channel", d.channel)}渠道` : "");
    case "created":
      return [d.category && label("category", d.category), d.priority && `优先级 ${label("priority", d.priority)}`, d.channel && `来自${label("channel", d.channel)}`]
        .filter(Boolean)
        .join("，");
    case "delivered":
      return [d.event_type && label("event", d.event_type), d.status_code && `HTTP ${d.status_code}`, d.attempts && `第 ${d.attempts} 次尝试`]
        .filter(Boolean)
        .join("，");
    default: {
      const keys = Object.keys(d);
      return keys
        .filter((k) => LABELS.field && LABELS.field[k] && typeof d[k] !== "object")
        .map((k) => `${LABELS.field[k]}：${d[k]}`)
        .join("，");
    }
  }
}

/** @param {any} events the events, or {error} when they could not be loaded */
function renderEvents(events) {
  const list = $("#t-events");
  if (!events || events.error) {
    list.replaceChildren(el("li", { class: "error-inline", text: events?.error?.message || "处理记录加载失败" }));
    return;
  }
  /** @type {any[]} */
  const items = Array.isArray(events) ? events : events.items || events.events || [];
  list.replaceChildren(
    ...items.map((ev) =>
      el(
        "li",
        { class: `event event-${ev.type}` },
        el(
          "div",
          { class: "event-head" },
          el("strong", { text: label("event", ev.type) }),
          el("span", { class: "muted", text: ` ${personName(ev.actor)} · ${fmtTime(ev.created_at)}` })
        ),
        el("div", { class: "pre", text: eventSummary(ev) })
      )
    )
  );
  if (!items.length) list.replaceChildren(el("li", { class: "empty", text: "暂无记录" }));
}

async function updateTicket() {
  const t = ticketView.ticket;
  if (!t) return;
  const errBox = $("#t-detail-error");
  showError(errBox, null);
  /** @type {Record<string, string | boolean | null>} */
  const patch = {};
  const status = field("#t-new-status").value;
  const assignee = field("#t-new-assignee").value.trim();
  const priority = field("#t-new-priority").value;
  const note = field("#t-note").value.trim();
  if (status && status !== t.status) patch.status = status;
  if (assignee !== (t.assignee || "")) patch.assignee = assignee || null;
  if (priority && priority !== t.priority) patch.priority = priority;
  if (!Object.keys(patch).length) {
    showError(errBox, new ApiError(0, "没有要保存的修改"));
    return;
  }
  if (note) patch.note = note;
  if (field("#t-reply").checked) patch.reply_to_merchant = true;
  try {
    const updated = await api("PATCH", `/api/tickets/${encodeURIComponent(t.number)}`, { body: patch });
    flash($("#t-detail-msg"), "已保存");
    await openTicket(updated?.number || t.number);
  } catch (err) {
    showError(errBox, err);
  }
}

async function addComment() {
  const t = ticketView.ticket;
  if (!t) return;
  const errBox = $("#t-detail-error");
  const bodyInput = field("#t-comment-body");
  const body = bodyInput.value.trim();
  showError(errBox, null);
  if (!body) {
    showError(errBox, new ApiError(0, "备注内容不能为空"));
    bodyInput.focus();
    return;
  }
  try {
    const reply = field("#t-comment-reply").checked;
    await api("POST", `/api/tickets/${encodeURIComponent(t.number)}/comments`, { body: { body, reply_to_merchant: reply } });
    bodyInput.value = "";
    flash($("#t-detail-msg"), "备注已添加");
    await openTicket(t.number);
  } catch (err) {
    showError(errBox, err);
  }
}
