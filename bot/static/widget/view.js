// @ts-check
// What the merchant sees: the panel (or the full page) in a shadow root, so the host page's CSS and
// ours cannot affect each other; the transcript, the composer, the 转人工 banner, and the scrolling
// that keeps the top of each new reply in view.

import { ICON_CHAT, ICON_CLOSE, ICON_PHOTO, ICON_SEND, chinese, el, fillText, formatTime } from "./dom.js";
import { copyText } from "./media.js";
import { randomHex } from "./transport.js";

/** @typedef {import("./config.js").Config} Config */
/** @typedef {import("./store.js").Entry} Entry */
/** @typedef {import("./transport.js").Reply} Reply */
/** @typedef {HTMLDivElement & { _entry?: Entry }} Row */

/**
 * What the view asks of the chat (chat.js).
 * @typedef {object} Actions
 * @property {(text: string, title: string | null) => void} send a message (a button's payload with its title)
 * @property {(file: File) => void} sendPhoto
 * @property {(subject: string, rating: number) => Promise<Reply>} rate
 * @property {(entry: Entry) => void} remember a new entry of the transcript
 * @property {() => void} save the transcript changed (a state, a click, a rating)
 */

const WELCOME =
  "您好！我是 POS 商户助手，很高兴为您服务～\n" + "刷卡机、收银机的开通激活、到账结算、打印和刷卡故障，都可以直接问我。";
const QUICK = ["刷卡机怎么激活", "打印机不打单", "钱什么时候到账", "转人工"];
const RATING_LABELS = ["很不满意", "不满意", "一般", "满意", "非常满意"];
/** @type {Record<string, string>} */
const SPEAKER = { user: "我：", bot: "助手：", staff: "人工客服：", system: "通知：" };
/** @type {Record<string, string>} */
const STATE_TEXT = { sending: "发送中…", sent: "已送达", failed: "未发送" };
// Desktop (mouse): moving focus into the input is helpful; on phones it would pop the keyboard up.
const FINE_POINTER = !!(window.matchMedia && window.matchMedia("(pointer: fine)").matches);

/** @param {string} s code points, like Python's len() on the server */
const charCount = (s) => Array.from(s).length;

/** @param {ParentNode} root */
const buttonsOf = (root) => root.querySelectorAll("button");

