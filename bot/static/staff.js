// Staff console (/staff): FAQ search, tickets, human handoff conversations.
// Plain ES module, no dependencies. Every server-provided string goes in with textContent.
import { initField, showField } from "./field.js";

const KEY_STORE = "posbot.staff.apiKey";

// Labels of every server code come from GET /api/staff/labels (bot/tickets/states.py, the FAQ
// tables...): loaded after login, never copied here. Only the page's own words live below.
const LABELS = {
  role: { user: "商户", in: "商户", merchant: "商户", bot: "机器人", out: "机器人", agent: "客服", staff: "客服", system: "系统" },
};
let TRANSITIONS = {};
const auth = { me: null, kind: null }; // kind: "session" (cookie) or "key" (pasted API key)

const $ = (sel, root = document) => root.querySelector(sel);

/** Chinese label of a server code; an unknown code shows as "—" rather than leaking the code. */
function label(kind, value) {
  if (value === null || value === undefined || value === "") return "—";
  return (LABELS[kind] && LABELS[kind][value]) || "—";
}

/** Who did something, as people call them: display names of accounts, API keys by name. */
function personName(actor) {
  if (!actor) return "";
  const a = String(actor);
  if (a === "bot") return "机器人";
  if (a === "system") return "系统";
  if (a.startsWith("api:")) return `系统对接（${a.slice(4)}）`;
  return (LABELS.staff && LABELS.staff[a]) || a;
}

async function loadLabels() {
  const data = await api("GET", "/api/staff/labels");
  Object.assign(LABELS, data);
  LABELS.reason = data.handoff_reason;
  LABELS.faqCategory = data.faq_category;
  TRANSITIONS = data.transitions || {};
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") node.textContent = v;
    else if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) node.append(c instanceof Node ? c : String(c));
  }
  return node;
}

function fmtTime(value) {
  if (!value) return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  return d.toLocaleString("zh-CN", { hour12: false });
}

function badge(kind, value) {
  return el("span", { class: `badge ${kind}-${value}`, text: label(kind, value) });
}

// --- API -------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function getKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || "";
  } catch {
    return memoryKey;
  }
}
let memoryKey = "";
function setKey(value) {
  memoryKey = value;
  try {
    if (value) sessionStorage.setItem(KEY_STORE, value);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    /* storage blocked: memory only */
  }
}

/** Human-readable text of an error body, whatever its shape. */
function detailText(body) {
  if (!body) return "";
  const d = body.detail ?? body.error ?? body.message ?? body.errors;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d
      .map((e) => (typeof e === "string" ? e : e && (e.msg || e.message) ? e.msg || e.message : JSON.stringify(e)))
      .join("；");
  }
  if (d && typeof d === "object") return d.message || d.msg || d.detail || JSON.stringify(d);
  return "";
}

function describeError(status, body) {
  const detail = detailText(body);
  if (status === 401) return auth.kind === "key" ? "API key 无效或已停用" : "登录已失效，请重新登录";
  if (status === 403) return auth.kind === "key" ? "API key 无效或权限不足" : "您的账号没有这个操作的权限";
  if (status === 404) return detail || "没有找到（HTTP 404）";
  if (status === 409) return `操作冲突：${detail || "数据已被修改，请刷新后重试"}`;
  if (status === 422 || status === 400) return `输入有误：${detail || `HTTP ${status}`}`;
  if (status === 429) return "请求太频繁，请稍后再试";
  if (status >= 500) return `服务器出错（HTTP ${status}），请稍后再试${detail ? `：${detail}` : ""}`;
  return detail || `请求失败（HTTP ${status}）`;
}

async function api(method, path, { query, body } = {}) {
  const key = auth.kind === "key" ? getKey() : "";
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") qs.set(k, v);
    const s = qs.toString();
    if (s) url += `?${s}`;
  }
  const headers = { Accept: "application/json" };
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: "same-origin", // the session cookie (HttpOnly: scripts never see it)
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "无法连接服务器，请检查网络后重试");
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    /* empty or non-JSON body */
  }
  if (res.status === 401 && auth.me && !path.startsWith("/api/staff/login")) signedOut("登录已失效，请重新登录");
  if (!res.ok) throw new ApiError(res.status, describeError(res.status, json));
  return json;
}

function showError(box, err) {
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    return;
  }
  box.textContent = err instanceof ApiError ? err.message : `出错了：${err.message || err}`;
  box.hidden = false;
  if (!(err instanceof ApiError)) console.error(err);
}

function flash(box, text) {
  box.textContent = text;
  clearTimeout(box._t);
  box._t = setTimeout(() => (box.textContent = ""), 5000);
}

