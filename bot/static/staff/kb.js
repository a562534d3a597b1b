// @ts-check
// 知识库管理 tab of the staff workspace: list, create, edit and retire FAQ entries, see every
// version with a diff, revert (kb-versions.js). Talks to /api/faq/entries (bot/api/kb.py); shown only to accounts
// with faq:write.
//
// Other tabs open the "new entry" editor with
//   document.dispatchEvent(new CustomEvent("kb:new-entry", { detail: { question, category } }))
// (the unanswered queue does): the question becomes the entry's first wording, and once the
// entry is saved the editor answers with
//   document.dispatchEvent(new CustomEvent("kb:entry-created", { detail: { entry_id, question } }))

import { api } from "./api.js";
import { $, el, field, fmtTime } from "./dom.js";
import { lbl, show, state, who } from "./kb-common.js";
import { loadVersions } from "./kb-versions.js";

/** @typedef {import("./api.js").Me} Me */
/** @typedef {import("./kb-common.js").Meta} Meta */

let allowed = false;

/**
 * The problems of a refused change (422: one Chinese line per problem, bot/faq/kb.py's rules).
 * @param {any} err
 * @returns {string[]}
 */
function problemsOf(err) {
  const detail = err && err.status === 422 && err.body && err.body.detail;
  return Array.isArray(detail) ? detail.map((d) => d.msg).filter(Boolean) : [];
}

const call = api;

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} body
 */
const save = (method, path, body) => call(method, path, { body });

// --- list ------------------------------------------------------------------------------

/** @returns {Promise<Meta>} */
async function loadMeta() {
  if (state.meta) return state.meta;
  const meta = /** @type {Meta} */ (await call("GET", "/api/faq/editor"));
  state.meta = meta;
  const cat = $("#kb-cat");
  const ecat = $("#kb-e-category");
  for (const [code, name] of Object.entries(meta.category)) {
    cat.append(el("option", { value: code, text: name }));
    ecat.append(el("option", { value: code, text: name }));
  }
  const sub = $("#kb-e-subcategory");
  for (const [code, name] of Object.entries(meta.subcategory).sort((a, b) => a[1].localeCompare(b[1], "zh"))) {
    sub.append(el("option", { value: code, text: name }));
  }
  const esc = $("#kb-e-escalate");
  for (const [code, name] of Object.entries(meta.escalate)) esc.append(el("option", { value: code, text: name }));
  $("#kb-e-min").textContent = `（每行一条，至少 ${meta.min_paraphrases} 条）`;
  return meta;
}

async function loadList() {
  const seq = ++state.seq;
  const err = $("#kb-error");
  show(err, "");
  try {
    await loadMeta();
    const data = await call("GET", "/api/faq/entries", {
      query: { q: field("#kb-q").value.trim(), category: field("#kb-cat").value, status: field("#kb-status").value },
    });
    if (seq !== state.seq) return; // a newer search answered first
    state.items = data.items;
    renderList();
  } catch (e) {
    show(err, e.message);
  }
}

function renderList() {
  $("#kb-count").textContent = `共 ${state.items.length} 条`;
  $("#kb-list").replaceChildren(
    ...state.items.map((e) =>
      el(
        "li",
        { class: `kb-item${state.current && state.current.id === e.id ? " active" : ""}` },
        el(
          "button",
          { type: "button", class: "kb-open", "data-id": e.id, onclick: () => openEntry(e.id) },
          el("span", { class: "kb-q", text: e.question }),
          el(
            "span",
            { class: "muted small" },
            `${lbl("category", e.category)} · 第 ${e.version} 版 · ${who(e.updated_by)} ${fmtTime(e.updated_at)}`
          ),
          e.retired ? el("span", { class: "badge kb-retired", text: "已停用" }) : null
        )
      )
    )
  );
}

// --- editor ----------------------------------------------------------------------------

/** @param {any} e */
function fillForm(e) {
  field("#kb-e-id").value = e.id || "";
  field("#kb-e-id").readOnly = !state.creating;
  field("#kb-e-category").value = e.category || "general";
  field("#kb-e-subcategory").value = e.subcategory || "";
  field("#kb-e-question").value = e.question || "";
  field("#kb-e-paraphrases").value = (e.paraphrases || []).join("\n");
  field("#kb-e-answer").value = e.answer || "";
  field("#kb-e-escalate").value = e.escalate || "";
  field("#kb-e-provider").checked = !!e.provider_specific;
  countWordings();
}

function formBody() {
  return {
    category: field("#kb-e-category").value,
    subcategory: field("#kb-e-subcategory").value || null,
    question: field("#kb-e-question").value,
    paraphrases: field("#kb-e-paraphrases")
      .value.split("\n")
      .map((s) => s.trim())
      .filter(Boolean),
    answer: field("#kb-e-answer").value,
    escalate: field("#kb-e-escalate").value || null,
    provider_specific: field("#kb-e-provider").checked,
  };
}

function countWordings() {
  const n = formBody().paraphrases.length;
  const min = state.meta ? state.meta.min_paraphrases : 6;
  const box = $("#kb-e-wcount");
  box.textContent = `现有 ${n} 条${n < min ? `，还差 ${min - n} 条` : ""}`;
  box.classList.toggle("kb-short", n < min);
}

/** @param {any} err null: no problems */
function showProblems(err) {
  const list = $("#kb-problems");
  const items = problemsOf(err);
  if (items.length) {
    list.replaceChildren(...items.map((p) => el("li", { text: p })));
    list.hidden = false;
    show($("#kb-e-error"), "没有保存，请先改好下面的问题：");
  } else {
    list.hidden = true;
    show($("#kb-e-error"), err ? err.message : "");
  }
}

