// @ts-check
// 数据看板 tab: the numbers of GET /api/analytics for a date range, as charts (Chart.js, vendored
// under /static/vendor) and two tables, and the CSV export of each table.
// Labels of the columns come from the API (bot/api/analytics.py), one place with the CSV headers.

import "../vendor/chart.umd.min.js";
import { ApiError, api, authHeaders, describeError } from "./api.js";
import { $, busy, el, field, showError } from "./dom.js";
import { label } from "./labels.js";

/** @typedef {import("./api.js").Me} Me */

const Chart = globalThis.Chart;

const view = {
  seq: 0,
  /** @type {Record<string, import("../vendor/chart.umd.min.js").ChartInstance>} */
  charts: {},
  /** @type {any} */
  data: null,
};
const COLORS = {
  blue: "#2f6fde",
  teal: "#1f9d8b",
  amber: "#d9822b",
  red: "#d64545",
  grey: "#8a94a6",
  purple: "#7a5af8",
  green: "#3f9b3f",
};
/** @type {Record<string, string>} */
const STATUS_COLORS = { open: COLORS.amber, in_progress: COLORS.blue, resolved: COLORS.green, closed: COLORS.grey };

export function initAnalytics() {
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.animation = false; // drawn at once: no half-drawn charts in a screenshot
  const form = $("#a-filter");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(form, loadAnalytics);
  });
  for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (form.querySelectorAll("[data-days]"))) {
    b.addEventListener("click", () => {
      const days = Number(b.dataset.days);
      const end = new Date();
      const start = new Date(end.getTime() - (days - 1) * 86400000);
      field("#a-since").value = isoDay(start);
      field("#a-until").value = isoDay(end);
      busy(form, loadAnalytics);
    });
  }
  for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll("#panel-analytics [data-export]"))) {
    b.addEventListener("click", () => exportCsv(b.dataset.export || "", b));
  }
}

/** @param {Me} me */
export function analyticsSignedIn(me) {
  $("#tab-analytics").hidden = !(me.scopes || []).includes("analytics:read");
}

export function showAnalytics() {
  return loadAnalytics();
}

/** @param {Date} d */
function isoDay(d) {
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

function range() {
  return { since: field("#a-since").value, until: field("#a-until").value };
}

async function loadAnalytics() {
  const seq = ++view.seq;
  const errBox = $("#a-error");
  const asked = range();
  try {
    const data = await api("GET", "/api/analytics", { query: asked });
    if (seq !== view.seq) return;
    showError(errBox, null);
    view.data = data;
    // Show the range the numbers are for, unless the user typed other dates while this loaded
    // (a slow first load must not overwrite them before they press 查询).
    const now = range();
    if (now.since === asked.since && now.until === asked.until) {
      field("#a-since").value = data.since;
      field("#a-until").value = data.until;
    }
    render(data);
  } catch (err) {
    if (seq !== view.seq) return;
    showError(errBox, err);
  }
}

const pct = (/** @type {number | null | undefined} */ v) => (v === null || v === undefined ? null : Math.round(v * 1000) / 10);
const pctText = (/** @type {number | null | undefined} */ v) => (v === null || v === undefined ? "—" : `${pct(v)}%`);

/** @param {number | null | undefined} seconds */
function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${Math.round(seconds)} 秒`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} 分钟`;
  return `${(seconds / 3600).toFixed(1)} 小时`;
}

