// @ts-check
// 未解答问题 tab: questions the bot did not answer, grouped by similarity (GET /api/unanswered).
// An editor resolves a group in one of three ways:
//   加为已有条目的问法  the group's question becomes a wording of an entry (the knowledge-base API
//                     POST /api/faq/entries/{id}/wordings), then the group is marked resolved;
//   新建条目           opens the knowledge-base editor prefilled (event kb:new-entry); when it reports the
//                     new entry (event kb:entry-created) or the editor picks it here, the group is resolved;
//   忽略               not something we answer (out of scope): the group leaves the queue.
// Every server-provided string goes in with textContent (el).

import { ApiError, api } from "./api.js";
import { $, busy, el, flash, fmtTime, showError } from "./dom.js";
import { label } from "./labels.js";

/** @typedef {import("./api.js").Me} Me */
/**
 * A group of similar questions (GET /api/unanswered).
 * @typedef {{ key: string, question: string, count: number, conversations: number, last_seen: string, category?: string,
 *   reasons?: Record<string, number>, samples?: string[], candidates?: { id: string, question: string, category: string }[] }} Group
 */

/** @type {Me | null} */
let account = null;
const view = {
  /** @type {Group[]} */
  groups: [],
  seq: 0,
  /** @type {{ key: string, question: string } | null} the group sent to the editor (kb:new-entry) */
  pendingNew: null,
};

const canEdit = () => Boolean(account && (account.scopes || []).includes("faq:write"));

/**
 * The one call that adds a wording: the knowledge-base editor's route.
 * @param {string} entryId
 * @param {string} text
 */
function addWording(entryId, text) {
  return api("POST", `/api/faq/entries/${encodeURIComponent(entryId)}/wordings`, { body: { text } });
}

/**
 * @param {string} key
 * @param {string} entryId
 * @param {string} question
 * @param {"wording" | "new_entry"} resolution
 */
function resolveGroup(key, entryId, question, resolution) {
  return api("POST", `/api/unanswered/groups/${encodeURIComponent(key)}/resolve`, {
    body: { entry_id: entryId, question, resolution },
  });
}

export function initUnanswered() {
  $("#u-refresh").addEventListener("click", () => loadUnanswered());
  // The knowledge-base editor tells us which entry it created for the group we sent it.
  document.addEventListener("kb:entry-created", (e) => {
    const pending = view.pendingNew;
    const detail = /** @type {CustomEvent} */ (e).detail;
    const id = detail && (detail.entry_id || detail.id);
    if (!pending || !id) return;
    view.pendingNew = null;
    finishResolve(pending.key, id, pending.question, "new_entry");
  });
}

/** @param {Me} me */
export function unansweredSignedIn(me) {
  account = me;
  const tab = $("#tab-unanswered");
  tab.hidden = !(me.scopes || []).includes("analytics:read");
}

export function showUnanswered() {
  return loadUnanswered();
}

async function loadUnanswered() {
  const seq = ++view.seq;
  const list = $("#u-groups");
  try {
    const data = await api("GET", "/api/unanswered", { query: { limit: 100 } });
    if (seq !== view.seq) return;
    showError($("#u-error"), null);
    view.groups = data.items || [];
    $("#u-count").textContent = data.groups ? `（${data.groups} 组，共 ${data.questions} 次）` : "";
    list.replaceChildren(...view.groups.map(groupCard));
    if (!view.groups.length) list.replaceChildren(el("li", { class: "empty", text: "没有待处理的问题，机器人都答上来了 🎉" }));
  } catch (err) {
    if (seq !== view.seq) return;
    showError($("#u-error"), err);
  }
}

/** @param {Group} g */
function groupCard(g) {
  const reasons = Object.entries(g.reasons || {})
    .filter(([, n]) => n)
    .map(([k, n]) => el("span", { class: `tag reason-${k}`, text: `${label("unanswered_reason", k)} ${n}` }));
  const others = (g.samples || []).filter((s) => s !== g.question);
  const card = el(
    "li",
    { class: "u-group card", "data-key": g.key },
    el(
      "div",
      { class: "u-head" },
      el("strong", { class: "u-question", text: g.question }),
      el("span", { class: "badge u-count", text: `${g.count} 次` }),
      el("span", { class: "muted", text: `${g.conversations} 个会话 · 最近 ${fmtTime(g.last_seen)}` }),
      ...reasons
    ),
    others.length ? el("div", { class: "u-samples" }, el("span", { class: "muted", text: "其他问法：" }), others.join(" ／ ")) : null,
    el(
      "div",
      { class: "u-candidates" },
      el("span", { class: "muted", text: "最接近的条目：" }),
      g.candidates && g.candidates.length
        ? el("ul", {}, g.candidates.map((c) => el("li", {}, c.question, el("span", { class: "tag", text: label("faqCategory", c.category) }))))
        : el("span", { text: "无" })
    ),
    canEdit()
      ? el(
          "div",
          { class: "u-actions" },
          el("button", { type: "button", onclick: () => openChooser(card, g, "wording") }, "加为已有条目的问法"),
          el("button", { type: "button", class: "secondary", onclick: () => newEntry(card, g) }, "新建条目"),
          el("button", { type: "button", class: "secondary", onclick: () => ignore(card, g) }, "忽略（不在服务范围）")
        )
      : el("p", { class: "muted small", text: "知识库编辑可以把这些问题加进知识库。" }),
    el("div", { class: "u-form-slot" }),
    el("div", { class: "error u-error", role: "alert", hidden: true })
  );
  return card;
}