/** Disables a form's submit button while `work` runs. */
async function busy(form, work) {
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

// --- login ------------------------------------------------------------------------------
// Staff sign in with their account (POST /api/staff/login sets an HttpOnly cookie, so a reload
// or a second tab stays signed in). A pasted API key is the fallback for operators: it is
// checked against /api/staff/me before the page says anything about being signed in.

function showSignedIn(me) {
  auth.me = me;
  $("#login-view").hidden = true;
  $("#app").hidden = false;
  $("#who").hidden = false;
  const role = me.role_label ? `（${me.role_label}）` : "";
  $("#who-name").textContent = `已登录：${me.display_name}${role}`;
  $("#c-signature").textContent = `署名：${me.display_name}（商户可见）`;
  const canWrite = (scope) => (me.scopes || []).includes(scope) || (auth.kind === "key" && scope.startsWith("conversations:") && (me.scopes || []).includes(scope.replace("conversations", "tickets")));
  for (const form of ["#t-update", "#t-comment"]) setFormEnabled($(form), canWrite("tickets:write"));
  setFormEnabled($("#c-reply"), canWrite("conversations:write"));
  $("#c-handback").hidden = !canWrite("conversations:write");
}

function setFormEnabled(form, on) {
  for (const c of form.querySelectorAll("input, textarea, select, button")) c.disabled = !on;
  form.title = on ? "" : "您的账号只能查看";
}

function signedOut(message) {
  auth.me = null;
  auth.kind = null;
  setKey("");
  stopQueuePolling();
  $("#app").hidden = true;
  $("#who").hidden = true;
  $("#login-view").hidden = false;
  showError($("#login-error"), message ? new ApiError(0, message) : null);
  document.title = BASE_TITLE;
  $("#login-user").focus();
}

async function enter(kind) {
  auth.kind = kind;
  const me = await api("GET", "/api/staff/me");
  await loadLabels();
  fillStaticSelects();
  showSignedIn(me);
  startQueuePolling();
  route();
}

function initLogin() {
  const form = $("#login-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(form, async () => {
      const errBox = $("#login-error");
      showError(errBox, null);
      const username = $("#login-user").value.trim();
      const password = $("#login-password").value;
      let res;
      try {
        res = await fetch("/api/staff/login", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json" },
          body: JSON.stringify({ username, password }),
        });
      } catch {
        return showError(errBox, new ApiError(0, "无法连接服务器，请检查网络后重试"));
      }
      if (res.status === 401) return showError(errBox, new ApiError(401, "用户名或密码不正确"));
      if (res.status === 429) return showError(errBox, new ApiError(429, "登录失败次数太多，请 15 分钟后再试"));
      if (!res.ok) return showError(errBox, new ApiError(res.status, `登录失败（HTTP ${res.status}），请稍后再试`));
      $("#login-password").value = "";
      setKey("");
      try {
        await enter("session");
      } catch (err) {
        showError(errBox, err);
      }
    });
  });
  $("#key-login").addEventListener("click", async () => {
    const errBox = $("#login-error");
    showError(errBox, null);
    const key = $("#api-key").value.trim();
    if (!key) return showError(errBox, new ApiError(0, "请先粘贴 API key"));
    setKey(key);
    try {
      await enter("key");
      $("#api-key").value = "";
    } catch (err) {
      auth.kind = null;
      setKey("");
      showError(errBox, err.status === 401 ? new ApiError(401, "API key 无效或已停用") : err);
    }
  });
  $("#logout").addEventListener("click", async () => {
    if (auth.kind === "session") {
      try {
        await fetch("/api/staff/logout", { method: "POST", credentials: "same-origin" });
      } catch {
        /* the cookie expires anyway */
      }
    }
    signedOut("");
  });
}

async function start() {
  // A live cookie (reload, second tab) or a key saved in this tab: straight in.
  for (const kind of getKey() ? ["key", "session"] : ["session"]) {
    try {
      await enter(kind);
      return;
    } catch {
      auth.kind = null;
    }
  }
  setKey("");
  signedOut("");
}

// --- tabs & routing --------------------------------------------------------------------
// Hash routes: #faq, #tickets, #tickets/<number>, #conversations/<conv_id>

const TABS = ["faq", "tickets", "field", "conversations"];
let activeTab = "faq";

function selectTab(name, { focus = false } = {}) {
  activeTab = name;
  for (const t of TABS) {
    const tab = $(`#tab-${t}`);
    const on = t === name;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(`#panel-${t}`).hidden = !on;
    if (on && focus) tab.focus();
  }
}

function initTabs() {
  const tabs = TABS.map((t) => $(`#tab-${t}`));
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => {
      const name = tab.dataset.tab;
      const current = location.hash.slice(1).split("/")[0];
      if (current !== name) location.hash = name === "tickets" && ticketView.number ? `tickets/${ticketView.number}` : name;
      else selectTab(name);
    });
    tab.addEventListener("keydown", (e) => {
      let j = null;
      if (e.key === "ArrowRight") j = (i + 1) % tabs.length;
      else if (e.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
      else if (e.key === "Home") j = 0;
      else if (e.key === "End") j = tabs.length - 1;
      if (j === null) return;
      e.preventDefault();
      tabs[j].focus();
      tabs[j].click();
    });
  });
  window.addEventListener("hashchange", route);
}

function route() {
  const raw = location.hash.slice(1);
  const [name, ...rest] = raw.split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : "";
  const tab = TABS.includes(name) ? name : "faq";
  selectTab(tab);
  if (tab === "tickets") {
    if (arg) openTicket(arg);
    else showTicketList();
  } else if (tab === "field") {
    showField();
  } else if (tab === "conversations") {
    loadWaiting();
    if (arg) {
      $("#c-id").value = arg;
      openConversation(arg);
    }
  }
}

