// @ts-check
// The composer: the input with its character count and limit, Enter to send (never while an IME is
// composing), the quick-question chips, and the photo button that shows during 转人工.

import { ICON_PHOTO, ICON_SEND, buttonsOf, el } from "./dom.js";

/** @typedef {import("./scroll.js").LogScroller} LogScroller */

const QUICK = ["刷卡机怎么激活", "打印机不打单", "钱什么时候到账", "转人工"];
// Desktop (mouse): moving focus into the input is helpful; on phones it would pop the keyboard up.
const FINE_POINTER = !!(window.matchMedia && window.matchMedia("(pointer: fine)").matches);

/** @param {string} s code points, like Python's len() on the server */
const charCount = (s) => Array.from(s).length;

/**
 * What the composer asks of the view.
 * @typedef {object} ComposerHooks
 * @property {(text: string, title: string | null) => void} send a message (a chip's text or what was typed)
 * @property {(file: File) => void} sendPhoto
 * @property {() => boolean} isBusy the assistant is working on the merchant's message
 * @property {LogScroller} scroller kept at the end while the input grows
 */

export class Composer {
  /**
   * @param {number} maxChars
   * @param {string} uid makes the ids of this widget's elements unique on the page
   * @param {ComposerHooks} hooks
   */
  constructor(maxChars, uid, hooks) {
    this.maxChars = maxChars;
    this.hooks = hooks;
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
      if (f) this.hooks.sendPhoto(f);
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
            if (!this.hooks.isBusy()) this.hooks.send(q, null);
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

    this.input.addEventListener("input", () => {
      this.refresh();
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
  }

  /** Focus the input on desktop only: on phones focus would pop the keyboard up. */
  focusOnDesktop() {
    if (FINE_POINTER) this.input.focus({ preventScroll: true });
  }

  /** The count, the over-the-limit hint and whether the send button works. */
  refresh() {
    const max = this.maxChars;
    const value = this.input.value;
    const n = charCount(value);
    const over = charCount(value.trim()) > max;
    this.counter.textContent = `${n}/${max}`;
    this.counter.classList.toggle("pw-over", over);
    this.hint.classList.toggle("pw-over", over);
    this.hint.textContent = over ? `最多 ${max} 字，已超出 ${charCount(value.trim()) - max} 字，请删减后再发送` : "";
    this.input.setAttribute("aria-invalid", over ? "true" : "false");
    this.sendBtn.disabled = this.hooks.isBusy() || !value.trim() || over;
  }

  autosize() {
    const t = this.input;
    const scroller = this.hooks.scroller;
    const atEnd = scroller.atEnd();
    t.style.height = "auto";
    t.style.height = `${Math.min(t.scrollHeight + 2, 140)}px`;
    if (atEnd) scroller.scrollToEnd(); // a growing input must not hide the latest reply
  }

  submit() {
    const text = this.input.value.trim();
    if (!text || this.hooks.isBusy() || charCount(text) > this.maxChars) {
      this.refresh();
      return;
    }
    this.input.value = "";
    this.autosize();
    this.hooks.send(text, null);
  }

  /** @param {boolean} busy the assistant is working on the merchant's message */
  setBusy(busy) {
    buttonsOf(this.quick).forEach((b) => (b.disabled = busy));
    this.refresh();
  }

  /**
   * 转人工: photos allowed, the quick topics out of the way.
   * @param {boolean} on
   */
  showHandoff(on) {
    this.photoBtn.hidden = !on;
    this.quick.hidden = !!on;
  }
}
