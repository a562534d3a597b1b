// @ts-check
// The conversation: sending the merchant's messages and photos, the replies, the staff replies and
// notifications polled from GET /api/chat/updates (acknowledged once shown, never lost), the 转人工
// state, and other tabs of the same site that share the conversation (storage events).

import { chinese, el } from "./dom.js";
import { chime, drawImage, titleFlash } from "./media.js";
import { History, Store } from "./store.js";
import { Session } from "./transport.js";
import { ChatView } from "./view.js";

/** @typedef {import("./config.js").Config} Config */
/** @typedef {import("./config.js").Merchant} Merchant */
/** @typedef {import("./store.js").Entry} Entry */

const PHOTO_SIDE = 2560; // long side the photo is scaled to before upload (the server keeps at most this)
const THUMB_SIDE = 240; // the merchant's own copy of a photo, kept with the transcript
const POLL_MISSING_MS = 60000; // updates endpoint absent (404): look again much later
const POLL_MAX_BACKOFF_MS = 60000;

export class Chat {
  /** @param {Config} config */
  constructor(config) {
    this.config = config;
    const store = new Store(config.api);
    this.store = store;
    store.claimFor(config.owner);
    this.session = new Session(store, config.api, config.senderId);
    /** @type {Merchant | null} */
    this.merchant = config.merchant;
    this.history = new History(store);
    this.handoff = store.get("handoff") === "1";
    this.handoffNotice = store.get("handoff-notice") || "";
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.pollTimer = undefined;
    this.pollDelay = config.pollMs;
    this.polling = false;
    this.view = new ChatView(config, {
      send: (text, title) => this.send(text, title),
      sendPhoto: (file) => this.sendPhoto(file),
      rate: (subject, rating) => this.session.api("POST", "/api/chat/rating", (/** @type {string} */ sid) => ({ sender_id: sid, subject, rating })),
      remember: (entry) => {
        if (entry.uid) this.history.seen[entry.uid] = true;
        this.history.remember(entry);
      },
      save: () => this.history.save(),
    });
    this.session.onStartOver = (tell) => {
      if (this.handoff) this.setHandoff(false);
      if (tell && this.history.entries.length) {
        this.view.addEntries([{ kind: "system", text: "之前的对话已过期，已为您开始新的对话。", at: Date.now() }]);
      }
    };
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) {
        titleFlash.stop();
        this.pollSoon(0);
      }
    });
    window.addEventListener("focus", () => titleFlash.stop());
    // Another tab of the same site changed the conversation: follow it.
    window.addEventListener("storage", (e) => {
      const name = store.nameOf(e.key);
      if (name === null) return;
      if (name === "token") this.session.token = e.newValue;
      else if (name === "sender" && e.newValue) this.session.sender = e.newValue;
      else if (name === "history") this.reload();
      else if (name === "handoff" || name === "handoff-notice")
        this.setHandoff(store.get("handoff") === "1", store.get("handoff-notice") || "", true);
    });
    this.view.restore(this.history.entries, this.handoff, this.handoffNotice);
    this.startPolling();
  }

  /** Re-render from storage (another tab of this site added to the conversation). */
  reload() {
    this.history.load();
    this.view.reload(this.history.entries, this.handoff, this.handoffNotice);
  }

  /**
   * 转人工 on or off: the banner (with the server's notice), photos allowed, kept for a reload.
   * @param {boolean} on
   * @param {string} [notice] the server's handoff_notice (none: the last one stays)
   * @param {boolean} [fromStorage] another tab stored it already
   */
  setHandoff(on, notice, fromStorage) {
    this.handoff = !!on;
    if (notice) this.handoffNotice = notice;
    this.view.showHandoff(this.handoff, this.handoffNotice);
    if (fromStorage) return;
    if (on) this.store.set("handoff", "1");
    else this.store.remove("handoff");
    if (on && notice) this.store.set("handoff-notice", notice);
  }

  /**
   * The merchant's message (typed, a quick topic, or a button's payload with its title).
   * @param {string} text
   * @param {string | null} title
   */
  send(text, title) {
    /** @type {Entry} */
    const entry = { kind: "user", text: title || text, at: Date.now(), state: "sending" };
    const row = this.view.addEntries([entry], { own: true })[0];
    return this.transmit(text, title, entry, row, false);
  }

  /**
   * Sends (or sends again: the retry button, an identity refused) the message of `entry`.
   * @param {string} text
   * @param {string | null} title
   * @param {Entry} entry
   * @param {HTMLElement} row
   * @param {boolean} again
   * @returns {Promise<void>}
   */
  transmit(text, title, entry, row, again) {
    const view = this.view;
    if (again) view.setState(entry, row, "sending");
    this.store.set("active", "1");
    view.setBusy(true);
    const retry = () => {
      this.transmit(text, title, entry, row, true);
    };
    return this.session
      .api("POST", "/api/chat", (/** @type {string} */ sid) => {
        /** @type {Record<string, unknown>} */
        const body = { sender_id: sid, text };
        if (title) body.title = title;
        if (this.merchant) body.merchant = this.merchant;
        return body;
      })
      .then((r) => {
        const code = r.json && r.json.code;
        if (r.status === 401 && code && code.indexOf("merchant_identity") === 0 && this.merchant) {
          // The host page's signed identity is expired or wrong: send without it, tell the page.
          this.dropMerchant(code);
          return this.transmit(text, title, entry, row, true);
        }
        view.setBusy(false);
        this.handleReply(r.status, r.json, retry, entry, row);
      })
      .catch(() => {
        view.setBusy(false);
        view.setState(entry, row, "failed");
        view.notice("网络好像不太稳定，消息没有发出去。请检查网络后点“重新发送”。", retry);
      })
      .then(() => {
        this.pollSoon(this.pollDelay);
      });
  }

  /** @param {string} code why the server refused the identity */
  dropMerchant(code) {
    this.merchant = null;
    if (window.console) console.warn(`posbot: merchant identity refused (${code}); continuing without it`);
    window.dispatchEvent(new CustomEvent("posbot:merchant-identity-rejected", { detail: { code } }));
  }

  /**
   * @param {number} status
   * @param {any} json
   * @param {() => void} retry
   * @param {Entry} entry
   * @param {HTMLElement} row
   */
  handleReply(status, json, retry, entry, row) {
    const view = this.view;
    const messages = json && Array.isArray(json.messages) ? json.messages : null;
    if ((status === 200 || status === 503) && messages) {
      view.setState(entry, row, "sent"); // the server stored it (also when Rasa is down)
      const now = Date.now();
      /** @type {Entry[]} */
      const entries = messages
        .filter((/** @type {any} */ m) => m && (m.text || (m.buttons && m.buttons.length)))
        .map((/** @type {any} */ m) => {
          /** @type {Entry} */
          const e = { kind: "bot", text: m.text || "", at: now };
          if (m.buttons && m.buttons.length) {
            e.buttons = m.buttons.map((/** @type {any} */ b) => ({ title: b.title, payload: b.payload }));
          }
          if (m.tickets && m.tickets.length) e.tickets = m.tickets.slice();
          return e;
        });
      view.addEntries(entries);
      if (json.status === "handoff") this.setHandoff(true, json.handoff_notice);
      else if (json.status === "ok") this.setHandoff(false);
      return;
    }
    view.setState(entry, row, "failed");
    if (status === 422 && json && Array.isArray(json.detail)) {
      const msgs = json.detail.map((/** @type {any} */ d) => chinese(d && d.msg));
      view.notice(`消息没有发出去：${msgs.filter(Boolean).join("；")}`);
      return;
    }
    if (status === 413) {
      view.notice(`消息没有发出去：${chinese(json && json.message)}`);
      return;
    }
    if (status === 429 && json && json.code === "session_message_cap") {
      // The conversation's message cap: waiting a few seconds will not help, so no retry button.
      view.notice(chinese(json.message));
      return;
    }
    if (status === 429) {
      view.notice("您发得有点快，请稍等几秒再试。", retry);
      return;
    }
    if (status === 503 && json && json.code === "database_unavailable") {
      // Nothing was stored: the merchant sends the same message again with the retry button.
      view.notice(chinese(json.message), retry);
      return;
    }
    view.notice(`抱歉，服务暂时出了点问题（错误码 ${status}），请稍后再试。`, retry);
  }

  // --- photos during a handoff -----------------------------------------------------------

  /** @param {File} file */
  sendPhoto(file) {
    const view = this.view;
    /** @type {Entry} */
    const entry = { kind: "user", photoPending: true, at: Date.now(), state: "sending" };
    const row = view.addEntries([entry], { own: true })[0];
    Promise.all([drawImage(file, PHOTO_SIDE), drawImage(file, THUMB_SIDE)])
      .then(([big, thumb]) => {
        if (thumb) {
          entry.photo = thumb.toDataURL("image/jpeg", 0.7);
          const img = el("img", { class: "pw-photo", src: entry.photo, alt: "我发送的图片" });
          const bubble = row.querySelector(".pw-photo-bubble");
          if (bubble) bubble.replaceChildren(img);
          this.history.save();
        }
        // Phones take 5-12 MB photos: send a scaled JPEG when the browser can draw the file,
        // else the file itself (the server decides what it is).
        return big
          ? /** @type {Promise<Blob>} */ (new Promise((resolve) => big.toBlob((blob) => resolve(blob || file), "image/jpeg", 0.85)))
          : file;
      })
      .then((blob) =>
        this.session.api("POST", "/api/chat/photos", null, {
          query: (sid) => `sender_id=${encodeURIComponent(sid)}`,
          form: () => {
            const fd = new FormData();
            fd.append("file", blob, (file.name || "photo").replace(/\.[^.]*$/, "") + (blob === file ? "" : ".jpg"));
            return fd;
          },
        })
      )
      .then((r) => {
        if (r.status === 201) {
          view.setState(entry, row, "sent");
          return;
        }
        view.setState(entry, row, "failed");
        view.notice(`图片没有发出去：${chinese(r.json && r.json.message) || `错误码 ${r.status}`}`);
      })
      .catch(() => {
        view.setState(entry, row, "failed");
        view.notice("网络好像不太稳定，图片没有发出去，请稍后再试。");
      });
  }

  // --- staff replies and notifications -------------------------------------------------

  startPolling() {
    if (this.store.get("active") || this.history.entries.length) this.pollSoon(0);
  }

  /** @param {number} delay ms */
  pollSoon(delay) {
    if (!this.store.get("active") && !this.history.entries.length) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(() => this.poll(), delay);
  }

  // Keeps polling in a background tab too (browsers slow timers there to about once a minute).
  poll() {
    if (this.polling) return;
    this.polling = true;
    this.session
      .api("GET", "/api/chat/updates", null, { query: (sid) => `sender_id=${encodeURIComponent(sid)}` })
      .then((r) => {
        if (r.status === 404 || r.status === 405 || r.status === 501) {
          this.pollDelay = POLL_MISSING_MS; // not deployed (yet): check rarely, say nothing
          return;
        }
        if (r.status !== 200 || !r.json) throw new Error(`HTTP ${r.status}`);
        this.pollDelay = this.config.pollMs;
        this.showUpdates(r.json);
      })
      .catch(() => {
        this.pollDelay = Math.min(this.pollDelay * 2, POLL_MAX_BACKOFF_MS); // offline: back off quietly
      })
      .then(() => {
        this.polling = false;
        this.pollSoon(this.pollDelay);
      });
  }

  /** @param {any} json GET /api/chat/updates */
  showUpdates(json) {
    /** @type {string[]} */
    const ids = [];
    /** @type {Entry[]} */
    const entries = [];
    let fromStaff = false;
    (json.messages || []).forEach((/** @type {any} */ m) => {
      if (!m || !m.text) return;
      if (m.id) ids.push(m.id);
      if (m.id && this.history.seen[m.id]) return; // shown already (an acknowledgement got lost)
      const kind = m.from === "staff" ? "staff" : m.from === "bot" ? "bot" : "system";
      const at = Date.parse(m.created_at || "") || Date.now();
      /** @type {Entry} */
      const e = { kind, text: m.text, at, uid: m.id };
      if (m.author) e.author = m.author;
      if (m.tickets && m.tickets.length) e.tickets = m.tickets.slice();
      if (m.rating && m.rating.subject && !this.history.rated(m.rating.subject)) e.rating = { subject: m.rating.subject };
      if (kind === "staff") fromStaff = true;
      entries.push(e);
    });
    if (fromStaff) this.setHandoff(true, json.handoff_notice);
    this.view.addEntries(entries);
    if (typeof json.handoff === "boolean") this.setHandoff(json.handoff, json.handoff_notice);
    if (entries.length && (document.hidden || !document.hasFocus())) {
      titleFlash.start(fromStaff ? "客服回复了您" : "新消息");
      if (this.config.sound && fromStaff) chime();
    }
    if (ids.length) {
      // Shown and stored: now the server may forget them. A lost ack only means they come again.
      this.session.api("POST", "/api/chat/updates/ack", (/** @type {string} */ sid) => ({ sender_id: sid, ids })).catch(() => {});
    }
  }
}