function refreshActive() {
  if (activeTab === "field") showField();
  else if (activeTab === "tickets") {
    if (ticketView.number) openTicket(ticketView.number);
    else loadTickets();
  } else if (activeTab === "conversations") {
    loadWaiting();
    if (conv.id) openConversation(conv.id);
  }
  else if (activeTab === "faq" && $("#faq-q").value.trim()) $("#faq-form").requestSubmit();
}

// --- 知识库搜索 -------------------------------------------------------------------------

let faqSeq = 0;

function initFaq() {
  const form = $("#faq-form");
  const input = $("#faq-q");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (!q) {
      showError($("#faq-error"), new ApiError(0, "请输入要搜索的问题"));
      input.focus();
      return;
    }
    clearTimeout(faqTimer);
    busy(form, () => searchFaq(q, $("#faq-k").value));
  });
  // As the agent types: one search 300 ms after the last key (not while an IME is composing).
  let faqTimer = null;
  const later = () => {
    clearTimeout(faqTimer);
    faqTimer = setTimeout(() => {
      const q = input.value.trim();
      if (q.length >= 2) searchFaq(q, $("#faq-k").value);
    }, 300);
  };
  input.addEventListener("input", (e) => !e.isComposing && later());
  input.addEventListener("compositionend", later);
  $("#faq-cat").addEventListener("change", () => input.value.trim() && later());
  $("#faq-k").addEventListener("change", () => input.value.trim() && later());
}

/** Text with the parts that also occur in the query marked (pairs of characters, words, digits). */
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

function insertReply(text) {
  const box = $("#c-text");
  if (!conv.id || $("#c-view").hidden) {
    flash($("#faq-summary"), "请先在“人工会话”里打开要回复的会话");
    return false;
  }
  box.value = box.value.trim() ? `${box.value.trim()}\n${text}` : text;
  box.dispatchEvent(new Event("input"));
  location.hash = `conversations/${encodeURIComponent(conv.id)}`;
  box.focus();
  return true;
}

function insertButton(getText) {
  return el("button", {
    type: "button",
    class: "secondary insert",
    text: "插入回复",
    title: "把答案放进当前会话的回复框（发送前可以修改）",
    onclick: (e) => {
      e.stopPropagation();
      insertReply(getText());
    },
  });
}

async function searchFaq(q, k) {
  const errBox = $("#faq-error");
  const list = $("#faq-results");
  const summary = $("#faq-summary");
  const seq = ++faqSeq;
  showError(errBox, null);
  try {
    const data = await api("GET", "/api/faq/search", { query: { q, k, category: $("#faq-cat").value } });
    if (seq !== faqSeq) return; // a newer search is on its way
    const results = data.results || [];
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

// A terminal response code the query quotes (/api/faq/search "codes"): meaning, side, steps.
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
      ? [el("h3", { text: "相似问法" }), el("ul", { class: "paraphrases" }, entry.paraphrases.map((p) => el("li", { text: p })))]
      : null,
  ];
  box.replaceChildren(...parts.flat().filter(Boolean));
  box.hidden = false;
  box.querySelector("h2").focus();
}

// --- 工单 -------------------------------------------------------------------------------

const ticketList = { cursors: [null], page: 0, next: null };
const ticketView = { number: null, ticket: null };

function fillSelect(select, kind, { any = null, values = null } = {}) {
  const opts = values || Object.keys(LABELS[kind]);
  select.replaceChildren(
    ...(any ? [el("option", { value: "", text: any })] : []),
    ...opts.map((v) => el("option", { value: v, text: label(kind, v) }))
  );
}

function fillStaticSelects() {
  for (const [sel, kind, any] of [
    ["#t-status", "status", "全部状态"],
    ["#t-category", "category", "全部类别"],
    ["#t-new-priority", "priority", null],
    ["#faq-cat", "faqCategory", "全部类别"],
  ]) {
    const select = $(sel);
    const keep = select.value;
    fillSelect(select, kind, { any });
    if (keep) select.value = keep;
  }
}

function initTickets() {
  const filters = $("#t-filters");
  filters.addEventListener("submit", (e) => {
    e.preventDefault();
    const m = $("#t-merchant");
    if (m.value && !/^\d{15}$/.test(m.value.trim())) {
      showError($("#t-error"), new ApiError(0, "商户号应为 15 位数字"));
      m.focus();
      return;
    }
    resetPaging();
    busy(filters, loadTickets);
  });
  filters.addEventListener("reset", () => {
    setTimeout(() => {
      resetPaging();
      loadTickets();
    });
  });
  $("#t-next").addEventListener("click", () => {
    if (!ticketList.next) return;
    ticketList.page += 1;
    ticketList.cursors[ticketList.page] = ticketList.next;
    loadTickets();
  });
  $("#t-prev").addEventListener("click", () => {
    if (ticketList.page === 0) return;
    ticketList.page -= 1;
    loadTickets();
  });
  $("#t-back").addEventListener("click", () => (location.hash = "tickets"));
  $("#t-refresh").addEventListener("click", () => ticketView.number && openTicket(ticketView.number));
  $("#t-update").addEventListener("submit", (e) => {
    e.preventDefault();
    busy(e.currentTarget, updateTicket);
  });
  $("#t-comment").addEventListener("submit", (e) => {
    e.preventDefault();
    busy(e.currentTarget, addComment);
  });
}

