// @ts-check
// The vocabulary of the staff workspace: the Chinese label of every server code comes from
// GET /api/staff/labels (bot/vocabulary.py, bot/tickets/states.py, the FAQ tables...), loaded after
// sign-in and never copied here. Only the page's own words for who said a line live below.

import { api } from "./api.js";
import { el } from "./dom.js";

/** @typedef {Record<string, string>} LabelMap */

/** kind → code → label; `staff` maps usernames to display names. @type {Record<string, LabelMap>} */
export const LABELS = {
  role: { user: "商户", in: "商户", merchant: "商户", bot: "机器人", out: "机器人", agent: "客服", staff: "客服", system: "系统" },
};

/** status → the statuses a ticket may move to from there (bot/tickets/states.py). @type {Record<string, string[]>} */
export let TRANSITIONS = {};

export async function loadLabels() {
  const data = await api("GET", "/api/staff/labels");
  Object.assign(LABELS, data);
  LABELS.reason = data.handoff_reason;
  LABELS.faqCategory = data.faq_category;
  TRANSITIONS = data.transitions || {};
}

/**
 * Chinese label of a server code; an unknown code shows as "—" rather than leaking the code.
 * @param {string} kind
 * @param {unknown} value
 */
export function label(kind, value) {
  if (value === null || value === undefined || value === "") return "—";
  return (LABELS[kind] && LABELS[kind][String(value)]) || "—";
}

/**
 * Who did something, as people call them: display names of accounts, API keys by name.
 * @param {unknown} actor
 */
export function personName(actor) {
  if (!actor) return "";
  const a = String(actor);
  if (a === "bot") return "机器人";
  if (a === "system") return "系统";
  if (a.startsWith("api:")) return `系统对接（${a.slice(4)}）`;
  return (LABELS.staff && LABELS.staff[a]) || a;
}

/**
 * A coloured badge with the label of a code (CSS: .badge.<kind>-<code>).
 * @param {string} kind
 * @param {string} value
 */
export function badge(kind, value) {
  return el("span", { class: `badge ${kind}-${value}`, text: label(kind, value) });
}

/**
 * Fills a select with the labels of a kind (all codes, or `values`), after an optional "any" option.
 * @param {HTMLSelectElement} select
 * @param {string} kind
 * @param {{ any?: string | null, values?: string[] | null }} [options]
 */
export function fillSelect(select, kind, { any = null, values = null } = {}) {
  const opts = values || Object.keys(LABELS[kind]);
  select.replaceChildren(
    ...(any ? [el("option", { value: "", text: any })] : []),
    ...opts.map((v) => el("option", { value: v, text: label(kind, v) }))
  );
}
