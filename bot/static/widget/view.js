// @ts-check
// What the merchant sees: the panel (or the full page) in a shadow root, so the host page's CSS and
// ours cannot affect each other, with its launcher, header and 转人工 banner; it puts together the
// transcript (messages.js rows in the log of scroll.js) and the composer (composer.js).

import { ICON_CHAT, ICON_CLOSE, el } from "./dom.js";
import { Composer } from "./composer.js";
import { renderEntry, showState, typingRow } from "./messages.js";
import { LogScroller } from "./scroll.js";
import { randomHex } from "./transport.js";

/** @typedef {import("./config.js").Config} Config */
/** @typedef {import("./store.js").Entry} Entry */
/** @typedef {import("./transport.js").Reply} Reply */
/** @typedef {import("./messages.js").MessageHooks} MessageHooks */
/** @typedef {import("./messages.js").Row} Row */

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
    this.scroller = new LogScroller();
    this.bannerText = el("span", { class: "pw-banner-text" });
    this.banner = el("div", { class: "pw-banner", role: "status", hidden: true }, [
      el("span", { class: "pw-banner-dot", "aria-hidden": "true" }),
      this.bannerText,
    ]);
    this.composer = new Composer(maxChars, uid, {
      send: (text, title) => this.actions.send(text, title),
      sendPhoto: (file) => this.actions.sendPhoto(file),
      isBusy: () => this.busy,
      scroller: this.scroller,
    });
    /** @type {MessageHooks} */
    this.messageHooks = {
      send: (text, title) => this.actions.send(text, title),
      rate: (subject, rating) => this.actions.rate(subject, rating),
      save: () => this.actions.save(),
      isBusy: () => this.busy,
      chosen: () => this.composer.focusOnDesktop(), // the clicked button is disabled now
    };

    const header = el("header", { class: "pw-header" }, [
      el("div", { class: "pw-avatar pw-avatar-head", "aria-hidden": "true", text: "助" }),
      el("div", { class: "pw-titles" }, [
        el("h2", { class: "pw-title", id: `pw-title-${uid}`, text: this.config.title }),
        el("p", { class: "pw-subtitle", text: this.config.subtitle }),
      ]),
    ]);

    const logWrap = el("div", { class: "pw-logwrap" }, [this.scroller.log, this.scroller.pill]);
    this.panel = el("section", { class: "pw-panel", "aria-labelledby": `pw-title-${uid}`, id: `pw-panel-${uid}` }, [
      header,
      this.banner,
      logWrap,
      this.composer.form,
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

    if (mode === "page") this.composer.focusOnDesktop(); // desktop only: on phones focus would pop the keyboard
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
    const first = this.scroller.pendingRow;
    this.scroller.pendingRow = null;
    if (first) this.scroller.reveal(first);
    else this.scroller.scrollToEnd();
    this.composer.input.focus();
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
    this.scroller.scrollToEnd();
  }

  /**
   * Re-render from storage (another tab of this site added to the conversation).
   * @param {Entry[]} entries
   * @param {boolean} handoff
   * @param {string} notice
   */
  reload(entries, handoff, notice) {
    const atEnd = this.scroller.atEnd();
    this.scroller.log.replaceChildren();
    this.typing = null;
    this.restore(entries, handoff, notice);
    if (!atEnd) this.scroller.pill.hidden = false;
  }

  /**
   * Adds one message row, built from its persisted entry, to the log.
   * @param {Entry} entry
   * @returns {Row}
   */
  render(entry) {
    const row = renderEntry(entry, this.messageHooks);
    this.scroller.log.appendChild(row);
    return row;
  }

  /**
   * Adds messages (entries) to the transcript and shows them the way a reader expects.
   * @param {Entry[]} entries
   * @param {{ own?: boolean }} [opts] own: the merchant's own message
   * @returns {Row[]}
   */
  addEntries(entries, opts = {}) {
    if (!entries.length) return [];
    const scroller = this.scroller;
    const wasAtEnd = scroller.atEnd(); // measured before anything is added
    const rows = entries.map((entry) => {
      this.actions.remember(entry);
      return this.render(entry);
    });
    // The merchant's own message always shows; a reply or a staff message moves the view only
    // when the merchant was at the end, otherwise the "新消息 ↓" pill offers to go there.
    if (!this.isShowing()) scroller.markPending(rows[0]); // shown from its top when the panel opens
    else if (opts.own || wasAtEnd) scroller.reveal(rows[0]);
    else scroller.markPending(rows[0]);
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
    this.scroller.log.appendChild(row);
    this.scroller.reveal(row);
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
    showState(row, state);
  }

  /**
   * 转人工: the server's notice as a banner, photos allowed, quick topics out of the way.
   * @param {boolean} on
   * @param {string} notice the server's handoff_notice, when a person will answer ("" if it sent none)
   */
  showHandoff(on, notice) {
    this.banner.hidden = !on;
    this.bannerText.textContent = notice || "已转人工客服";
    this.composer.showHandoff(on);
  }

  /** @param {boolean} busy the assistant is working on the merchant's message */
  setBusy(busy) {
    this.busy = busy;
    const log = this.scroller.log;
    if (busy && !this.typing) {
      this.typing = typingRow();
      const atEnd = this.scroller.atEnd();
      log.appendChild(this.typing);
      if (atEnd) this.scroller.scrollToEnd();
    } else if (!busy && this.typing) {
      this.typing.remove();
      this.typing = null;
    }
    log.setAttribute("aria-busy", busy ? "true" : "false");
    this.composer.setBusy(busy);
  }
}