function resetPaging() {
  ticketList.cursors = [null];
  ticketList.page = 0;
  ticketList.next = null;
}

function showTicketList() {
  ticketView.number = null;
  ticketView.ticket = null;
  $("#t-detail-view").hidden = true;
  $("#t-list-view").hidden = false;
  loadTickets();
}

async function loadTickets() {
  const errBox = $("#t-error");
  const rows = $("#t-rows");
  showError(errBox, null);
  const query = {
    status: $("#t-status").value,
    category: $("#t-category").value,
    merchant_id: $("#t-merchant").value.trim(),
    limit: $("#t-limit").value,
    cursor: ticketList.cursors[ticketList.page],
  };
  rows.setAttribute("aria-busy", "true");
  try {
    const data = await api("GET", "/api/tickets", { query });
    const items = data.items || [];
    ticketList.next = data.next_cursor || null;
    rows.replaceChildren(
      ...items.map((t) =>
        el(
          "tr",
          {},
          el("th", { scope: "row" }, el("a", { href: `#tickets/${encodeURIComponent(t.number)}`, class: "ticket-link", text: t.number })),
          el("td", {}, badge("status", t.status)),
          el("td", { text: label("category", t.category) }),
          el("td", {}, badge("priority", t.priority)),
          el("td", { class: "mono", text: t.merchant_id || "—" }),
          el("td", { text: t.assignee || "未指派" }),
          el("td", { class: "nowrap", text: fmtTime(t.created_at) }),
          el("td", { class: "desc", title: t.description || "", text: t.description || "" })
        )
      )
    );
    if (!items.length) {
      rows.replaceChildren(el("tr", {}, el("td", { colspan: "8", class: "empty", text: "没有符合条件的工单" })));
    }
    $("#t-caption").textContent = `工单列表（本页 ${items.length} 条）`;
  } catch (err) {
    rows.replaceChildren();
    ticketList.next = null;
    showError(errBox, err);
  } finally {
    rows.removeAttribute("aria-busy");
    $("#t-page").textContent = `第 ${ticketList.page + 1} 页`;
    $("#t-prev").disabled = ticketList.page === 0;
    $("#t-next").disabled = !ticketList.next;
  }
}

async function openTicket(number) {
  ticketView.number = number;
  $("#t-list-view").hidden = true;
  $("#t-detail-view").hidden = false;
  $("#t-title").textContent = `工单 ${number}`;
  const errBox = $("#t-detail-error");
  showError(errBox, null);
  try {
    const [ticket, events] = await Promise.all([
      api("GET", `/api/tickets/${encodeURIComponent(number)}`),
      api("GET", `/api/tickets/${encodeURIComponent(number)}/events`).catch((e) => ({ error: e })),
    ]);
    if (ticketView.number !== number) return; // navigated away meanwhile
    renderTicket(ticket);
    renderEvents(events);
  } catch (err) {
    showError(errBox, err);
  }
}

