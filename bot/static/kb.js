// 知识库管理 tab of the staff workspace: list, create, edit and retire FAQ entries, see every
// version with a diff, revert. Talks to /api/faq/entries (bot/api/kb.py); shown only to accounts
// with faq:write. staff.js hands over its helpers (api, el, fmtTime, personName) in initKb.
//
// Other tabs open the "new entry" editor with
//   document.dispatchEvent(new CustomEvent("kb:new-entry", { detail: { question, category } }))
// (the unanswered queue does): the question becomes the entry's first wording, and once the
// entry is saved the editor answers with
//   document.dispatchEvent(new CustomEvent("kb:entry-created", { detail: { entry_id, question } }))

let ctx = null; // { api, el, fmtTime, personName }
let META = null; // GET /api/faq/editor: labels and limits
let allowed = false;
const state = { items: [], current: null, creating: false, requested: null, versions: [], seq: 0 };

const $ = (sel) => document.querySelector(sel);

function lbl(kind, value) {
  if (value === null || value === undefined || value === "") return "—";
  return (META && META[kind] && META[kind][value]) || "—";
}

/** Who saved a version: people by display name; the seed and command-line imports by what they are. */
function who(actor) {
  if (actor === "seed") return "系统（初始导入）";
  if (actor === "cli") return "命令行导入";
  return ctx.personName(actor);
}

function show(box, text) {
  box.textContent = text || "";
  box.hidden = !text;
}

/** The problems of a refused change (422: one Chinese line per problem, bot/faq/kb.py's rules). */
function problemsOf(err) {
  const detail = err && err.status === 422 && err.body && err.body.detail;
  return Array.isArray(detail) ? detail.map((d) => d.msg).filter(Boolean) : [];
}

async function call(method, path, opts) {
  return ctx.api(method, path, opts);
}

const save = (method, path, body) => call(method, path, { body });

// --- list ------------------------------------------------------------------------------

async function loadMeta() {
  if (META) return META;
  META = await call("GET", "/api/faq/editor");
  const cat = $("#kb-cat");
  const ecat = $("#kb-e-category");
  for (const [code, name] of Object.entries(META.category)) {
    cat.append(ctx.el("option", { value: code, text: name }));
    ecat.append(ctx.el("option", { value: code, text: name }));
  }
  const sub = $("#kb-e-subcategory");
  for (const [code, name] of Object.entries(META.subcategory).sort((a, b) => a[1].localeCompare(b[1], "zh"))) {
    sub.append(ctx.el("option", { value: code, text: name }));
  }
  const esc = $("#kb-e-escalate");
  for (const [code, name] of Object.entries(META.escalate)) esc.append(ctx.el("option", { value: code, text: name }));
  $("#kb-e-min").textContent = `（每行一条，至少 ${META.min_paraphrases} 条）`;
  return META;
}

async function loadList() {
  const seq = ++state.seq;
  const err = $("#kb-error");
  show(err, "");
  try {
    await loadMeta();
    const data = await call("GET", "/api/faq/entries", {
      query: { q: $("#kb-q").value.trim(), category: $("#kb-cat").value, status: $("#kb-status").value },
    });
    if (seq !== state.seq) return; // a newer search answered first
    state.items = data.items;
    renderList();
  } catch (e) {
    show(err, e.message);
  }
}

