// @ts-check
// Field tab of the staff console (/staff#field): consumables deliveries and on-site visits by
// day and area; assign a maintainer, mark done with a note and the parts used.
// Labels come from /api/staff/labels (labels.js).

import { api } from "./api.js";
import { $, busy, el, flash, showError } from "./dom.js";
import { label, personName } from "./labels.js";

const state = {
  /** @type {any[]} the tickets of GET /api/field/jobs */
  items: [],
  /** @type {{ username: string, display_name?: string }[]} */
  maintainers: [],
  loaded: false,
};

export function initField() {
  const form = $("#f-filters");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    loadField();
  });
  form.addEventListener("reset", () => setTimeout(loadField, 0));
}

export async function showField() {
  if (!state.loaded) {
    fillKinds();
    try {
      state.maintainers = await api("GET", "/api/field/maintainers");
    } catch {
      state.maintainers = []; // a reader without the list can still see the queue
    }
    state.loaded = true;
  }
  await loadField();
}

function fillKinds() {
  const sel = $("#f-kind");
  sel.replaceChildren(
    el("option", { value: "", text: "全部" }),
    el("option", { value: "visit", text: "上门服务" }),
    el("option", { value: "delivery", text: "耗材配送" })
  );
}

async function loadField() {
  const box = $("#f-error");
  showError(box, null);
  const form = /** @type {HTMLFormElement} */ ($("#f-filters"));
  const controls = /** @type {any} */ (form.elements);
  const query = {
    kind: controls.kind.value,
    area: controls.area.value,
    date_from: controls.date_from.value,
    date_to: controls.date_to.value,
    include_finished: controls.include_finished.checked ? "true" : "",
  };
  try {
    const data = await api("GET", "/api/field/jobs", { query });
    state.items = data.items;
    fillAreas(data.areas, query.area);
    render();
  } catch (err) {
    showError(box, err);
  }
}

/**
 * @param {string[]} areas
 * @param {string} current
 */
function fillAreas(areas, current) {
  const sel = /** @type {HTMLSelectElement} */ ($("#f-area"));
  sel.replaceChildren(el("option", { value: "", text: "全部区域" }), ...areas.map((a) => el("option", { value: a, text: a })));
  sel.value = areas.includes(current) ? current : "";
}

/** @param {{ scheduled_date?: string | null, half_day?: string | null }} f */
function whenText(f) {
  if (!f.scheduled_date) return "—";
  const d = new Date(`${f.scheduled_date}T00:00:00`);
  const week = "日一二三四五六"[d.getDay()];
  const half = f.half_day ? label("half_day", f.half_day) : "前送达";
  return `${d.getMonth() + 1}月${d.getDate()}日（周${week}）${half}`;
}

/** @param {any} t */
function whatText(t) {
  const f = t.field;
  if (f.kind === "consumables") {
    const items = f.items.map((/** @type {{ label: string, quantity: number, unit: string }} */ i) => `${i.label} × ${i.quantity}${i.unit}`).join("；");
    return `${items}（${label("delivery_method", f.delivery_method)}）`;
  }
  return t.description;
}

function render() {
  const list = $("#f-list");
  $("#f-count").textContent = `共 ${state.items.length} 项`;
  if (!state.items.length) {
    list.replaceChildren(el("p", { class: "muted", text: "没有符合条件的上门或配送任务。" }));
    return;
  }
  // Grouped by day, then area: what a maintainer plans a route by.
  /** @type {Map<string, any[]>} */
  const groups = new Map();
  for (const t of state.items) {
    const key = `${whenText({ ...t.field, half_day: null }).replace("前送达", "")}`;
    const group = groups.get(key) || [];
    group.push(t);
    groups.set(key, group);
  }
  list.replaceChildren(
    ...[...groups.entries()].map(([day, items]) =>
      el("section", { class: "field-day", "aria-label": day }, el("h3", { text: day || "未定日期" }), ...items.map(card))
    )
  );
}