function renderTicket(t) {
  ticketView.ticket = t;
  $("#t-badges").replaceChildren(badge("status", t.status), badge("priority", t.priority));
  const fields = [
    ["类别", label("category", t.category)],
    ["商户号", t.merchant_id],
    ["终端号", t.terminal_id],
    ["设备序列号", t.device_serial],
    ["联系电话", t.contact_phone],
    ["处理人", t.assignee || "未指派"],
    ["交易日期", t.settlement_date],
    ["交易金额", t.settlement_amount != null ? `${t.settlement_amount} 元` : null],
    ["渠道", label("channel", t.channel)],
    ["创建时间", fmtTime(t.created_at)],
    ["更新时间", fmtTime(t.updated_at)],
  ].filter(([, v]) => v !== null && v !== undefined && v !== "");
  $("#t-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
  $("#t-description").textContent = t.description || "";
  $("#t-resolution-wrap").hidden = !t.resolution;
  $("#t-resolution").textContent = t.resolution || "";

  const convId = t.sender_id ? (t.sender_id.includes(":") ? t.sender_id : `${t.channel}:${t.sender_id}`) : "";
  $("#t-conv-link-wrap").hidden = !convId;
  if (convId) $("#t-conv-link").href = `#conversations/${encodeURIComponent(convId)}`;

  const transcript = Array.isArray(t.transcript) ? t.transcript : [];
  $("#t-transcript-card").hidden = !transcript.length;
  renderTranscript($("#t-transcript"), transcript);

  const targets = [t.status, ...(TRANSITIONS[t.status] || [])];
  fillSelect($("#t-new-status"), "status", { values: targets });
  $("#t-new-status").value = t.status;
  $("#t-new-status").disabled = targets.length === 1;
  $("#t-new-assignee").value = t.assignee || "";
  $("#t-new-priority").value = t.priority;
  $("#t-note").value = "";
  resetMerchantPreviews();
}

function eventSummary(ev) {
  const d = ev.data || {};
  switch (ev.type) {
    case "status_changed":
      return `${label("status", d.from ?? d.old)} → ${label("status", d.to ?? d.new ?? d.status)}${d.note ? `：${d.note}` : ""}`;
    case "assigned":
      return `处理人：${d.from ?? d.old ?? "未指派"} → ${d.to ?? d.new ?? d.assignee ?? "未指派"}`;
    case "priority_changed":
      return `${label("priority", d.from ?? d.old)} → ${label("priority", d.to ?? d.new ?? d.priority)}`;
    case "commented":
      return d.body || d.text || "";
    case "notification":
      return d.text || (d.channel ? `通过${label("channel", d.channel)}渠道` : "");
    case "created":
      return [d.category && label("category", d.category), d.priority && `优先级 ${label("priority", d.priority)}`, d.channel && `来自${label("channel", d.channel)}`]
        .filter(Boolean)
        .join("，");
    case "delivered":
      return [d.event_type && label("event", d.event_type), d.status_code && `HTTP ${d.status_code}`, d.attempts && `第 ${d.attempts} 次尝试`]
        .filter(Boolean)
        .join("，");
    default: {
      const keys = Object.keys(d);
      return keys
        .filter((k) => LABELS.field && LABELS.field[k] && typeof d[k] !== "object")
        .map((k) => `${LABELS.field[k]}：${d[k]}`)
        .join("，");
    }
  }
}

function renderEvents(events) {
  const list = $("#t-events");
  if (!events || events.error) {
    list.replaceChildren(el("li", { class: "error-inline", text: events?.error?.message || "处理记录加载失败" }));
    return;
  }
  const items = Array.isArray(events) ? events : events.items || events.events || [];
  list.replaceChildren(
    ...items.map((ev) =>
      el(
        "li",
        { class: `event event-${ev.type}` },
        el(
          "div",
          { class: "event-head" },
          el("strong", { text: label("event", ev.type) }),
          el("span", { class: "muted", text: ` ${personName(ev.actor)} · ${fmtTime(ev.created_at)}` })
        ),
        el("div", { class: "pre", text: eventSummary(ev) })
      )
    )
  );
  if (!items.length) list.replaceChildren(el("li", { class: "empty", text: "暂无记录" }));
}

async function updateTicket() {
  const t = ticketView.ticket;
  if (!t) return;
  const errBox = $("#t-detail-error");
  showError(errBox, null);
  const patch = {};
  const status = $("#t-new-status").value;
  const assignee = $("#t-new-assignee").value.trim();
  const priority = $("#t-new-priority").value;
  const note = $("#t-note").value.trim();
  if (status && status !== t.status) patch.status = status;
  if (assignee !== (t.assignee || "")) patch.assignee = assignee || null;
  if (priority && priority !== t.priority) patch.priority = priority;
  if (!Object.keys(patch).length) {
    showError(errBox, new ApiError(0, "没有要保存的修改"));
    return;
  }
  if (note) patch.note = note;
  if ($("#t-reply").checked) patch.reply_to_merchant = true;
  try {
    const updated = await api("PATCH", `/api/tickets/${encodeURIComponent(t.number)}`, { body: patch });
    flash($("#t-detail-msg"), "已保存");
    await openTicket(updated?.number || t.number);
  } catch (err) {
    showError(errBox, err);
  }
}

async function addComment() {
  const t = ticketView.ticket;
  if (!t) return;
  const errBox = $("#t-detail-error");
  const bodyInput = $("#t-comment-body");
  const body = bodyInput.value.trim();
  showError(errBox, null);
  if (!body) {
    showError(errBox, new ApiError(0, "备注内容不能为空"));
    bodyInput.focus();
    return;
  }
  try {
    const reply = $("#t-comment-reply").checked;
    await api("POST", `/api/tickets/${encodeURIComponent(t.number)}/comments`, { body: { body, reply_to_merchant: reply } });
    bodyInput.value = "";
    flash($("#t-detail-msg"), "备注已添加");
    await openTicket(t.number);
  } catch (err) {
    showError(errBox, err);
  }
}

// --- 人工会话 ---------------------------------------------------------------------------

const conv = { id: null, timer: null, data: null, lastCount: -1, ticks: 0 };
const CONV_REFRESH_MS = 5000;

function normalizeLine(m) {
  const role = m.role ?? m.direction ?? m.from ?? m.sender ?? m.author ?? "";
  return {
    role: String(role),
    text: m.text ?? m.body ?? m.message ?? "",
    at: m.at ?? m.created_at ?? m.timestamp ?? m.time ?? null,
    who: m.author ?? m.actor ?? m.agent ?? null,
  };
}

function roleClass(role) {
  const r = role.toLowerCase();
  if (["user", "in", "merchant", "customer"].includes(r)) return "user";
  if (["agent", "staff", "human"].includes(r)) return "agent";
  if (r === "system") return "system";
  return "bot";
}

function renderTranscript(list, lines) {
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
        raw.attachment ? photoOf(raw.attachment) : null,
        deliveryNote(raw) ||
          (cls === "agent" && String(conv.id).startsWith("web:") && "delivered_at" in raw
            ? el("div", { class: "muted delivery", text: raw.delivered_at ? "商户已收到" : "等待商户打开对话" })
            : null)
      );
    })
  );
  if (!lines.length) list.replaceChildren(el("li", { class: "empty", text: "暂无对话记录" }));
}