function openEditor() {
  $("#kb-editor").hidden = false;
  $("#kb-empty").hidden = true;
  showProblems(null);
  show($("#kb-e-status"), "");
}

/** @param {string} id */
async function openEntry(id) {
  try {
    await loadMeta();
    const e = await call("GET", `/api/faq/entries/${encodeURIComponent(id)}`);
    state.current = e;
    state.creating = false;
    openEditor();
    $("#kb-e-title").textContent = e.retired ? `已停用：${e.question}` : `编辑：${e.question}`;
    $("#kb-e-version").textContent = `第 ${e.version} 版 · ${who(e.updated_by)} 于 ${fmtTime(e.updated_at)} 保存`;
    fillForm(e);
    $("#kb-retire").hidden = e.retired;
    $("#kb-versions-card").hidden = false;
    renderList();
    await loadVersions({ onRestored: restored, onError: showProblems });
  } catch (err) {
    show($("#kb-error"), err.message);
  }
}

/** @param {{ question?: string, category?: string, requested?: boolean }} [prefill] */
async function newEntry(prefill = {}) {
  await loadMeta();
  state.current = null;
  state.creating = true;
  // Opened by another tab (kb:new-entry): it hears back which entry was created (kb:entry-created).
  state.requested = prefill.requested ? { question: prefill.question || "" } : null;
  openEditor();
  $("#kb-e-title").textContent = "新建条目";
  $("#kb-e-version").textContent = "保存后机器人几秒内就能用它回答";
  fillForm({ category: prefill.category || "general", question: prefill.question || "", paraphrases: [] });
  $("#kb-retire").hidden = true;
  $("#kb-versions-card").hidden = true;
  $("#kb-diff").hidden = true;
  renderList();
  (prefill.question ? $("#kb-e-id") : $("#kb-e-question")).focus();
}

/** @param {Event} ev */
async function submitEditor(ev) {
  ev.preventDefault();
  const form = $("#kb-form");
  const buttons = [...form.querySelectorAll("button")];
  buttons.forEach((b) => (b.disabled = true));
  showProblems(null);
  try {
    const body = formBody();
    let saved;
    if (state.creating) {
      saved = await save("POST", "/api/faq/entries", { id: field("#kb-e-id").value.trim(), ...body });
      if (state.requested) {
        const detail = { entry_id: saved.id, question: state.requested.question };
        state.requested = null;
        document.dispatchEvent(new CustomEvent("kb:entry-created", { detail }));
      }
    } else {
      saved = await save("PUT", `/api/faq/entries/${encodeURIComponent(state.current.id)}`, {
        ...body,
        version: state.current.version,
      });
    }
    await openEntry(saved.id);
    show($("#kb-e-status"), `已保存为第 ${saved.version} 版，机器人几秒内就会用新内容回答。`);
    loadList();
  } catch (err) {
    showProblems(err);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

async function retire() {
  const e = state.current;
  if (!e || !confirm(`停用后机器人不再用“${e.question}”回答（条目和历史版本都保留，可以恢复）。确定停用吗？`)) return;
  try {
    const saved = await call("DELETE", `/api/faq/entries/${encodeURIComponent(e.id)}`, { query: { version: e.version } });
    await openEntry(saved.id);
    show($("#kb-e-status"), "已停用。需要时可以在下面的版本记录里恢复。");
    loadList();
  } catch (err) {
    showProblems(err);
  }
}


/**
 * After a revert (kb-versions.js): show the entry as it is now.
 * @param {any} saved
 * @param {number} version
 */
async function restored(saved, version) {
  await openEntry(saved.id);
  show($("#kb-e-status"), `已恢复到第 ${version} 版的内容（保存为第 ${saved.version} 版），机器人几秒内生效。`);
  loadList();
}

// --- wiring ----------------------------------------------------------------------------

function shownOnHash() {
  if (location.hash.slice(1).split("/")[0] !== "kb") return;
  if (!allowed) {
    location.hash = "faq";
    return;
  }
  loadList();
}

/**
 * After sign-in: the tab is only for accounts that may edit.
 * @param {Me} me
 */
export function kbSignedIn(me) {
  allowed = (me.scopes || []).includes("faq:write");
  $("#tab-kb").hidden = !allowed;
  if (!allowed && !$("#panel-kb").hidden) location.hash = "faq";
  shownOnHash();
}

export function initKb() {
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let timer;
  $("#kb-filter").addEventListener("submit", (e) => {
    e.preventDefault();
    loadList();
  });
  $("#kb-q").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(loadList, 300);
  });
  $("#kb-cat").addEventListener("change", loadList);
  $("#kb-status").addEventListener("change", loadList);
  $("#kb-new").addEventListener("click", () => newEntry());
  $("#kb-form").addEventListener("submit", submitEditor);
  $("#kb-e-paraphrases").addEventListener("input", countWordings);
  $("#kb-retire").addEventListener("click", retire);
  $("#kb-cancel").addEventListener("click", () => {
    if (state.current) openEntry(state.current.id);
    else {
      $("#kb-editor").hidden = true;
      $("#kb-empty").hidden = false;
    }
  });
  window.addEventListener("hashchange", shownOnHash);
  document.addEventListener("kb:new-entry", (ev) => {
    const d = (ev && /** @type {CustomEvent} */ (ev).detail) || {};
    if (!allowed) return;
    if (location.hash !== "#kb") location.hash = "kb";
    newEntry({ question: typeof d.question === "string" ? d.question.trim() : "", category: d.category, requested: true });
  });
}
