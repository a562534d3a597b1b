// @ts-check
// 知识库搜索 tab: GET /api/faq/search as the agent types, the entry in full, and 插入回复 (the answer goes
// into the reply box of the open conversation).

import { ApiError, api } from "./api.js";
import { openConversationId } from "./conversations.js";
import { $, busy, el, field, flash, showError } from "./dom.js";
import { LABELS, label } from "./labels.js";

let faqSeq = 0;

export function initFaq() {
  const form = $("#faq-form");
  const input = field("#faq-q");
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let faqTimer;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) {
      showError($("#faq-error"), new ApiError(0, "请输入要搜索的问题"));
      input.focus();
      return;
    }
    clearTimeout(faqTimer);
    busy(form, () => searchFaq(q, field("#faq-k").value));
  });
  // As the agent types: one search 300 ms after the last key (not while an IME is composing).
  const later = () => {
    clearTimeout(faqTimer);
    faqTimer = setTimeout(() => {
      const q = input.value.trim();
      if (q.length >= 2) searchFaq(q, field("#faq-k").value);
    }, 300);
  };
  input.addEventListener("input", (e) => !(/** @type {InputEvent} */ (e).isComposing) && later());
  input.addEventListener("compositionend", later);
  $("#faq-cat").addEventListener("change", () => input.value.trim() && later());
  $("#faq-k").addEventListener("change", () => input.value.trim() && later());
}

/**
 * Text with the parts that also occur in the query marked (pairs of characters, words, digits).
 * @param {string | null | undefined} text
 * @param {string} query
 */
function highlighted(text, query) {
  const clean = (query || "").toLowerCase();
  const grams = new Set();
  const chars = [...clean].filter((c) => /[\p{L}\p{N}]/u.test(c));
  for (let i = 0; i + 1 < chars.length; i++) grams.add(chars[i] + chars[i + 1]);
  const src = [...String(text || "")];
  const lower = src.map((c) => c.toLowerCase());
  const on = new Array(src.length).fill(false);
  for (let i = 0; i + 1 < src.length; i++) {
    if (grams.has(lower[i] + lower[i + 1])) on[i] = on[i + 1] = true;
  }
  /** @type {(HTMLElement | string)[]} */
  const out = [];
  let i = 0;
  while (i < src.length) {
    let j = i;
    while (j < src.length && on[j] === on[i]) j++;
    const part = src.slice(i, j).join("");
    out.push(on[i] ? el("mark", { text: part }) : part);
    i = j;
  }
  return out;
}

/** @param {string} text */
function insertReply(text) {
  const box = field("#c-text");
  const convId = openConversationId();
  if (!convId || $("#c-view").hidden) {
    flash($("#faq-summary"), "请先在“人工会话”里打开要回复的会话");
    return false;
  }
  box.value = box.value.trim() ? `${box.value.trim()}\n${text}` : text;
  box.dispatchEvent(new Event("input"));
  location.hash = `conversations/${encodeURIComponent(convId)}`;
  box.focus();
  return true;
}

/** @param {() => string} getText */
function insertButton(getText) {
  return el("button", {
    type: "button",
    class: "secondary insert",
    text: "插入回复",
    title: "把答案放进当前会话的回复框（发送前可以修改）",
    onclick: (/** @type {Event} */ e) => {
      e.stopPropagation();
      insertReply(getText());
    },
  });
}

/**
 * @param {string} q
 * @param {string} k
 */