/** @param {any} data GET /api/analytics */
function render(data) {
  const L = data.labels.daily;
  const t = data.totals;
  const tiles = [
    [L.conversations, t.conversations],
    [L.questions, t.questions],
    [L.answer_rate, pctText(t.answer_rate)],
    [L.suggest_rate, pctText(t.suggest_rate)],
    [L.none_rate, pctText(t.none_rate)],
    [L.handoff_rate, pctText(t.handoff_rate)],
    ["首次人工回复（中位数）", duration(t.first_reply_median_s)],
    [L.csat, pctText(t.csat)],
    ["👍 / 👎", `${t.up} / ${t.down}`],
    ["工单", t.tickets],
  ];
  $("#a-tiles").replaceChildren(
    ...tiles.map(([name, value]) => el("div", { class: "a-tile" }, el("span", { class: "a-tile-name", text: name }), el("strong", { text: String(value) })))
  );

  /** @type {any[]} */
  const daily = data.days;
  const days = daily.map((d) => d.day.slice(5));
  chart("a-chart-volume", {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: L.conversations, data: daily.map((d) => d.conversations), backgroundColor: COLORS.blue },
        { label: L.questions, data: daily.map((d) => d.questions), backgroundColor: COLORS.teal },
      ],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
  chart("a-chart-rates", {
    type: "line",
    data: {
      labels: days,
      datasets: [
        line(L.answer_rate, daily.map((d) => pct(d.answer_rate)), COLORS.green),
        line(L.suggest_rate, daily.map((d) => pct(d.suggest_rate)), COLORS.amber),
        line(L.none_rate, daily.map((d) => pct(d.none_rate)), COLORS.red),
        line(L.handoff_rate, daily.map((d) => pct(d.handoff_rate)), COLORS.purple),
      ],
    },
    options: { spanGaps: false, scales: { y: { min: 0, max: 100, ticks: { callback: (/** @type {number} */ v) => `${v}%` } } } },
  });

  /** @type {{ category: string, status: string, count: number }[]} */
  const tickets = data.tickets;
  const categories = [...new Set(tickets.map((r) => r.category))];
  const statuses = [...new Set(tickets.map((r) => r.status))];
  chart("a-chart-tickets", {
    type: "bar",
    data: {
      labels: categories.map((c) => label("category", c)),
      datasets: statuses.map((s) => ({
        label: label("status", s),
        data: categories.map((c) => (tickets.find((r) => r.category === c && r.status === s) || { count: 0 }).count),
        backgroundColor: STATUS_COLORS[s] || COLORS.grey,
      })),
    },
    options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
  });
  $("#a-tickets-empty").hidden = categories.length > 0;

  chart("a-chart-feedback", {
    type: "bar",
    data: {
      labels: days,
      datasets: [
        { label: L.up, data: daily.map((d) => d.up), backgroundColor: COLORS.green, yAxisID: "y" },
        { label: L.down, data: daily.map((d) => d.down), backgroundColor: COLORS.red, yAxisID: "y" },
        { ...line(L.csat, daily.map((d) => pct(d.csat)), COLORS.blue), type: "line", yAxisID: "y1" },
      ],
    },
    options: {
      scales: {
        y: { beginAtZero: true, ticks: { precision: 0 } },
        y1: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false }, ticks: { callback: (/** @type {number} */ v) => `${v}%` } },
      },
    },
  });
  chart("a-chart-reply", {
    type: "bar",
    data: {
      labels: days,
      datasets: [{ label: "首次人工回复中位数（分钟）", data: daily.map((d) => (d.first_reply_median_s === null ? null : Math.round(d.first_reply_median_s / 6) / 10)), backgroundColor: COLORS.purple }],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });
  const fr = data.first_reply;
  const FR = data.labels.first_reply;
  $("#a-reply-stats").textContent =
    `${FR.handoffs} ${fr.handoffs}，${FR.replied} ${fr.replied}；中位数 ${duration(fr.median_s)}，90% 在 ${duration(fr.p90_s)} 内，平均 ${duration(fr.mean_s)}`;

  renderEntries(data);
  renderTopUnanswered(data);
}

/**
 * @param {string} name
 * @param {(number | null)[]} values
 * @param {string} color
 */
function line(name, values, color) {
  return { label: name, data: values, borderColor: color, backgroundColor: color, cubicInterpolationMode: "monotone", pointRadius: 3 };
}

/**
 * Draws (or redraws) the chart of a canvas.
 * @param {string} id
 * @param {{ type: string, data: any, options?: Record<string, any> }} config
 */
function chart(id, config) {
  const canvas = /** @type {HTMLCanvasElement} */ (document.getElementById(id));
  view.charts[id]?.destroy();
  config.options = {
    responsive: true,
    maintainAspectRatio: false,
    plugins: { legend: { position: "bottom" } },
    ...config.options,
  };
  view.charts[id] = new Chart(canvas, config);
}

/** @param {any} data */
function renderEntries(data) {
  const E = data.labels.entries;
  const cols = ["question", "answered", "up", "down", "ratings", "rating_avg", "csat"];
  $("#a-entries-head").replaceChildren(el("tr", {}, cols.map((c) => el("th", { scope: "col", text: E[c] }))));
  const rows = data.entries.slice(0, 20).map((/** @type {any} */ e) =>
    el(
      "tr",
      {},
      el("td", { text: e.question || "（已下线的条目）" }),
      el("td", { text: String(e.answered) }),
      el("td", { text: String(e.up) }),
      el("td", { text: String(e.down) }),
      el("td", { text: String(e.ratings) }),
      el("td", { text: e.rating_avg === null ? "—" : String(e.rating_avg) }),
      el("td", { text: pctText(e.csat) })
    )
  );
  $("#a-entries").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: String(cols.length), class: "empty", text: "这段时间没有回答过条目" }))]));
}

/** @param {any} data */
function renderTopUnanswered(data) {
  const items = data.unanswered.map((/** @type {{ count: number, question: string }} */ g) =>
    el("li", {}, el("span", { class: "badge u-count", text: `${g.count} 次` }), " ", g.question)
  );
  $("#a-unanswered").replaceChildren(...(items.length ? items : [el("li", { class: "empty", text: "这段时间机器人都答上来了" })]));
}

/**
 * @param {string} table daily, tickets, unanswered or entries
 * @param {HTMLButtonElement} button
 */
async function exportCsv(table, button) {
  // fetch, not a plain link: an API-key login sends its key in a header, which a link cannot.
  const errBox = $("#a-error");
  const qs = new URLSearchParams({ ...range(), format: "csv" });
  button.disabled = true;
  try {
    const res = await fetch(`/api/analytics/${table}?${qs}`, { credentials: "same-origin", headers: authHeaders() });
    if (!res.ok) {
      let body = null;
      try {
        body = await res.json();
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, describeError(res.status, body));
    }
    const blob = await res.blob();
    const name = (res.headers.get("content-disposition") || "").match(/filename="([^"]+)"/)?.[1] || `posbot-${table}.csv`;
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    showError(errBox, null);
  } catch (err) {
    showError(errBox, err instanceof ApiError ? err : new ApiError(0, "无法连接服务器，请检查网络后重试"));
  } finally {
    button.disabled = false;
  }
}