// Photos the merchant sent during the handoff: fetched with the API key (an <img src> cannot
// send it) and kept as object URLs, so the 5 s refresh does not download them again.
const photoUrls = new Map();

function photoOf(att) {
  const link = el("a", { class: "photo-link", target: "_blank", rel: "noopener", text: "图片加载中…" });
  const path = `/api/conversations/${encodeURIComponent(conv.id)}/attachments/${encodeURIComponent(att.id)}`;
  const show = (url) => {
    link.href = url;
    link.replaceChildren(el("img", { class: "photo", src: url, alt: `商户发送的图片 ${att.width}×${att.height}` }));
  };
  if (photoUrls.has(path)) show(photoUrls.get(path));
  else {
    fetch(path, { credentials: "same-origin", headers: auth.kind === "key" ? { "X-API-Key": getKey() } : {} })
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
const DELIVERY_CODES = {
  45015: "商户超过48小时没有发消息，微信不允许主动发送；商户再发消息时会自动补发",
  45047: "已达到本次互动可发送的条数上限；商户再发消息时会自动补发",
  43004: "商户已取消关注",
  81013: "该成员不在应用可见范围内",
};

function deliveryNote(raw) {
  const d = raw && typeof raw === "object" ? raw.delivery : null;
  if (!d || d.status === "delivered") return null;
  if (d.status === "pending") return el("div", { class: "muted", text: "发送中…" });
  const why = DELIVERY_CODES[d.errcode] || d.error || "发送失败";
  const code = d.errcode ? `（错误码 ${d.errcode}）` : "";
  return el("div", { class: "error", role: "status", text: `⚠ 未送达：${why}${code}` });
}

function transcriptKey(lines) {
  // a web line's acknowledgement (delivered_at) changes what the line shows, too
  return lines
    .map((l) => (l && l.delivery ? `${l.id}:${l.delivery.status}` : `${l && l.id}:${l && l.delivered_at ? 1 : 0}`))
    .join(",");
}

function convLines(data) {
  const lines = data.transcript ?? data.messages ?? data.events ?? [];
  return Array.isArray(lines) ? lines : [];
}

/** true / false / null (unknown) from whatever the conversations API reports. */
function handoffActive(data) {
  if (typeof data.handoff === "boolean") return data.handoff;
  if (typeof data.handoff_active === "boolean") return data.handoff_active;
  if (data.handoff && typeof data.handoff === "object") return data.handoff.active ?? !data.handoff.ended_at;
  const s = String(data.state ?? data.status ?? data.mode ?? "").toLowerCase();
  if (!s) return null;
  return ["handoff", "human", "agent", "staff", "active", "handed_off"].includes(s);
}

// --- the handoff queue: polled while signed in; count in the tab and the page title ------

const BASE_TITLE = document.title;
const QUEUE_MS = 5000;
const queue = { timer: null, count: null, items: [] };

function waitText(since) {
  const ms = Date.now() - new Date(since).getTime();
  if (!Number.isFinite(ms) || ms < 0) return "刚刚";
  const min = Math.floor(ms / 60000);
  if (min < 1) return "不到 1 分钟";
  if (min < 60) return `${min} 分钟`;
  const h = Math.floor(min / 60);
  return `${h} 小时 ${min % 60} 分钟`;
}

function showQueueCount(n) {
  const badge = $("#queue-badge");
  badge.hidden = !n;
  badge.textContent = n ? String(n) : "";
  badge.setAttribute("aria-label", n ? `${n} 个会话等待人工` : "");
  document.title = n ? `(${n}) ${BASE_TITLE}` : BASE_TITLE;
  $("#c-waiting-count").textContent = n === null ? "" : `（${n} 个）`;
}

function queueRow(c) {
  // No merchant id yet (nothing filed): the last characters of the chat tell rows apart.
  const who = c.merchant_id_masked ? `商户 ${c.merchant_id_masked}` : `未留商户号的访客（…${c.conversation_id.slice(-4)}）`;
  const last = c.last_message;
  const lastWho = last ? label("role", last.direction) : "";
  return el(
    "li",
    { class: "queue-row", "data-conv": c.conversation_id },
    el(
      "div",
      { class: "queue-head" },
      el("a", { href: `#conversations/${encodeURIComponent(c.conversation_id)}`, class: "queue-link", title: "打开会话", text: who }),
      el("span", { class: "tag", text: label("channel", c.channel) }),
      el("span", { class: "muted", text: label("reason", c.reason) }),
      c.ticket_number ? el("a", { class: "tag mono", href: `#tickets/${encodeURIComponent(c.ticket_number)}`, text: c.ticket_number }) : null,
      el("span", { class: "wait", text: `已等待 ${waitText(c.waiting_since)}` }),
      c.unanswered ? el("span", { class: "badge unanswered", text: `${c.unanswered} 条未回复` }) : null
    ),
    last ? el("div", { class: "queue-last", text: `${lastWho}：${last.text}` }) : null
  );
}

async function loadWaiting() {
  const list = $("#c-waiting");
  const errBox = $("#c-waiting-error");
  try {
    const data = await api("GET", "/api/staff/queue");
    showError(errBox, null);
    queue.items = data.items || [];
    queue.count = data.count ?? queue.items.length;
    showQueueCount(queue.count);
    list.replaceChildren(...queue.items.map(queueRow));
    if (!queue.items.length) list.replaceChildren(el("li", { class: "empty", text: "现在没有等待人工的会话" }));
  } catch (err) {
    if (err.status === 403) {
      list.replaceChildren();
      showQueueCount(null);
    }
    showError(errBox, err);
  }
}

function startQueuePolling() {
  stopQueuePolling();
  const tick = async () => {
    if (!auth.me) return;
    await loadWaiting();
    // hidden tabs poll slower: the title still tells the agent when someone is waiting
    queue.timer = setTimeout(tick, document.hidden ? QUEUE_MS * 3 : QUEUE_MS);
  };
  tick();
}

function stopQueuePolling() {
  clearTimeout(queue.timer);
  queue.timer = null;
}

function initConversations() {
  $("#c-waiting-refresh").addEventListener("click", loadWaiting);
  $("#c-open").addEventListener("submit", (e) => {
    e.preventDefault();
    const id = $("#c-id").value.trim();
    if (!id) return;
    const target = `conversations/${encodeURIComponent(id)}`;
    if (location.hash.slice(1) === target) openConversation(id);
    else location.hash = target;
  });
  $("#c-refresh").addEventListener("click", () => conv.id && openConversation(conv.id));
  $("#c-handback").addEventListener("click", handBack);
  const text = $("#c-text");
  const count = $("#c-count");
  text.addEventListener("input", () => (count.textContent = `${text.value.length}/2000`));
  text.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !e.isComposing) {
      e.preventDefault();
      $("#c-reply").requestSubmit();
    }
  });
  $("#c-reply").addEventListener("submit", (e) => {
    e.preventDefault();
    busy(e.currentTarget, sendReply);
  });
  document.addEventListener("visibilitychange", scheduleConvRefresh);
}

