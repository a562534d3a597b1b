// @ts-check
// The versions of a knowledge-base entry (知识库管理 tab): the list, the diff of two versions,
// reverting to one. Every change is a version (bot/faq/versions.py); kb.js owns the editor.

import { api as call } from "./api.js";
import { $, el, fmtTime } from "./dom.js";
import { lbl, show, state, who } from "./kb-common.js";

/** @typedef {{ onRestored: (saved: any, version: number) => Promise<void>, onError: (err: any) => void }} Hooks */

/** @type {Hooks | null} */
let hooks = null;

/**
 * List the versions of the entry in the editor (state.current).
 * @param {Hooks} h what to do after a revert, and with a refused one
 */
export async function loadVersions(h) {
  hooks = h;
  const e = state.current;
  const data = await call("GET", `/api/faq/entries/${encodeURIComponent(e.id)}/versions`);
  state.versions = data.items;
  $("#kb-diff").hidden = true;
  $("#kb-versions").replaceChildren(
    ...data.items.map((/** @type {any} */ v) =>
      el(
        "li",
        { class: "kb-version" },
        el("span", { class: "kb-vnum", text: `第 ${v.version} 版` }),
        el("span", { text: `${v.action_label} · ${who(v.actor)} · ${fmtTime(v.created_at)}${v.note ? ` · ${v.note}` : ""}` }),
        v.version > 1
          ? el("button", { type: "button", class: "secondary small-btn", onclick: () => showDiff(v.version - 1, v.version), text: "看改动" })
          : null,
        v.version !== e.version
          ? el("button", { type: "button", class: "warn small-btn", onclick: () => revert(v.version), text: "恢复到这一版" })
          : el("span", { class: "muted small", text: "（当前）" })
      )
    )
  );
}

/**
 * @param {string} name a field of the entry
 * @param {unknown} value
 */
function valueText(name, value) {
  if (name === "category") return lbl("category", value);
  if (name === "subcategory") return lbl("subcategory", value);
  if (name === "escalate") return value ? lbl("escalate", value) : "不转交";
  if (name === "provider_specific") return value ? "是" : "否";
  if (name === "retired") return value ? "已停用" : "在用";
  return value === null || value === undefined || value === "" ? "（空）" : String(value);
}

/**
 * @param {number} a
 * @param {number} b
 */
async function showDiff(a, b) {
  const e = state.current;
  try {
    const data = await call("GET", `/api/faq/entries/${encodeURIComponent(e.id)}/versions/compare`, { query: { a, b } });
    /** @type {any[]} */
    const rows = data.fields.filter((/** @type {any} */ f) => f.changed);
    const box = $("#kb-diff");
    box.replaceChildren(
      el("h4", { text: `第 ${a} 版 → 第 ${b} 版` }),
      ...(rows.length ? [] : [el("p", { class: "muted", text: "两个版本内容相同。" })]),
      ...rows.map((f) => {
        let body;
        if (f.lines) {
          body = el(
            "pre",
            { class: "kb-lines" },
            ...f.lines.map((/** @type {{ op: "add" | "del" | "same", text: string }} */ l) =>
              el("span", { class: `kb-line kb-${l.op}`, text: `${{ add: "+ ", del: "- ", same: "  " }[l.op]}${l.text}\n` })
            )
          );
        } else if (f.field === "paraphrases") {
          body = el(
            "ul",
            { class: "kb-lines" },
            ...f.added.map((/** @type {string} */ t) => el("li", { class: "kb-line kb-add", text: `+ ${t}` })),
            ...f.removed.map((/** @type {string} */ t) => el("li", { class: "kb-line kb-del", text: `- ${t}` }))
          );
        } else {
          body = el(
            "p",
            {},
            el("span", { class: "kb-line kb-del", text: valueText(f.field, f.before) }),
            " → ",
            el("span", { class: "kb-line kb-add", text: valueText(f.field, f.after) })
          );
        }
        return el("div", { class: "kb-diff-field" }, el("h5", { text: f.label }), body);
      })
    );
    box.hidden = false;
  } catch (err) {
    show($("#kb-e-error"), err.message);
  }
}

/** @param {number} version */
async function revert(version) {
  const e = state.current;
  if (!confirm(`把这个条目恢复成第 ${version} 版的内容？（会另存为新的一版，现在的内容也保留在记录里）`)) return;
  try {
    const saved = await call("POST", `/api/faq/entries/${encodeURIComponent(e.id)}/revert`, {
      body: { version, expected_version: e.version },
    });
    if (hooks) await hooks.onRestored(saved, version);
  } catch (err) {
    if (hooks) hooks.onError(err);
  }
}

