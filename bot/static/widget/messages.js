// @ts-check
// One row of the transcript, built from its persisted entry: the bubble (text or photo), ticket
// numbers with a copy button, the reply buttons, the five-star rating card, the time and the
// delivery state; and the "typing" row shown while the assistant works.

import { buttonsOf, chinese, el, fillText, formatTime } from "./dom.js";
import { copyText } from "./media.js";

/** @typedef {import("./store.js").Entry} Entry */
/** @typedef {import("./transport.js").Reply} Reply */
/** @typedef {HTMLDivElement & { _entry?: Entry }} Row */

/**
 * What a message's buttons and stars ask of the view.
 * @typedef {object} MessageHooks
 * @property {(text: string, title: string | null) => void} send a button's payload with its title
 * @property {(subject: string, rating: number) => Promise<Reply>} rate
 * @property {() => void} save the transcript changed (a click, a rating)
 * @property {() => boolean} isBusy the assistant is working on the merchant's message
 * @property {() => void} chosen a reply button was clicked (and is disabled now)
 */

const RATING_LABELS = ["很不满意", "不满意", "一般", "满意", "非常满意"];
/** @type {Record<string, string>} */
const SPEAKER = { user: "我：", bot: "助手：", staff: "人工客服：", system: "通知：" };
/** @type {Record<string, string>} */
const STATE_TEXT = { sending: "发送中…", sent: "已送达", failed: "未发送" };

/**
 * Builds one message row from its persisted entry (the caller adds it to the log).
 * @param {Entry} entry
 * @param {MessageHooks} hooks
 * @returns {Row}
 */
export function renderEntry(entry, hooks) {
  const kind = entry.kind;
  /** @type {Row} */
  const row = el("div", { class: `pw-msg pw-${kind}` });
  row.appendChild(el("span", { class: "pw-sr", text: SPEAKER[kind] || "" }));
  if (kind === "bot") row.appendChild(el("div", { class: "pw-avatar", "aria-hidden": "true", text: "助" }));
  if (kind === "staff") row.appendChild(el("div", { class: "pw-avatar pw-avatar-staff", "aria-hidden": "true", text: "客" }));
  const body = el("div", { class: "pw-body" });
  if (kind === "staff") {
    body.appendChild(el("div", { class: "pw-from", text: entry.author ? `人工客服 · ${entry.author}` : "人工客服" }));
  }
  if (entry.photo || entry.photoPending) {
    body.appendChild(
      el("div", { class: "pw-bubble pw-photo-bubble" }, [
        entry.photo ? el("img", { class: "pw-photo", src: entry.photo, alt: "我发送的图片" }) : el("span", { text: "[图片]" }),
      ])
    );
  } else if (entry.text) {
    const bubble = el("div", { class: "pw-bubble" });
    fillText(bubble, entry.text, entry.tickets);
    body.appendChild(bubble);
  }
  (entry.tickets || []).forEach((number) => {
    body.appendChild(ticketCard(number));
  });
  row.appendChild(body);
  if (entry.buttons && entry.buttons.length) renderButtons(entry.buttons, entry, body, hooks);
  if (entry.rating) body.appendChild(ratingCard(entry.rating, hooks));
  if (!entry.welcome) {
    const meta = el("div", { class: "pw-msgmeta" });
    if (entry.at) meta.appendChild(el("time", { class: "pw-time", datetime: new Date(entry.at).toISOString(), text: formatTime(entry.at) }));
    if (kind === "user" && entry.state) {
      meta.appendChild(el("span", { class: `pw-state pw-state-${entry.state}`, text: STATE_TEXT[entry.state] || "" }));
    }
    if (meta.childNodes.length) body.appendChild(meta);
  }
  row._entry = entry;
  return row;
}

/**
 * Shows the delivery state of the merchant's message in its row (发送中… / 已送达 / 未发送).
 * @param {HTMLElement | null} row
 * @param {"sending" | "sent" | "failed"} state
 */
export function showState(row, state) {
  const s = row && row.querySelector(".pw-state");
  if (s) {
    s.className = `pw-state pw-state-${state}`;
    s.textContent = STATE_TEXT[state];
  }
}