/** @param {any} t */
function card(t) {
  const f = t.field;
  const done = f.outcome !== null;
  const node = el(
    "article",
    { class: `field-job${done ? " finished" : ""}`, "data-number": t.number },
    el(
      "header",
      {},
      el("span", { class: "field-kind", text: f.kind_label }),
      el("a", { href: `#tickets/${encodeURIComponent(t.number)}`, class: "mono", text: t.number }),
      el("span", { class: "field-when", text: whenText(f) }),
      el("span", { class: "field-area", text: f.service_area || "—" }),
      el("span", { class: "field-status", text: done ? (f.outcome === "done" ? "已完成" : "已取消") : label("status", t.status) })
    ),
    el("p", { class: "field-what", text: whatText(t) }),
    el("p", { class: "muted", text: `地址：${f.address || "网点自取"} · 商户 ${t.merchant_id || "—"}${t.terminal_id ? ` · 终端 ${t.terminal_id}` : ""}` })
  );
  if (done) {
    if (t.resolution) node.append(el("p", { class: "muted", text: `处理说明：${t.resolution}` }));
    if (f.parts_used.length)
      node.append(el("p", { class: "muted", text: `使用配件：${f.parts_used.map((/** @type {{ item: string, quantity: number }} */ p) => `${label("field_item", p.item) === "—" ? p.item : label("field_item", p.item)} × ${p.quantity}`).join("；")}` }));
    return node;
  }
  node.append(assignForm(t), doneForm(t));
  return node;
}

/** @param {any} t */
function assignForm(t) {
  const id = `f-assign-${t.number}`;
  const select = el(
    "select",
    { id, name: "maintainer" },
    el("option", { value: "", text: "未指派" }),
    ...state.maintainers.map((m) => el("option", { value: m.username, text: m.display_name || m.username }))
  );
  select.value = t.assignee || "";
  const msg = el("span", { class: "muted", role: "status" });
  const form = el(
    "form",
    { class: "field-assign" },
    el("label", { for: id, text: "维护人员" }),
    select,
    el("button", { type: "submit", class: "secondary", text: "指派" }),
    msg
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(form, async () => {
      try {
        const updated = await api("POST", `/api/field/jobs/${encodeURIComponent(t.number)}/assign`, {
          body: { maintainer: select.value || null },
        });
        Object.assign(t, updated);
        flash(msg, select.value ? `已指派给 ${personName(select.value)}` : "已取消指派");
      } catch (err) {
        flash(msg, err.message);
      }
    });
  });
  return form;
}

/** @param {any} t */
function doneForm(t) {
  const noteId = `f-note-${t.number}`;
  const partsId = `f-parts-${t.number}`;
  const note = el("textarea", { id: noteId, name: "note", rows: "2", maxlength: "2000", required: true, placeholder: "做了什么，比如：更换打印头，测试打印正常" });
  const parts = el("input", { id: partsId, name: "parts", placeholder: "打印头×1，80×80打印纸×5", maxlength: "300" });
  const tell = el("input", { type: "checkbox", name: "reply", id: `f-tell-${t.number}` });
  const err = el("div", { class: "error", role: "alert", hidden: true });
  const form = el(
    "form",
    { class: "field-done" },
    el("label", { for: noteId, text: "完成说明" }),
    note,
    el("label", { for: partsId, text: "使用的配件（可不填）" }),
    parts,
    el("label", { class: "inline" }, tell, " 发给商户"),
    el("button", { type: "submit", text: "标记完成" }),
    err
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(form, async () => {
      showError(err, null);
      let used;
      try {
        used = parseParts(parts.value);
      } catch (problem) {
        err.textContent = problem.message;
        err.hidden = false;
        return;
      }
      try {
        await api("POST", `/api/field/jobs/${encodeURIComponent(t.number)}/done`, {
          body: { note: note.value.trim(), parts_used: used, reply_to_merchant: tell.checked },
        });
        await loadField();
      } catch (e2) {
        showError(err, e2);
      }
    });
  });
  return form;
}

/**
 * "打印头×1，80×80打印纸×5" → [{item, quantity}]; a part without "×数量" counts once.
 * @param {string} text
 */
export function parseParts(text) {
  /** @type {{ item: string, quantity: number }[]} */
  const out = [];
  for (const raw of text.split(/[，,；;、\n]+/)) {
    const part = raw.trim();
    if (!part) continue;
    const m = part.match(/^(.*?)\s*[×xX*]\s*(\d+)\s*$/);
    const item = (m ? m[1] : part).trim();
    const quantity = m ? Number(m[2]) : 1;
    if (!item) throw new Error(`配件“${part}”缺少名称`);
    if (!(quantity >= 1 && quantity <= 99)) throw new Error(`配件“${item}”的数量要在1到99之间`);
    out.push({ item: item.slice(0, 40), quantity });
  }
  return out;
}
