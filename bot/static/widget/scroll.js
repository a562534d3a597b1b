// @ts-check
// The transcript's scrolling: the log element, and the rules that keep the top of each new reply
// in view, with a "新消息 ↓" pill that offers the way to what arrived while the merchant reads
// further up.

import { el } from "./dom.js";

/** @typedef {import("./messages.js").Row} Row */

export class LogScroller {
  constructor() {
    /** @type {Row | null} first new row the merchant has not scrolled to yet */
    this.pendingRow = null;
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
  }

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
}
