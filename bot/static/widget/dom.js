// @ts-check
// DOM helpers of the widget. Every server-provided string is inserted with textContent (never
// innerHTML): it is escaped by construction, and CSS white-space: pre-wrap keeps line breaks and
// numbered steps. The icons are the only markup, static and ours.

/**
 * An element with attributes (text → textContent, class, on<event> → listener, the rest as
 * attributes; null, undefined and false are left out) and children (nodes or text).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {(Node | string | null | undefined | false)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs, children) {
  const node = document.createElement(tag);
  if (attrs) {
    Object.keys(attrs).forEach((k) => {
      const v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.className = v;
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? "" : v);
    });
  }
  (children || []).forEach((c) => {
    if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
  });
  return node;
}

/** @param {string} s */
function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Text with each ticket number in a no-wrap span (a phone must not break it at the hyphen).
 * @param {HTMLElement} node
 * @param {string} text
 * @param {string[] | undefined} tickets
 */
export function fillText(node, text, tickets) {
  if (!tickets || !tickets.length) {
    node.textContent = text;
    return;
  }
  const re = new RegExp(`(${tickets.map(escapeRegExp).join("|")})`);
  text.split(re).forEach((part, i) => {
    if (!part) return;
    node.appendChild(i % 2 ? el("span", { class: "pw-nowrap", text: part }) : document.createTextNode(part));
  });
}

/**
 * The Chinese half of a bilingual "中文 / English" message.
 * @param {unknown} msg
 */
export function chinese(msg) {
  const s = String(msg || "");
  const i = s.indexOf(" / ");
  return i > 0 ? s.slice(0, i) : s;
}

/** @param {ParentNode} root */
export const buttonsOf = (root) => root.querySelectorAll("button");

/** @param {number} n */
const pad = (n) => (n < 10 ? "0" : "") + n;

/**
 * "14:05" today, "11月27日 14:05" on another day.
 * @param {number} ms
 */
export function formatTime(ms) {
  const d = new Date(ms);
  if (isNaN(d.getTime())) return "";
  const now = new Date();
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return hm;
  const date = `${d.getMonth() + 1}月${d.getDate()}日 ${hm}`;
  return d.getFullYear() === now.getFullYear() ? date : `${d.getFullYear()}年${date}`;
}

export const ICON_CHAT =
  '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">' +
  '<path fill="currentColor" d="M12 3C6.5 3 2 6.8 2 11.5c0 2.4 1.2 4.6 3.1 6.1L4.5 21l3.9-2' +
  "c1.1.3 2.3.5 3.6.5 5.5 0 10-3.8 10-8.5S17.5 3 12 3zm-4 9.8a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6z" +
  'm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6zm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6z"/></svg>';
export const ICON_CLOSE =
  '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">' +
  '<path fill="currentColor" d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9' +
  '-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z"/></svg>';
export const ICON_SEND =
  '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">' +
  '<path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12 2-12 2z"/></svg>';
export const ICON_PHOTO =
  '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">' +
  '<path fill="currentColor" d="M9 4 7.2 6H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h-3.2L15 4H9z' +
  'm3 4.5a4.5 4.5 0 1 1 0 9 4.5 4.5 0 0 1 0-9zm0 2a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z"/></svg>';