function scheduleConvRefresh() {
  clearTimeout(conv.timer);
  if (!conv.id || document.hidden) return;
  conv.timer = setTimeout(async () => {
    if (activeTab === "conversations" && conv.id && !document.hidden) {
      await loadConversation(conv.id, { quiet: true });
    }
    scheduleConvRefresh();
  }, CONV_REFRESH_MS);
}

async function openConversation(id) {
  if (conv.id !== id) conv.lastCount = -1;
  conv.id = id;
  showError($("#c-error"), null);
  await loadConversation(id, { quiet: false });
  scheduleConvRefresh();
}

async function loadConversation(id, { quiet }) {
  try {
    const data = await api("GET", `/api/conversations/${encodeURIComponent(id)}`);
    if (conv.id !== id) return;
    conv.data = data;
    renderConversation(id, data);
    if (!quiet) showError($("#c-error"), null);
  } catch (err) {
    if (conv.id !== id) return;
    if (!quiet || err.status) showError($("#c-error"), err);
    if (!quiet) $("#c-view").hidden = true;
  }
}

function renderConversation(id, data) {
  $("#c-view").hidden = false;
  $("#c-title").textContent = `会话 ${data.conversation_id || data.conv_id || data.id || id}`;
  const active = handoffActive(data);
  const state = $("#c-state");
  state.textContent = active === null ? "未知状态" : active ? "人工处理中" : "机器人接待中";
  state.className = `badge ${active ? "state-handoff" : "state-bot"}`;
  $("#c-handback").disabled = active === false;

  const fields = [];
  const h = data.handoff && typeof data.handoff === "object" ? data.handoff : {};
  for (const [k, name] of [
    ["channel", "渠道"],
    ["ticket_number", "工单号"],
    ["reason", "转人工原因"],
    ["started_at", "转人工时间"],
    ["ended_at", "交还时间"],
    ["ended_by", "交还人"],
    ["last_message_at", "最近消息"],
  ]) {
    const v = h[k] ?? data[k];
    if (v === null || v === undefined || v === "" || typeof v === "object") continue;
    let dd;
    if (k === "ticket_number") dd = el("a", { href: `#tickets/${encodeURIComponent(v)}`, text: String(v) });
    else if (k.endsWith("_at")) dd = fmtTime(v);
    else if (k === "ended_by") dd = personName(v);
    else dd = k === "channel" || k === "reason" ? label(k, v) : String(v);
    fields.push([name, dd]);
  }
  $("#c-fields").replaceChildren(...fields.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", {}, v)]));
  renderConvContext(data);

  const lines = convLines(data);
  const list = $("#c-transcript");
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
  const key = transcriptKey(lines);
  if (lines.length !== conv.lastCount || key !== conv.lastKey) {
    renderTranscript(list, lines);
    if (atEnd || conv.lastCount < 0) list.scrollTop = list.scrollHeight;
    conv.lastCount = lines.length;
    conv.lastKey = key;
  }
}

async function sendReply() {
  const input = $("#c-text");
  const text = input.value.trim();
  const errBox = $("#c-error");
  showError(errBox, null);
  if (!conv.id) return;
  if (!text) {
    showError(errBox, new ApiError(0, "回复内容不能为空"));
    input.focus();
    return;
  }
  try {
    // Signed with the account's display name by the server; recorded under its username.
    await api("POST", `/api/conversations/${encodeURIComponent(conv.id)}/messages`, { body: { text } });
    input.value = "";
    $("#c-count").textContent = "0/2000";
    flash($("#c-msg"), "已发送给商户");
    await loadConversation(conv.id, { quiet: false });
    input.focus();
  } catch (err) {
    showError(errBox, err);
  }
}

async function handBack() {
  if (!conv.id) return;
  if (!window.confirm("确定把这个会话交还给机器人吗？之后商户的消息将由机器人回答。")) return;
  const btn = $("#c-handback");
  btn.disabled = true;
  showError($("#c-error"), null);
  try {
    await api("POST", `/api/conversations/${encodeURIComponent(conv.id)}/handback`, { body: {} });
    flash($("#c-msg"), "已交还机器人");
    await loadConversation(conv.id, { quiet: false });
    loadWaiting();
  } catch (err) {
    btn.disabled = false;
    showError($("#c-error"), err);
  }
}

// --- what the merchant will read; who the merchant is -----------------------------------
// Notes are internal unless marked for the merchant. The server renders the exact message
// (POST /api/tickets/{number}/preview), shown under the form before anything is saved.

const PREVIEWS = {
  update: {
    box: "#t-preview",
    inputs: ["#t-new-status", "#t-note", "#t-reply"],
    body: () => {
      const status = $("#t-new-status").value;
      const current = ticketView.ticket && ticketView.ticket.status;
      return {
        status: status && status !== current ? status : null,
        note: $("#t-note").value.trim() || null,
        reply_to_merchant: $("#t-reply").checked,
      };
    },
  },
  comment: {
    box: "#t-comment-preview",
    inputs: ["#t-comment-body", "#t-comment-reply"],
    body: () => ({ note: $("#t-comment-body").value.trim() || null, reply_to_merchant: $("#t-comment-reply").checked }),
  },
};

function showPreview(box, ...children) {
  box.replaceChildren(...children);
  box.hidden = !children.length;
}

async function refreshPreview(kind) {
  const { box: sel, body: makeBody } = PREVIEWS[kind];
  const box = $(sel);
  const t = ticketView.ticket;
  const body = makeBody();
  if (!t || (!body.status && !body.reply_to_merchant)) return showPreview(box);
  if (body.reply_to_merchant && !body.note) return showPreview(box, el("span", { class: "none", text: "请先写好要发给商户的内容" }));
  try {
    const data = await api("POST", `/api/tickets/${encodeURIComponent(t.number)}/preview`, { body });
    if (ticketView.ticket !== t) return;
    if (!data.messages.length) {
      const why = data.recipient ? "这次修改商户不会收到消息" : "这张工单不是从对话里来的，商户不会收到消息";
      return showPreview(box, el("span", { class: "none", text: why }));
    }
    showPreview(box, el("strong", { text: "商户将收到：" }), ...data.messages.map((m) => el("div", { class: "pre", text: m })));
  } catch (err) {
    showPreview(box, el("span", { class: "none", text: err.message }));
  }
}

function resetMerchantPreviews() {
  $("#t-reply").checked = false;
  $("#t-comment-reply").checked = false;
  for (const kind of Object.keys(PREVIEWS)) showPreview($(PREVIEWS[kind].box));
}

function initMerchantPreviews() {
  for (const [kind, { inputs }] of Object.entries(PREVIEWS)) {
    let timer = null;
    const later = () => {
      clearTimeout(timer);
      timer = setTimeout(() => refreshPreview(kind), 300);
    };
    for (const sel of inputs) {
      $(sel).addEventListener("input", later);
      $(sel).addEventListener("change", later);
    }
  }
}

function renderConvContext(data) {
  const m = data.merchant || {};
  const tickets = Array.isArray(data.tickets) ? data.tickets : [];
  const rows = [
    ["商户号", m.merchant_id],
    ["终端号", m.terminal_id],
    ["设备序列号", m.device_serial],
    ["联系电话", m.contact_phone_masked],
  ].filter(([, v]) => v);
  $("#c-context").hidden = !rows.length && !tickets.length;
  $("#c-merchant").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { class: "mono", text: v })]));
  $("#c-tickets").replaceChildren(
    ...tickets.map((t) =>
      el(
        "li",
        {},
        el("a", { href: `#tickets/${encodeURIComponent(t.number)}`, class: "mono", text: t.number }),
        " ",
        badge("status", t.status),
        el("span", { class: "muted", text: ` ${label("category", t.category)} · ${fmtTime(t.created_at)} · ${t.description}` })
      )
    )
  );
}

// --- start -----------------------------------------------------------------------------

initLogin();
initTabs();
initFaq();
initTickets();
initMerchantPreviews();
initConversations();
initField({ api, el, label, showError, flash, busy, personName });
start();