function renderList() {
  const { el, fmtTime } = ctx;
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

function fillForm(e) {
  $("#kb-e-id").value = e.id || "";
  $("#kb-e-id").readOnly = !state.creating;
  $("#kb-e-category").value = e.category || "general";
  $("#kb-e-subcategory").value = e.subcategory || "";
  $("#kb-e-question").value = e.question || "";
  $("#kb-e-paraphrases").value = (e.paraphrases || []).join("\n");
  $("#kb-e-answer").value = e.answer || "";
  $("#kb-e-escalate").value = e.escalate || "";
  $("#kb-e-provider").checked = !!e.provider_specific;
  countWordings();
}

function formBody() {
  return {
    category: $("#kb-e-category").value,
    subcategory: $("#kb-e-subcategory").value || null,
    question: $("#kb-e-question").value,
    paraphrases: $("#kb-e-paraphrases")
      .value.split("\n")
      .map((s) => s.trim())
      .filter(Boolean),
    answer: $("#kb-e-answer").value,
    escalate: $("#kb-e-escalate").value || null,
    provider_specific: $("#kb-e-provider").checked,
  };
}

function countWordings() {
  const n = formBody().paraphrases.length;
  const min = META ? META.min_paraphrases : 6;
  const box = $("#kb-e-wcount");
  box.textContent = `现有 ${n} 条${n < min ? `，还差 ${min - n} 条` : ""}`;
  box.classList.toggle("kb-short", n < min);
}

function showProblems(err) {
  const list = $("#kb-problems");
  const items = problemsOf(err);
  if (items.length) {
    list.replaceChildren(...items.map((p) => ctx.el("li", { text: p })));
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

async function openEntry(id) {
  try {
    await loadMeta();
    const e = await call("GET", `/api/faq/entries/${encodeURIComponent(id)}`);
    state.current = e;
    state.creating = false;
    openEditor();
    $("#kb-e-title").textContent = e.retired ? `已停用：${e.question}` : `编辑：${e.question}`;
    $("#kb-e-version").textContent = `第 ${e.version} 版 · ${who(e.updated_by)} 于 ${ctx.fmtTime(e.updated_at)} 保存`;
    fillForm(e);
    $("#kb-retire").hidden = e.retired;
    $("#kb-versions-card").hidden = false;
    renderList();
    await loadVersions();
  } catch (err) {
    show($("#kb-error"), err.message);
  }
}

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
      saved = await save("POST", "/api/faq/entries", { id: $("#kb-e-id").value.trim(), ...body });
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

// --- versions --------------------------------------------------------------------------

async function loadVersions() {
  const e = state.current;
  const data = await call("GET", `/api/faq/entries/${encodeURIComponent(e.id)}/versions`);
  state.versions = data.items;
  const { el, fmtTime } = ctx;
  $("#kb-diff").hidden = true;
  $("#kb-versions").replaceChildren(
    ...data.items.map((v) =>
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

function valueText(field, value) {
  if (field === "category") return lbl("category", value);
  if (field === "subcategory") return lbl("subcategory", value);
  if (field === "escalate") return value ? lbl("escalate", value) : "不转交";
  if (field === "provider_specific") return value ? "是" : "否";
  if (field === "retired") return value ? "已停用" : "在用";
  return value === null || value === undefined || value === "" ? "（空）" : String(value);
}

async function showDiff(a, b) {
  const e = state.current;
  try {
    const data = await call("GET", `/api/faq/entries/${encodeURIComponent(e.id)}/versions/compare`, { query: { a, b } });
    const { el } = ctx;
    const rows = data.fields.filter((f) => f.changed);
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
            ...f.lines.map((l) => el("span", { class: `kb-line kb-${l.op}`, text: `${{ add: "+ ", del: "- ", same: "  " }[l.op]}${l.text}\n` }))
          );
        } else if (f.field === "paraphrases") {
          body = el(
            "ul",
            { class: "kb-lines" },
            ...f.added.map((t) => el("li", { class: "kb-line kb-add", text: `+ ${t}` })),
            ...f.removed.map((t) => el("li", { class: "kb-line kb-del", text: `- ${t}` }))
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

async function revert(version) {
  const e = state.current;
  if (!confirm(`把这个条目恢复成第 ${version} 版的内容？（会另存为新的一版，现在的内容也保留在记录里）`)) return;
  try {
    const saved = await call("POST", `/api/faq/entries/${encodeURIComponent(e.id)}/revert`, {
      body: { version, expected_version: e.version },
    });
    await openEntry(saved.id);
    show($("#kb-e-status"), `已恢复到第 ${version} 版的内容（保存为第 ${saved.version} 版），机器人几秒内生效。`);
    loadList();
  } catch (err) {
    showProblems(err);
  }
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

/** Called by staff.js after sign-in: the tab is only for accounts that may edit. */
export function kbSignedIn(me) {
  allowed = (me.scopes || []).includes("faq:write");
  $("#tab-kb").hidden = !allowed;
  if (!allowed && !$("#panel-kb").hidden) location.hash = "faq";
  shownOnHash();
}

export function initKb(helpers) {
  ctx = helpers;
  let timer = null;
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
    const d = (ev && ev.detail) || {};
    if (!allowed) return;
    if (location.hash !== "#kb") location.hash = "kb";
    newEntry({ question: typeof d.question === "string" ? d.question.trim() : "", category: d.category, requested: true });
  });
}
