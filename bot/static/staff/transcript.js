// @ts-check
// A conversation's lines as staff read them (tickets and 人工会话): who, when, the text, photos the
// merchant sent, and whether the merchant received a staff line.

import { authHeaders } from "./api.js";
import { el, fmtTime } from "./dom.js";
import { label, personName } from "./labels.js";

/**
 * @param {any} m a line of whatever shape the API gives
 * @returns {{ role: string, text: string, at: string | number | null, who: string | null }}
 */
function normalizeLine(m) {
  const role = m.role ?? m.direction ?? m.from ?? m.sender ?? m.author ?? "";
  return {
    role: String(role),
    text: m.text ?? m.body ?? m.message ?? "",
    at: m.at ?? m.created_at ?? m.timestamp ?? m.time ?? null,
    who: m.author ?? m.actor ?? m.agent ?? null,
  };
}

/** @param {string} role */
function roleClass(role) {
  const r = role.toLowerCase();
  if (["user", "in", "merchant", "customer"].includes(r)) return "user";
  if (["agent", "staff", "human"].includes(r)) return "agent";
  if (r === "system") return "system";
  return "bot";
}

/**
 * Renders the lines into `list`.
 * @param {HTMLElement} list
 * @param {any[]} lines
 * @param {string | null} convId the conversation the lines are of (its photos, web delivery), null for a ticket's copy
 */
export function renderTranscript(list, lines, convId) {
  list.replaceChildren(
    ...lines.map((raw) => {
      const m = normalizeLine(raw);
      const cls = roleClass(m.role);
      return el(
        "li",
        { class: `line line-${cls}` },
        el(
          "div",
          { class: "line-head" },
          el("strong", { text: label("role", m.role) || m.role }),
          m.who && m.who !== "system" ? el("span", { class: "muted", text: ` ${personName(m.who)}` }) : null,
          m.at ? el("span", { class: "muted", text: ` · ${fmtTime(typeof m.at === "number" ? m.at * 1000 : m.at)}` }) : null
        ),
        el("div", { class: "pre", text: m.text }),
        raw.attachment ? photoOf(raw.attachment, convId) : null,
        deliveryNote(raw) ||
          (cls === "agent" && String(convId).startsWith("web:") && "delivered_at" in raw
            ? el("div", { class: "muted delivery", text: raw.delivered_at ? "商户已收到" : "等待商户打开对话" })
            : null)
      );
    })
  );
  if (!lines.length) list.replaceChildren(el("li", { class: "empty", text: "暂无对话记录" }));
}

// Photos the merchant sent during the handoff: fetched with the API key (an <img src> cannot
// send it) and kept as object URLs, so the 5 s refresh does not download them again.
/** @type {Map<string, string>} */
const photoUrls = new Map();

/**
 * @param {{ id: string | number, width: number, height: number }} att
 * @param {string | null} convId
 */
function photoOf(att, convId) {
  const link = el("a", { class: "photo-link", target: "_blank", rel: "noopener", text: "图片加载中…" });
  const path = `/api/conversations/${encodeURIComponent(String(convId))}/attachments/${encodeURIComponent(att.id)}`;
  const show = (/** @type {string} */ url) => {
    link.href = url;
    link.replaceChildren(el("img", { class: "photo", src: url, alt: `商户发送的图片 ${att.width}×${att.height}` }));
  };
  const known = photoUrls.get(path);
  if (known) show(known);
  else {
    fetch(path, { credentials: "same-origin", headers: authHeaders() })
      .then((res) => (res.ok ? res.blob() : Promise.reject(new Error(`HTTP ${res.status}`))))
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        photoUrls.set(path, url);
        show(url);
      })
      .catch((err) => (link.textContent = `图片打不开（${err.message}）`));
  }
  return link;
}

// WeChat / WeCom active delivery of a line (GET /api/conversations/{id}: messages[].delivery).
/** @type {Record<string, string>} */
const DELIVERY_CODES = {
  45015: "商户超过48小时没有发消息，微信不允许主动发送；商户再发消息时会自动补发",
  45047: "已达到本次互动可发送的条数上限；商户再发消息时会自动补发",
  43004: "商户已取消关注",
  81013: "该成员不在应用可见范围内",
};

/** @param {any} raw */
function deliveryNote(raw) {
  const d = raw && typeof raw === "object" ? raw.delivery : null;
  if (!d || d.status === "delivered") return null;
  if (d.status === "pending") return el("div", { class: "muted", text: "发送中…" });
  const why = DELIVERY_CODES[d.errcode] || d.error || "发送失败";
  const code = d.errcode ? `（错误码 ${d.errcode}）` : "";
  return el("div", { class: "error", role: "status", text: `⚠ 未送达：${why}${code}` });
}