/** The assistant's "typing" dots. */
export function typingRow() {
  return el("div", { class: "pw-msg pw-bot pw-typing" }, [
    el("div", { class: "pw-avatar", "aria-hidden": "true", text: "助" }),
    el("div", { class: "pw-body" }, [
      el("div", { class: "pw-bubble" }, [
        el("span", { class: "pw-sr", text: "助手正在输入" }),
        el("span", { class: "pw-dot", "aria-hidden": "true" }),
        el("span", { class: "pw-dot", "aria-hidden": "true" }),
        el("span", { class: "pw-dot", "aria-hidden": "true" }),
      ]),
    ]),
  ]);
}

/** @param {string} number */
function ticketCard(number) {
  const label = el("span", { class: "pw-copied", "aria-live": "polite" });
  const btn = el("button", { type: "button", class: "pw-copy", "aria-label": `复制工单号 ${number}`, text: "复制" });
  btn.addEventListener("click", () => {
    copyText(number).then(
      () => {
        btn.textContent = "已复制";
        label.textContent = "工单号已复制";
        setTimeout(() => {
          btn.textContent = "复制";
          label.textContent = "";
        }, 2000);
      },
      () => {
        label.textContent = "复制失败，请长按工单号手动复制";
      }
    );
  });
  return el("div", { class: "pw-ticket", role: "group", "aria-label": `工单号 ${number}` }, [
    el("span", { class: "pw-ticket-label", text: "工单号" }),
    el("span", { class: "pw-ticket-no", text: number }),
    btn,
    label,
  ]);
}

/**
 * Five stars after a handoff ended or a ticket was resolved; the answer once rated.
 * @param {{ subject: string, value?: number }} rating the entry's (the value is stored in it)
 * @param {MessageHooks} hooks
 */
function ratingCard(rating, hooks) {
  const card = el("div", { class: "pw-rating", role: "group", "aria-label": "服务评价" });
  const done = (/** @type {number} */ value) => {
    card.replaceChildren(el("span", { class: "pw-rating-done", text: `感谢您的评价：${value} 分（${RATING_LABELS[value - 1]}）` }));
  };
  if (rating.value) {
    done(rating.value);
    return card;
  }
  const status = el("span", { class: "pw-rating-error", role: "alert" });
  const stars = el(
    "div",
    { class: "pw-stars" },
    [1, 2, 3, 4, 5].map((n) =>
      el("button", {
        type: "button",
        class: "pw-star",
        text: "★",
        "aria-label": `${n} 分 ${RATING_LABELS[n - 1]}`,
        title: RATING_LABELS[n - 1],
        onclick: () => {
          const buttons = buttonsOf(stars);
          buttons.forEach((b) => (b.disabled = true));
          hooks
            .rate(rating.subject, n)
            .then((r) => {
              if (r.status === 200 && r.json) {
                rating.value = r.json.rating;
                hooks.save();
                done(r.json.rating);
              } else {
                status.textContent = chinese(r.json && r.json.message) || "评价没有提交成功，请稍后再试";
                buttons.forEach((b) => (b.disabled = false));
              }
            })
            .catch(() => {
              status.textContent = "网络不太稳定，评价没有提交，请再点一次";
              buttons.forEach((b) => (b.disabled = false));
            });
        },
      })
    )
  );
  card.appendChild(el("span", { class: "pw-rating-q", text: "这次服务您满意吗？" }));
  card.appendChild(stars);
  card.appendChild(status);
  return card;
}

/**
 * @param {{ title?: string, payload?: string }[]} buttons
 * @param {Entry} entry
 * @param {HTMLElement} body
 * @param {MessageHooks} hooks
 */
function renderButtons(buttons, entry, body, hooks) {
  const group = el("div", { class: "pw-buttons", role: "group", "aria-label": "可选回复" });
  const used = entry.used !== undefined && entry.used !== null;
  buttons.forEach((b, i) => {
    const title = String(b.title || b.payload || "");
    const payload = String(b.payload || b.title || "");
    const btn = el("button", { type: "button", class: "pw-btn", text: title, disabled: used });
    if (used && entry.used === i) btn.classList.add("pw-chosen");
    btn.addEventListener("click", () => {
      if (hooks.isBusy() || group.dataset.used) return;
      group.dataset.used = "1";
      buttonsOf(group).forEach((x) => (x.disabled = true));
      btn.classList.add("pw-chosen");
      entry.used = i;
      hooks.save();
      // The title goes with the payload: the server accepts it only for a button it offered.
      hooks.send(payload, b.title ? title : null);
      hooks.chosen();
    });
    group.appendChild(btn);
  });
  const meta = body.querySelector(".pw-msgmeta");
  body.insertBefore(group, meta || null);
}
