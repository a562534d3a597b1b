// @ts-check
// DOM helpers of the staff workspace. Every server-provided string goes in with textContent (el's "text").

import { ApiError } from "./api.js";

/**
 * The element of a selector that staff.html has (or null at run time if it has not).
 * @param {string} sel
 * @param {ParentNode} [root]
 * @returns {HTMLElement}
 */
export const $ = (sel, root = document) => /** @type {HTMLElement} */ (root.querySelector(sel));

/** The form control behind a selector: input, select or textarea. */
export const field = (/** @type {string} */ sel) => /** @type {HTMLInputElement} */ ($(sel));

/** @typedef {Node | string | number | boolean | null | undefined | Child[]} Child */

/**
 * An element with attributes (text → textContent, class, on<event> → listener, the rest as attributes)
 * and children (nodes or text; null, undefined and false are skipped; arrays are flattened).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, any>} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of /** @type {any[]} */ (children).flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

/** @param {string | number | null | undefined} value */
export function fmtTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString("zh-CN", { hour12: false });
}

/**
 * Shows an error in its alert box (an ApiError's message as it is); null hides the box.
 * @param {HTMLElement} box
 * @param {any} err
 */
export function showError(box, err) {
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = err instanceof ApiError ? err.message : `出错了：${err.message || err}`;
  box.hidden = false;
  if (!(err instanceof ApiError)) console.error(err);
}

/** @type {WeakMap<HTMLElement, ReturnType<typeof setTimeout>>} */
const flashTimers = new WeakMap();

/**
 * A short confirmation that clears itself after 5 s.
 * @param {HTMLElement} box
 * @param {string} text
 */
export function flash(box, text) {
  box.textContent = text;
  clearTimeout(flashTimers.get(box));
  flashTimers.set(
    box,
    setTimeout(() => (box.textContent = ""), 5000)
  );
}

/**
 * Disables a form's buttons while `work` runs.
 * @template T
 * @param {HTMLElement | null} form
 * @param {() => Promise<T>} work
 * @returns {Promise<T>}
 */
export async function busy(form, work) {
  const buttons = form ? [...form.querySelectorAll("button")] : [];
  buttons.forEach((b) => (b.disabled = true));
  form?.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    buttons.forEach((b) => (b.disabled = false));
    form?.removeAttribute("aria-busy");
  }
}

/**
 * A form the account may only read: every control disabled, with a tooltip saying why.
 * @param {HTMLElement} form
 * @param {boolean} on
 */
export function setFormEnabled(form, on) {
  for (const c of form.querySelectorAll("input, textarea, select, button")) {
    /** @type {HTMLInputElement} */ (c).disabled = !on;
  }
  form.title = on ? "" : "您的账号只能查看";
}