/**
 * @param {HTMLElement} card
 * @param {any} err null: none
 */
function cardError(card, err) {
  showError(/** @type {HTMLElement} */ (card.querySelector(".u-error")), err);
}

// --- choose an entry: the group's candidates, or a search -------------------------------------

/**
 * @param {HTMLElement} card
 * @param {Group} g
 * @param {"wording" | "new_entry"} mode
 */
function openChooser(card, g, mode) {
  cardError(card, null);
  const slot = /** @type {HTMLElement} */ (card.querySelector(".u-form-slot"));
  const name = `u-entry-${g.key}`;
  const options = el("div", { class: "u-options", role: "radiogroup", "aria-label": "选择条目" });
  const seen = new Set();
  const addOption = (/** @type {string} */ id, /** @type {string} */ question, checked = false) => {
    if (seen.has(id)) return;
    seen.add(id);
    options.append(
      el("label", { class: "check u-option" }, el("input", { type: "radio", name, value: id, checked }), ` ${question}`)
    );
  };
  (g.candidates || []).forEach((c, i) => addOption(c.id, c.question, i === 0));
  const wording = el("input", { type: "text", class: "u-wording", maxlength: "500", value: g.question, "aria-label": "要添加的问法" });
  const search = el("input", { type: "search", class: "u-search", maxlength: "200", placeholder: "搜索其他条目", "aria-label": "搜索条目" });
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  let searchSeq = 0;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const q = search.value.trim();
      if (q.length < 2) return;
      const mine = ++searchSeq;
      try {
        const data = await api("GET", "/api/faq/search", { query: { q, k: 5 } });
        if (mine !== searchSeq) return;
        for (const r of data.results || []) addOption(r.id, r.question);
      } catch (err) {
        cardError(card, err);
      }
    }, 300);
  });
  const isWording = mode === "wording";
  const form = el(
    "form",
    { class: "u-form stack" },
    isWording ? el("label", { class: "field" }, el("span", { text: "要添加的问法（可修改）" }), wording) : el("p", { text: "选择刚才新建的条目，这组问题就算处理完了：" }),
    options,
    search,
    el(
      "div",
      { class: "reply-bar" },
      el("button", { type: "submit" }, isWording ? "确认添加" : "标记为已解决"),
      el("button", { type: "button", class: "secondary", onclick: () => slot.replaceChildren() }, "取消")
    )
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const chosen = /** @type {HTMLInputElement | null} */ (form.querySelector(`input[name="${name}"]:checked`));
    const text = isWording ? wording.value.trim() : g.question;
    if (!chosen) return cardError(card, new ApiError(0, "请先选择一个条目"));
    if (!text) return cardError(card, new ApiError(0, "问法不能为空"));
    busy(form, () => (isWording ? addThenResolve(card, g, chosen.value, text) : finishResolve(g.key, chosen.value, text, "new_entry", card)));
  });
  slot.replaceChildren(form);
  (isWording ? wording : search).focus();
}

/**
 * @param {HTMLElement} card
 * @param {Group} g
 * @param {string} entryId
 * @param {string} text
 */
async function addThenResolve(card, g, entryId, text) {
  cardError(card, null);
  try {
    await addWording(entryId, text);
  } catch (err) {
    return cardError(card, err); // nothing changed: the group stays as it was
  }
  await finishResolve(g.key, entryId, text, "wording", card);
}

/**
 * @param {string} key
 * @param {string} entryId
 * @param {string} question
 * @param {"wording" | "new_entry"} resolution
 * @param {HTMLElement | null} [card]
 */
async function finishResolve(key, entryId, question, resolution, card = null) {
  try {
    const r = await resolveGroup(key, entryId, question, resolution);
    flash($("#u-msg"), `已处理 ${r.questions} 个问题，机器人之后会用这个条目回答`);
    await loadUnanswered();
  } catch (err) {
    const box = card || /** @type {HTMLElement | null} */ (document.querySelector(`.u-group[data-key="${CSS.escape(key)}"]`));
    if (box) cardError(box, err);
    else showError($("#u-error"), err);
  }
}

/**
 * @param {HTMLElement} card
 * @param {Group} g
 */
function newEntry(card, g) {
  cardError(card, null);
  view.pendingNew = { key: g.key, question: g.question };
  document.dispatchEvent(new CustomEvent("kb:new-entry", { detail: { question: g.question, category: g.category } }));
  /** @type {HTMLElement} */ (card.querySelector(".u-form-slot")).replaceChildren(
    el(
      "p",
      { class: "muted" },
      "已打开新建条目。保存后这组问题会自动标记为已处理；若没有，",
      el("button", { type: "button", class: "link", onclick: () => openChooser(card, g, "new_entry") }, "选择新条目并标记为已解决")
    )
  );
}

/**
 * @param {HTMLElement} card
 * @param {Group} g
 */
async function ignore(card, g) {
  if (!window.confirm(`确定忽略“${g.question}”这组问题吗？它们会离开列表，知识库不变。`)) return;
  cardError(card, null);
  try {
    const r = await api("POST", `/api/unanswered/groups/${encodeURIComponent(g.key)}/ignore`, { body: {} });
    flash($("#u-msg"), `已忽略 ${r.questions} 个问题`);
    await loadUnanswered();
  } catch (err) {
    cardError(card, err);
  }
}
