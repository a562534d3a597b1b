// @ts-check
// What the knowledge-base tab's modules share (kb.js: list and editor; kb-versions.js: versions,
// diff, revert): the tab's state with the editor metadata, labels, and small display helpers.

import { personName } from "./labels.js";

/**
 * GET /api/faq/editor: labels and limits.
 * @typedef {{ category: Record<string, string>, subcategory: Record<string, string>, escalate: Record<string, string>,
 *   min_paraphrases: number, [kind: string]: any }} Meta
 */

export const state = {
  /** @type {Meta | null} labels and limits, loaded once */
  meta: null,
  /** @type {any[]} the entries listed */
  items: [],
  /** @type {any} the entry in the editor (null: a new one) */
  current: null,
  creating: false,
  /** @type {{ question: string } | null} another tab asked for this new entry (kb:new-entry) */
  requested: null,
  /** @type {any[]} */
  versions: [],
  seq: 0,
};

/**
 * @param {string} kind
 * @param {unknown} value
 */
export function lbl(kind, value) {
  if (value === null || value === undefined || value === "") return "—";
  const meta = state.meta;
  return (meta && meta[kind] && meta[kind][String(value)]) || "—";
}

/**
 * Who saved a version: people by display name; the seed and command-line imports by what they are.
 * @param {string} actor
 */
export function who(actor) {
  if (actor === "seed") return "系统（初始导入）";
  if (actor === "cli") return "命令行导入";
  return personName(actor);
}

/**
 * @param {HTMLElement} box
 * @param {string} [text] none: the box hides
 */
export function show(box, text) {
  box.textContent = text || "";
  box.hidden = !text;
}