export class ChatView {
  /**
   * @param {Config} config
   * @param {Actions} actions
   */
  constructor(config, actions) {
    this.config = config;
    this.actions = actions;
    this.busy = false;
    this.unread = 0;
    /** @type {Row | null} first new row the merchant has not scrolled to yet */
    this.pendingRow = null;
    /** @type {HTMLDivElement | null} */
    this.typing = null;

    const { mode, maxChars } = config;
    const host = el("div", { id: mode === "page" ? "posbot-chat" : "posbot-widget", class: `posbot-host posbot-${mode}` });
    const target = mode === "page" && config.target ? document.querySelector(config.target) : null;
    (target || document.body).appendChild(host);
    const root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    this.host = host;

    const wrap = el("div", { class: `pw pw-${mode}`, style: "visibility:hidden" });
    const link = el("link", { rel: "stylesheet", href: this.config.cssUrl });
    const show = () => {
      wrap.style.visibility = "";
    };
    link.addEventListener("load", show);
    link.addEventListener("error", show);
    setTimeout(show, 3000); // never stay invisible if the load event is lost
    root.appendChild(link);
    root.appendChild(wrap);

    const uid = randomHex(4);
    this.log = el("div", {
      class: "pw-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": "对话内容",
      tabindex: "0",
    });
    this.log.addEventListener("scroll", () => this.onScroll());
    this.pill = el("button", {
      type: "button",
      class: "pw-pill",
      hidden: true,
      text: "新消息 ↓",
      onclick: () => this.revealPending(),
    });
    this.bannerText = el("span", { class: "pw-banner-text" });
    this.banner = el("div", { class: "pw-banner", role: "status", hidden: true }, [
      el("span", { class: "pw-banner-dot", "aria-hidden": "true" }),
      this.bannerText,
    ]);
    this.input = el("textarea", {
      id: `pw-input-${uid}`,
      class: "pw-input",
      rows: "1",
      placeholder: "请输入您的问题…",
      enterkeyhint: "send",
      autocomplete: "off",
      "aria-describedby": `pw-count-${uid} pw-hint-${uid}`,
    });
    this.sendBtn = el("button", { type: "submit", class: "pw-send", "aria-label": "发送", disabled: true });
    this.sendBtn.innerHTML = `${ICON_SEND}<span class="pw-send-text">发送</span>`; // static markup, no user text
    const fileInput = el("input", { type: "file", accept: "image/*", class: "pw-sr", tabindex: "-1", "aria-hidden": "true" });
    fileInput.addEventListener("change", () => {
      const f = fileInput.files && fileInput.files[0];
      fileInput.value = "";
      if (f) this.actions.sendPhoto(f);
    });
    this.photoBtn = el("button", {
      type: "button",
      class: "pw-attach",
      "aria-label": "发送图片给客服",
      title: "发送图片给客服",
      hidden: true,
      onclick: () => fileInput.click(),
    });
    this.photoBtn.innerHTML = ICON_PHOTO; // static markup
    this.counter = el("span", { id: `pw-count-${uid}`, class: "pw-counter", text: `0/${maxChars}` });
    this.hint = el("span", { id: `pw-hint-${uid}`, class: "pw-hint", "aria-live": "polite" });
    this.quick = el(
      "div",
      { class: "pw-quick", role: "group", "aria-label": "常见问题" },
      QUICK.map((q) =>
        el("button", {
          type: "button",
          class: "pw-chip",
          text: q,
          onclick: () => {
            if (!this.busy) this.actions.send(q, null);
          },
        })
      )
    );
    this.form = el("form", { class: "pw-composer", novalidate: true }, [
      this.quick,
      el("label", { class: "pw-sr", for: `pw-input-${uid}`, text: "输入您的问题" }),
      el("div", { class: "pw-inputrow" }, [this.photoBtn, fileInput, this.input, this.sendBtn]),
      el("div", { class: "pw-meta" }, [this.hint, this.counter]),
    ]);

    const header = el("header", { class: "pw-header" }, [
      el("div", { class: "pw-avatar pw-avatar-head", "aria-hidden": "true", text: "助" }),
      el("div", { class: "pw-titles" }, [
        el("h2", { class: "pw-title", id: `pw-title-${uid}`, text: this.config.title }),
        el("p", { class: "pw-subtitle", text: this.config.subtitle }),
      ]),
    ]);

    const logWrap = el("div", { class: "pw-logwrap" }, [this.log, this.pill]);
    this.panel = el("section", { class: "pw-panel", "aria-labelledby": `pw-title-${uid}`, id: `pw-panel-${uid}` }, [
      header,
      this.banner,
      logWrap,
      this.form,
    ]);

    /** @type {HTMLSpanElement | null} */
    this.badge = null;
    /** @type {HTMLButtonElement | null} */
    this.launcher = null;
    if (mode === "float") {
      const panel = this.panel;
      const closeBtn = el("button", {
        type: "button",
        class: "pw-close",
        "aria-label": "收起对话",
        onclick: () => this.close(true),
      });
      closeBtn.innerHTML = ICON_CLOSE;
      header.appendChild(closeBtn);
      panel.setAttribute("role", "dialog");
      panel.hidden = true;
      this.badge = el("span", { class: "pw-badge", hidden: true, "aria-hidden": "true" });
      this.launcher = el(
        "button",
        {
          type: "button",
          class: "pw-launcher",
          "aria-label": "打开在线客服",
          "aria-expanded": "false",
          "aria-controls": `pw-panel-${uid}`,
          onclick: () => (panel.hidden ? this.open() : this.close(true)),
        },
        [this.badge]
      );
      this.launcher.insertAdjacentHTML("afterbegin", ICON_CHAT);
      wrap.appendChild(panel);
      wrap.appendChild(this.launcher);
      panel.addEventListener("keydown", (e) => {
        if (e.key === "Escape") this.close(true);
      });
      document.addEventListener("keydown", (e) => {
        // focus may have fallen back to the page (e.g. the clicked button got disabled)
        const a = document.activeElement;
        if (e.key === "Escape" && !panel.hidden && (!a || a === document.body || a === host)) this.close(true);
      });
    } else {
      wrap.appendChild(this.panel);
    }

    this.input.addEventListener("input", () => {
      this.refreshComposer();
      this.autosize();
    });
    this.input.addEventListener("keydown", (e) => {
      // Enter sends, Shift+Enter is a new line; never send while an IME is composing (拼音 input).
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        this.submit();
      }
    });
    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });

    if (mode === "page" && FINE_POINTER) {
      this.input.focus({ preventScroll: true }); // desktop only: on phones focus would pop the keyboard
    }
    if (mode === "float" && this.config.open) this.open();
  }

  // --- opening and closing (floating mode) ---------------------------------------------

  open() {
    if (!this.launcher || !this.badge) return;
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.launcher.setAttribute("aria-label", "收起在线客服");
    this.host.classList.add("pw-is-open");
    this.unread = 0;
    this.badge.hidden = true;
    const first = this.pendingRow;
    this.pendingRow = null;
    if (first) this.reveal(first);
    else this.scrollToEnd();
    this.input.focus();
  }

  /** @param {boolean} returnFocus to the launcher (the merchant closed it) */
  close(returnFocus) {
    if (!this.launcher) return;
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.setAttribute("aria-label", "打开在线客服");
    this.host.classList.remove("pw-is-open");
    if (returnFocus) this.launcher.focus();
  }

  isShowing() {
    return this.config.mode === "page" || !this.panel.hidden;
  }

  // --- composer ------------------------------------------------------------------------

  refreshComposer() {
    const max = this.config.maxChars;
    const value = this.input.value;
    const n = charCount(value);
    const over = charCount(value.trim()) > max;
    this.counter.textContent = `${n}/${max}`;
    this.counter.classList.toggle("pw-over", over);
    this.hint.classList.toggle("pw-over", over);
    this.hint.textContent = over ? `最多 ${max} 字，已超出 ${charCount(value.trim()) - max} 字，请删减后再发送` : "";
    this.input.setAttribute("aria-invalid", over ? "true" : "false");
    this.sendBtn.disabled = this.busy || !value.trim() || over;
  }

  autosize() {
    const t = this.input;
    const atEnd = this.atEnd();
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight + 2, 140)}px`;
    if (atEnd) this.scrollToEnd(); // a growing input must not hide the latest reply
  }

  submit() {
    const text = this.input.value.trim();
    if (!text || this.busy || charCount(text) > this.config.maxChars) {
      this.refreshComposer();
      return;
    }
    this.input.value = "";
    this.autosize();
    this.actions.send(text, null);
  }

  // --- the transcript ----------------------------------------------------------------------

  /**
   * The welcome, then the stored transcript and 转人工 state, at its end.
   * @param {Entry[]} entries
   * @param {boolean} handoff
   * @param {string} notice
   */
  restore(entries, handoff, notice) {
    this.render({ kind: "bot", text: WELCOME, welcome: true });
    entries.forEach((entry) => this.render(entry));
    this.showHandoff(handoff, notice);
    this.scrollToEnd();
  }

  /**
   * Re-render from storage (another tab of this site added to the conversation).
   * @param {Entry[]} entries
   * @param {boolean} handoff
   * @param {string} notice
   */
  reload(entries, handoff, notice) {
    const atEnd = this.atEnd();
    this.log.replaceChildren();
    this.typing = null;
    this.restore(entries, handoff, notice);
    if (!atEnd) this.pill.hidden = false;
  }

  /**
   * Builds one message row from its persisted entry and adds it to the log.
   * @param {Entry} entry
   * @returns {Row}
   */
  render(entry) {
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
      body.appendChild(this.ticketCard(number));
    });
    row.appendChild(body);
    if (entry.buttons && entry.buttons.length) this.renderButtons(entry.buttons, entry, body);
    if (entry.rating) body.appendChild(this.ratingCard(entry.rating));
    if (!entry.welcome) {
      const meta = el("div", { class: "pw-msgmeta" });
      if (entry.at) meta.appendChild(el("time", { class: "pw-time", datetime: new Date(entry.at).toISOString(), text: formatTime(entry.at) }));
      if (kind === "user" && entry.state) {
        meta.appendChild(el("span", { class: `pw-state pw-state-${entry.state}`, text: STATE_TEXT[entry.state] || "" }));
      }
      if (meta.childNodes.length) body.appendChild(meta);
    }
    row._entry = entry;
    this.log.appendChild(row);
    return row;
  }

  /** @param {string} number */
  ticketCard(number) {
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
   */
  ratingCard(rating) {
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
            this.actions
              .rate(rating.subject, n)
              .then((r) => {
                if (r.status === 200 && r.json) {
                  rating.value = r.json.rating;
                  this.actions.save();
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
   */
  renderButtons(buttons, entry, body) {
    const group = el("div", { class: "pw-buttons", role: "group", "aria-label": "可选回复" });
    const used = entry.used !== undefined && entry.used !== null;
    buttons.forEach((b, i) => {
      const title = String(b.title || b.payload || "");
      const payload = String(b.payload || b.title || "");
      const btn = el("button", { type: "button", class: "pw-btn", text: title, disabled: used });
      if (used && entry.used === i) btn.classList.add("pw-chosen");
      btn.addEventListener("click", () => {
        if (this.busy || group.dataset.used) return;
        group.dataset.used = "1";
        buttonsOf(group).forEach((x) => (x.disabled = true));
        btn.classList.add("pw-chosen");
        entry.used = i;
        this.actions.save();
        // The title goes with the payload: the server accepts it only for a button it offered.
        this.actions.send(payload, b.title ? title : null);
        if (FINE_POINTER) this.input.focus({ preventScroll: true }); // the clicked button is disabled now
      });
      group.appendChild(btn);
    });
    const meta = body.querySelector(".pw-msgmeta");
    body.insertBefore(group, meta || null);
  }

  /**
   * Adds messages (entries) to the transcript and shows them the way a reader expects.
   * @param {Entry[]} entries
   * @param {{ own?: boolean }} [opts] own: the merchant's own message
   * @returns {Row[]}
   */
  addEntries(entries, opts = {}) {
    if (!entries.length) return [];
    const wasAtEnd = this.atEnd(); // measured before anything is added
    const rows = entries.map((entry) => {
      this.actions.remember(entry);
      return this.render(entry);
    });
    // The merchant's own message always shows; a reply or a staff message moves the view only
    // when the merchant was at the end, otherwise the "新消息 ↓" pill offers to go there.
    if (!this.isShowing()) this.markPending(rows[0]); // shown from its top when the panel opens
    else if (opts.own || wasAtEnd) this.reveal(rows[0]);
    else this.markPending(rows[0]);
    if (!this.isShowing() && !opts.own && this.badge && this.launcher) {
      this.unread += rows.length;
      this.badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
      this.badge.hidden = false;
      this.launcher.setAttribute("aria-label", `打开在线客服（${this.unread} 条新消息）`);
    }
    return rows;
  }

  /**
   * A notice that is not part of the conversation (errors); optional retry button.
   * @param {string} text
   * @param {() => void} [retry]
   */
  notice(text, retry) {
    const body = el("div", { class: "pw-body" }, [el("div", { class: "pw-bubble", text })]);
    const row = el("div", { class: "pw-msg pw-system pw-error", role: "alert" }, [body]);
    if (retry) {
      const btn = el("button", {
        type: "button",
        class: "pw-btn pw-retry",
        text: "重新发送",
        onclick: () => {
          if (this.busy) return;
          row.remove();
          retry();
        },
      });
      body.appendChild(btn);
    }
    this.log.appendChild(row);
    this.reveal(row);
  }

  /**
   * The delivery state of the merchant's message (发送中… / 已送达 / 未发送).
   * @param {Entry} entry
   * @param {HTMLElement | null} row
   * @param {"sending" | "sent" | "failed"} state
   */
  setState(entry, row, state) {
    entry.state = state;
    this.actions.save();
    const s = row && row.querySelector(".pw-state");
    if (s) {
      s.className = `pw-state pw-state-${state}`;
      s.textContent = STATE_TEXT[state];
    }
  }

  /**
   * 转人工: the server's notice as a banner, photos allowed, quick topics out of the way.
   * @param {boolean} on
   * @param {string} notice the server's handoff_notice, when a person will answer ("" if it sent none)
   */
  showHandoff(on, notice) {
    this.banner.hidden = !on;
    this.bannerText.textContent = notice || "已转人工客服";
    this.photoBtn.hidden = !on;
    this.quick.hidden = !!on;
  }

  // --- scrolling: the top of each new reply stays in view ------------------------------------

  /** Is the end of the conversation (the last message's bottom) on screen? */
  atEnd() {
    const log = this.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 32;
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
    this.pendingRow = null;
    this.pill.hidden = true;
  }

  /**
   * Scroll so that `row` and what follows show; a reply taller than the log shows its top.
   * @param {HTMLElement} row
   */
  reveal(row) {
    const log = this.log;
    const top = row.offsetTop - 8;
    if (log.scrollHeight - top <= log.clientHeight) {
      this.scrollToEnd();
      return;
    }
    log.scrollTop = top;
    // The rest of the reply is below the fold: the pill takes the merchant there.
    this.pendingRow = null;
    this.pill.hidden = this.atEnd();
  }

  /** @param {Row} row */
  markPending(row) {
    if (!this.pendingRow) this.pendingRow = row;
    this.pill.hidden = false;
  }

  revealPending() {
    const row = this.pendingRow;
    const log = this.log;
    if (row && row.offsetTop > log.scrollTop + 8) this.reveal(row);
    else this.scrollToEnd();
    this.pendingRow = null;
    if (this.atEnd()) this.pill.hidden = true;
  }

  onScroll() {
    const log = this.log;
    if (this.atEnd()) {
      this.pendingRow = null;
      this.pill.hidden = true;
    } else if (this.pendingRow && this.pendingRow.offsetTop < log.scrollTop + log.clientHeight - 24) {
      this.pendingRow = null; // the merchant scrolled to the new message themselves
    }
  }

  /** @param {boolean} busy the assistant is working on the merchant's message */
  setBusy(busy) {
    this.busy = busy;
    if (busy && !this.typing) {
      this.typing = el("div", { class: "pw-msg pw-bot pw-typing" }, [
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
      const atEnd = this.atEnd();
      this.log.appendChild(this.typing);
      if (atEnd) this.scrollToEnd();
    } else if (!busy && this.typing) {
      this.typing.remove();
      this.typing = null;
    }
    this.log.setAttribute("aria-busy", busy ? "true" : "false");
    buttonsOf(this.quick).forEach((b) => (b.disabled = busy));
    this.refreshComposer();
  }
}