async function searchFaq(q, k) {
  const errBox = $("#faq-error");
  const list = $("#faq-results");
  const summary = $("#faq-summary");
  const seq = ++faqSeq;
  showError(errBox, null);
  try {
    const data = await api("GET", "/api/faq/search", { query: { q, k, category: field("#faq-cat").value } });
    if (seq !== faqSeq) return; // a newer search is on its way
    /** @type {any[]} */
    const results = data.results || [];
    /** @type {any[]} */
    const codes = data.codes || [];
    summary.replaceChildren(
      el("span", { class: `badge decision-${data.decision}`, text: label("decision", data.decision) }),
      ` “${data.query ?? q}” 找到 ${results.length} 条` + (codes.length ? `，返回码 ${codes.length} 个` : "")
    );
    list.replaceChildren(
      ...codes.map(codeCard),
      ...results.map((r, i) =>
        el(
          "li",
          { class: "result-item" },
          el(
            "button",
            { type: "button", class: "result", "data-id": r.id, onclick: () => showFaq(r.id, r) },
            el(
              "span",
              { class: "result-head" },
              el("span", { class: "rank", text: `${i + 1}.` }),
              el("span", { class: "result-q" }, highlighted(r.question, q)),
              el("span", { class: `score match-${r.match || "low"}`, text: `匹配度 ${label("match", r.match || "low")}` })
            ),
            el(
              "span",
              { class: "result-meta" },
              el("span", { class: "tag", text: label("faqCategory", r.category) }),
              r.subcategory && LABELS.faq_subcategory?.[r.subcategory] ? el("span", { class: "tag", text: label("faq_subcategory", r.subcategory) }) : null,
              r.provider_specific ? el("span", { class: "muted", text: "因服务商而异" }) : null
            ),
            el("span", { class: "result-answer" }, highlighted(r.answer, q))
          ),
          insertButton(() => r.answer)
        )
      )
    );
    if (!results.length && !codes.length) list.replaceChildren(el("li", { class: "empty", text: "没有结果，换个说法试试" }));
    $("#faq-detail").hidden = true;
  } catch (err) {
    if (seq !== faqSeq) return;
    summary.textContent = "";
    list.replaceChildren();
    showError(errBox, err);
  }
}

/**
 * A terminal response code the query quotes (/api/faq/search "codes"): meaning, side, steps.
 * @param {{ code: string, known: boolean, meaning?: string, side_label?: string, varies?: boolean, steps?: string[] }} c
 */
function codeCard(c) {
  if (!c.known) {
    return el("li", { class: "code-hit unknown" },
      el("span", { class: "result-head" }, el("span", { class: "result-q", text: `返回码 ${c.code}` })),
      el("span", { class: "muted", text: "代码表里没有这个返回码：请商户提供机器上代码旁边显示的文字，或向收单机构核实。" }));
  }
  return el("li", { class: "code-hit" },
    el("span", { class: "result-head" },
      el("span", { class: "result-q", text: `返回码 ${c.code}：${c.meaning}` }),
      el("span", { class: "tag", text: c.side_label || "" })),
    c.varies ? el("span", { class: "muted", text: "各收单机构用法不完全一样，以机器上显示的文字为准" }) : null,
    el("ol", { class: "code-steps" }, ...(c.steps || []).map((step) => el("li", { text: step }))));
}

/**
 * @param {string} id
 * @param {any} fallback the search result, shown when the entry cannot be loaded
 */
async function showFaq(id, fallback) {
  const box = $("#faq-detail");
  const errBox = $("#faq-error");
  showError(errBox, null);
  let entry = fallback;
  try {
    entry = await api("GET", `/api/faq/${encodeURIComponent(id)}`);
  } catch (err) {
    showError(errBox, err);
    if (!fallback) return;
  }
  const rows = [["类别", label("faqCategory", entry.category)]];
  if (entry.subcategory && LABELS.faq_subcategory?.[entry.subcategory]) rows.push(["细分", label("faq_subcategory", entry.subcategory)]);
  if (entry.escalate) rows.push(["解决不了时转", label("category", entry.escalate)]);
  if (entry.provider_specific) rows.push(["注意", "答案因服务商而异，请按商户的服务商核实"]);
  const copyBtn = el("button", {
    type: "button",
    class: "secondary",
    text: "复制答案",
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(entry.answer || "");
        copyBtn.textContent = "已复制";
      } catch {
        copyBtn.textContent = "复制失败，请手动选择";
      }
      setTimeout(() => (copyBtn.textContent = "复制答案"), 2000);
    },
  });
  const parts = [
    el("div", { class: "detail-head" }, el("h2", { tabindex: "-1", text: entry.question }), copyBtn, insertButton(() => entry.answer || "")),
    el("dl", { class: "fields" }, rows.map(([k, v]) => [el("dt", { text: k }), el("dd", { text: v ?? "—" })])),
    el("h3", { text: "答案" }),
    el("p", { class: "pre answer", text: entry.answer || "" }),
    Array.isArray(entry.paraphrases) && entry.paraphrases.length
      ? [el("h3", { text: "相似问法" }), el("ul", { class: "paraphrases" }, entry.paraphrases.map((/** @type {string} */ p) => el("li", { text: p })))]
      : null,
  ];
  box.replaceChildren(.../** @type {Node[]} */ (parts.flat().filter(Boolean)));
  box.hidden = false;
  /** @type {HTMLElement} */ (box.querySelector("h2")).focus();
}
