/*
 * POS 商户助手 chat widget: plain JavaScript, no build step, no dependencies.
 *
 * Embed on any site (floating bubble in the bottom-right corner):
 *   <script src="https://host/static/widget.js" data-api="https://host"></script>
 * Full-page mode (what / uses):
 *   <div id="chat"></div>
 *   <script src="/static/widget.js" data-mode="page" data-target="#chat"></script>
 *
 * It is a classic script on purpose: only classic scripts get document.currentScript,
 * which is where the data-* options are read from. The UI lives in a shadow root so
 * the host page's CSS and ours cannot affect each other. See docs/widget.md.
 *
 * Every server-provided string is inserted with textContent (never innerHTML): it is
 * escaped by construction, and CSS white-space: pre-wrap keeps line breaks and numbered steps.
 *
 * The conversation belongs to this browser: POST /api/chat/session gives a signed token for
 * the sender id, sent as "Authorization: Bearer" with every request and renewed by itself when
 * it expires. Staff replies and notifications are acknowledged once shown, never lost.
 */
(function () {
  "use strict";

  if (window.PosbotWidget) return; // included twice: keep the first one

  var script = document.currentScript;
  var scriptUrl = new URL((script && script.src) || "/static/widget.js", document.baseURI);
  var data = (script && script.dataset) || {};

  var API = (data.api || scriptUrl.origin).replace(/\/+$/, "");
  var CSS_URL = data.css || new URL("widget.css", scriptUrl).href;
  var MODE = data.mode === "page" ? "page" : "float";
  var TITLE = data.title || "POS 商户助手";
  var SUBTITLE = data.subtitle || "刷卡机、收银机问题，随时问我";
  var MAX_CHARS = parseInt(data.maxChars, 10) > 0 ? parseInt(data.maxChars, 10) : 1000;
  var POLL_MS = (parseFloat(data.poll) > 0 ? parseFloat(data.poll) : 4) * 1000;
  var SOUND = data.sound === "true";
  var PHOTO_SIDE = 2560; // long side the photo is scaled to before upload (the server keeps at most this)
  var THUMB_SIDE = 240; // the merchant's own copy of a photo, kept with the transcript
  var POLL_MISSING_MS = 60000; // updates endpoint absent (404): look again much later
  var POLL_MAX_BACKOFF_MS = 60000;
  var HISTORY_MAX = 80;
  var SENDER_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;
  // Desktop (mouse): moving focus into the input is helpful; on phones it would pop the keyboard up.
  var FINE_POINTER = !!(window.matchMedia && window.matchMedia("(pointer: fine)").matches);

  var WELCOME =
    "您好！我是 POS 商户助手，很高兴为您服务～\n" +
    "刷卡机、收银机的开通激活、到账结算、打印和刷卡故障，都可以直接问我。";
  var QUICK = ["刷卡机怎么激活", "打印机不打单", "钱什么时候到账", "转人工"];
  var RATING_LABELS = ["很不满意", "不满意", "一般", "满意", "非常满意"];

  // --- storage (localStorage may be blocked, e.g. third-party iframes): fall back to memory ---
  var memoryStore = {};
  var store = {
    get: function (k) {
      try {
        return window.localStorage.getItem(k);
      } catch (e) {
        return Object.prototype.hasOwnProperty.call(memoryStore, k) ? memoryStore[k] : null;
      }
    },
    set: function (k, v) {
      try {
        window.localStorage.setItem(k, v);
      } catch (e) {
        memoryStore[k] = v;
      }
    },
    remove: function (k) {
      try {
        window.localStorage.removeItem(k);
      } catch (e) {
        delete memoryStore[k];
      }
    },
  };
  var KEY = "posbot:" + API + ":";

  function randomHex(bytes) {
    var a = new Uint8Array(bytes);
    (window.crypto || window.msCrypto).getRandomValues(a);
    return Array.prototype.map
      .call(a, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
  }

  function newSenderId() {
    return "w" + randomHex(12);
  }

  function loadHistory() {
    try {
      var h = JSON.parse(store.get(KEY + "history") || "[]");
      return Array.isArray(h) ? h : [];
    } catch (e) {
      return [];
    }
  }

  /** The merchant identity the host page signed (data-merchant-id, -expires, -signature), or null. */
  function merchantFromData() {
    if (!data.merchantId || !data.merchantSignature) return null;
    return { id: String(data.merchantId), expires: parseInt(data.merchantExpires, 10), signature: String(data.merchantSignature) };
  }

  function charCount(s) {
    return Array.from(s).length; // code points, like Python's len() on the server
  }

  /** The Chinese half of a bilingual "中文 / English" message. */
  function chinese(msg) {
    var s = String(msg || "");
    var i = s.indexOf(" / ");
    return i > 0 ? s.slice(0, i) : s;
  }

  function escapeRegExp(s) {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  /** "14:05" today, "11月27日 14:05" on another day. */
  function formatTime(ms) {
    var d = new Date(ms);
    if (isNaN(d.getTime())) return "";
    var now = new Date();
    var hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
    if (d.toDateString() === now.toDateString()) return hm;
    var date = d.getMonth() + 1 + "月" + d.getDate() + "日 " + hm;
    return d.getFullYear() === now.getFullYear() ? date : d.getFullYear() + "年" + date;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "text") node.textContent = v;
        else if (k === "class") node.className = v;
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
        else node.setAttribute(k, v === true ? "" : v);
      });
    }
    (children || []).forEach(function (c) {
      if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }

  /** Text with each ticket number in a no-wrap span (a phone must not break it at the hyphen). */
  function fillText(node, text, tickets) {
    if (!tickets || !tickets.length) {
      node.textContent = text;
      return;
    }
    var re = new RegExp("(" + tickets.map(escapeRegExp).join("|") + ")");
    text.split(re).forEach(function (part, i) {
      if (!part) return;
      node.appendChild(i % 2 ? el("span", { class: "pw-nowrap", text: part }) : document.createTextNode(part));
    });
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var t = el("textarea", { style: "position:fixed;top:-1000px;opacity:0", readonly: true });
      t.value = text;
      document.body.appendChild(t);
      t.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (e) {
        ok = false;
      }
      t.remove();
      ok ? resolve() : reject(new Error("copy failed"));
    });
  }

  var audioCtx = null;
  function chime() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      audioCtx = audioCtx || new Ctx();
      var osc = audioCtx.createOscillator();
      var gain = audioCtx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain);
      gain.connect(audioCtx.destination);
      osc.start();
      osc.stop(audioCtx.currentTime + 0.18);
    } catch (e) {
      /* no sound is fine */
    }
  }

  /** Alternates the page title while a staff reply waits in a background tab. */
  var titleFlash = {
    timer: null,
    original: "",
    start: function (text) {
      if (this.timer) return;
      var self = this;
      var on = false;
      this.original = document.title;
      this.timer = setInterval(function () {
        on = !on;
        document.title = on ? "【" + text + "】" + self.original : self.original;
      }, 1000);
      document.title = "【" + text + "】" + this.original;
    },
    stop: function () {
      if (!this.timer) return;
      clearInterval(this.timer);
      this.timer = null;
      document.title = this.original;
    },
  };

  /** A downscaled copy of an image file as a canvas, or null when the browser cannot decode it. */
  function drawImage(file, side) {
    return new Promise(function (resolve) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () {
        var scale = Math.min(1, side / Math.max(img.naturalWidth, img.naturalHeight));
        var c = document.createElement("canvas");
        c.width = Math.max(1, Math.round(img.naturalWidth * scale));
        c.height = Math.max(1, Math.round(img.naturalHeight * scale));
        c.getContext("2d").drawImage(img, 0, 0, c.width, c.height);
        URL.revokeObjectURL(url);
        resolve(c);
      };
      img.onerror = function () {
        URL.revokeObjectURL(url);
        resolve(null);
      };
      img.src = url;
    });
  }

  var ICON_CHAT =
    '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M12 3C6.5 3 2 6.8 2 11.5c0 2.4 1.2 4.6 3.1 6.1L4.5 21l3.9-2' +
    "c1.1.3 2.3.5 3.6.5 5.5 0 10-3.8 10-8.5S17.5 3 12 3zm-4 9.8a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6z" +
    'm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6zm4 0a1.3 1.3 0 1 1 0-2.6 1.3 1.3 0 0 1 0 2.6z"/></svg>';
  var ICON_CLOSE =
    '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M18.3 5.7a1 1 0 0 0-1.4 0L12 10.6 7.1 5.7a1 1 0 1 0-1.4 1.4l4.9 4.9' +
    '-4.9 4.9a1 1 0 1 0 1.4 1.4l4.9-4.9 4.9 4.9a1 1 0 0 0 1.4-1.4L13.4 12l4.9-4.9a1 1 0 0 0 0-1.4z"/></svg>';
  var ICON_SEND =
    '<svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M3.4 20.4 21 12 3.4 3.6 3.4 10l12 2-12 2z"/></svg>';
  var ICON_PHOTO =
    '<svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">' +
    '<path fill="currentColor" d="M9 4 7.2 6H4a2 2 0 0 0-2 2v10a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V8a2 2 0 0 0-2-2h-3.2L15 4H9z' +
    'm3 4.5a4.5 4.5 0 1 1 0 9 4.5 4.5 0 0 1 0-9zm0 2a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z"/></svg>';

  function Widget() {
    // Who the host page says is here (a signed merchant id or its own sender id). When that
    // changes on this browser (another merchant logs in at the shop's PC), the previous
    // merchant's conversation is not shown: local transcript and session are dropped.
    var owner = data.merchantId || data.senderId || "";
    if ((store.get(KEY + "owner") || "") !== owner) {
      ["sender", "token", "history", "handoff", "handoff-notice", "active"].forEach(function (k) {
        store.remove(KEY + k);
      });
      if (owner) store.set(KEY + "owner", owner);
      else store.remove(KEY + "owner");
    }
    this.sender = store.get(KEY + "sender");
    if (!this.sender || !SENDER_RE.test(this.sender)) {
      this.sender = data.senderId && SENDER_RE.test(data.senderId) ? data.senderId : newSenderId();
      store.set(KEY + "sender", this.sender);
    }
    this.token = store.get(KEY + "token");
    this.sessionPromise = null;
    this.merchant = merchantFromData();
    this.history = loadHistory();
    this.seen = {};
    var self = this;
    this.history.forEach(function (e) {
      if (e.uid) self.seen[e.uid] = true;
    });
    this.busy = false;
    this.handoff = store.get(KEY + "handoff") === "1";
    this.handoffNotice = store.get(KEY + "handoff-notice") || "";
    this.unread = 0;
    this.pollTimer = null;
    this.pollDelay = POLL_MS;
    this.polling = false;
    this.pendingRow = null; // first new row the merchant has not scrolled to yet
    this.build();
    this.restore();
    this.startPolling();
  }

  Widget.prototype.build = function () {
    var self = this;
    var host = el("div", { id: MODE === "page" ? "posbot-chat" : "posbot-widget", class: "posbot-host posbot-" + MODE });
    var target = MODE === "page" && data.target ? document.querySelector(data.target) : null;
    (target || document.body).appendChild(host);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    this.host = host;

    var wrap = el("div", { class: "pw pw-" + MODE, style: "visibility:hidden" });
    var link = el("link", { rel: "stylesheet", href: CSS_URL });
    function show() {
      wrap.style.visibility = "";
    }
    link.addEventListener("load", show);
    link.addEventListener("error", show);
    setTimeout(show, 3000); // never stay invisible if the load event is lost
    root.appendChild(link);
    root.appendChild(wrap);

    var uid = randomHex(4);
    this.log = el("div", {
      class: "pw-log",
      role: "log",
      "aria-live": "polite",
      "aria-label": "对话内容",
      tabindex: "0",
    });
    this.log.addEventListener("scroll", function () {
      self.onScroll();
    });
    this.pill = el("button", {
      type: "button",
      class: "pw-pill",
      hidden: true,
      text: "新消息 ↓",
      onclick: function () {
        self.revealPending();
      },
    });
    this.bannerText = el("span", { class: "pw-banner-text" });
    this.banner = el("div", { class: "pw-banner", role: "status", hidden: true }, [
      el("span", { class: "pw-banner-dot", "aria-hidden": "true" }),
      this.bannerText,
    ]);
    this.input = el("textarea", {
      id: "pw-input-" + uid,
      class: "pw-input",
      rows: "1",
      placeholder: "请输入您的问题…",
      enterkeyhint: "send",
      autocomplete: "off",
      "aria-describedby": "pw-count-" + uid + " pw-hint-" + uid,
    });
    this.sendBtn = el("button", { type: "submit", class: "pw-send", "aria-label": "发送", disabled: true });
    this.sendBtn.innerHTML = ICON_SEND + '<span class="pw-send-text">发送</span>'; // static markup, no user text
    this.fileInput = el("input", { type: "file", accept: "image/*", class: "pw-sr", tabindex: "-1", "aria-hidden": "true" });
    this.fileInput.addEventListener("change", function () {
      var f = self.fileInput.files && self.fileInput.files[0];
      self.fileInput.value = "";
      if (f) self.sendPhoto(f);
    });
    this.photoBtn = el("button", {
      type: "button",
      class: "pw-attach",
      "aria-label": "发送图片给客服",
      title: "发送图片给客服",
      hidden: true,
      onclick: function () {
        self.fileInput.click();
      },
    });
    this.photoBtn.innerHTML = ICON_PHOTO; // static markup
    this.counter = el("span", { id: "pw-count-" + uid, class: "pw-counter", text: "0/" + MAX_CHARS });
    this.hint = el("span", { id: "pw-hint-" + uid, class: "pw-hint", "aria-live": "polite" });
    this.quick = el(
      "div",
      { class: "pw-quick", role: "group", "aria-label": "常见问题" },
      QUICK.map(function (q) {
        return el("button", {
          type: "button",
          class: "pw-chip",
          text: q,
          onclick: function () {
            if (!self.busy) self.send(q, null);
          },
        });
      })
    );
    this.form = el("form", { class: "pw-composer", novalidate: true }, [
      this.quick,
      el("label", { class: "pw-sr", for: "pw-input-" + uid, text: "输入您的问题" }),
      el("div", { class: "pw-inputrow" }, [this.photoBtn, this.fileInput, this.input, this.sendBtn]),
      el("div", { class: "pw-meta" }, [this.hint, this.counter]),
    ]);

    var header = el("header", { class: "pw-header" }, [
      el("div", { class: "pw-avatar pw-avatar-head", "aria-hidden": "true", text: "助" }),
      el("div", { class: "pw-titles" }, [
        el("h2", { class: "pw-title", id: "pw-title-" + uid, text: TITLE }),
        el("p", { class: "pw-subtitle", text: SUBTITLE }),
      ]),
    ]);

    var logWrap = el("div", { class: "pw-logwrap" }, [this.log, this.pill]);
    this.panel = el(
      "section",
      { class: "pw-panel", "aria-labelledby": "pw-title-" + uid, id: "pw-panel-" + uid },
      [header, this.banner, logWrap, this.form]
    );

    if (MODE === "float") {
      this.closeBtn = el("button", {
        type: "button",
        class: "pw-close",
        "aria-label": "收起对话",
        onclick: function () {
          self.close(true);
        },
      });
      this.closeBtn.innerHTML = ICON_CLOSE;
      header.appendChild(this.closeBtn);
      this.panel.setAttribute("role", "dialog");
      this.panel.hidden = true;
      this.badge = el("span", { class: "pw-badge", hidden: true, "aria-hidden": "true" });
      this.launcher = el(
        "button",
        {
          type: "button",
          class: "pw-launcher",
          "aria-label": "打开在线客服",
          "aria-expanded": "false",
          "aria-controls": "pw-panel-" + uid,
          onclick: function () {
            self.panel.hidden ? self.open() : self.close(true);
          },
        },
        [this.badge]
      );
      this.launcher.insertAdjacentHTML("afterbegin", ICON_CHAT);
      wrap.appendChild(this.panel);
      wrap.appendChild(this.launcher);
      this.panel.addEventListener("keydown", function (e) {
        if (e.key === "Escape") self.close(true);
      });
      document.addEventListener("keydown", function (e) {
        // focus may have fallen back to the page (e.g. the clicked button got disabled)
        var a = document.activeElement;
        if (e.key === "Escape" && !self.panel.hidden && (!a || a === document.body || a === host)) self.close(true);
      });
    } else {
      wrap.appendChild(this.panel);
    }

    this.input.addEventListener("input", function () {
      self.refreshComposer();
      self.autosize();
    });
    this.input.addEventListener("keydown", function (e) {
      // Enter sends, Shift+Enter is a new line; never send while an IME is composing (拼音 input).
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
        e.preventDefault();
        self.submit();
      }
    });
    this.form.addEventListener("submit", function (e) {
      e.preventDefault();
      self.submit();
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) {
        titleFlash.stop();
        self.pollSoon(0);
      }
    });
    window.addEventListener("focus", function () {
      titleFlash.stop();
    });
    // Another tab of the same site changed the conversation: follow it.
    window.addEventListener("storage", function (e) {
      if (!e.key || e.key.indexOf(KEY) !== 0) return;
      if (e.key === KEY + "token") self.token = e.newValue;
      else if (e.key === KEY + "sender" && e.newValue) self.sender = e.newValue;
      else if (e.key === KEY + "history") self.reload();
      else if (e.key === KEY + "handoff" || e.key === KEY + "handoff-notice")
        self.setHandoff(store.get(KEY + "handoff") === "1", store.get(KEY + "handoff-notice"), true);
    });

    if (MODE === "page" && FINE_POINTER) {
      this.input.focus({ preventScroll: true }); // desktop only: on phones focus would pop the keyboard
    }
    if (MODE === "float" && data.open === "true") this.open();
  };

  // --- opening and closing (floating mode) ---------------------------------------------

  Widget.prototype.open = function () {
    if (MODE !== "float") return;
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.launcher.setAttribute("aria-label", "收起在线客服");
    this.host.classList.add("pw-is-open");
    this.unread = 0;
    this.badge.hidden = true;
    var first = this.pendingRow;
    this.pendingRow = null;
    if (first) this.reveal(first);
    else this.scrollToEnd();
    this.input.focus();
  };

  Widget.prototype.close = function (returnFocus) {
    if (MODE !== "float") return;
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.setAttribute("aria-label", "打开在线客服");
    this.host.classList.remove("pw-is-open");
    if (returnFocus) this.launcher.focus();
  };

  Widget.prototype.isShowing = function () {
    return MODE === "page" || !this.panel.hidden;
  };

  // --- composer ------------------------------------------------------------------------

  Widget.prototype.refreshComposer = function () {
    var value = this.input.value;
    var n = charCount(value);
    var over = charCount(value.trim()) > MAX_CHARS;
    this.counter.textContent = n + "/" + MAX_CHARS;
    this.counter.classList.toggle("pw-over", over);
    this.hint.classList.toggle("pw-over", over);
    this.hint.textContent = over
      ? "最多 " + MAX_CHARS + " 字，已超出 " + (charCount(value.trim()) - MAX_CHARS) + " 字，请删减后再发送"
      : "";
    this.input.setAttribute("aria-invalid", over ? "true" : "false");
    this.sendBtn.disabled = this.busy || !value.trim() || over;
  };

  Widget.prototype.autosize = function () {
    var t = this.input;
    var atEnd = this.atEnd();
    t.style.height = "auto";
    t.style.height = Math.min(t.scrollHeight + 2, 140) + "px";
    if (atEnd) this.scrollToEnd(); // a growing input must not hide the latest reply
  };

  Widget.prototype.submit = function () {
    var text = this.input.value.trim();
    if (!text || this.busy || charCount(text) > MAX_CHARS) {
      this.refreshComposer();
      return;
    }
    this.input.value = "";
    this.autosize();
    this.send(text, null);
  };

  // --- the transcript ----------------------------------------------------------------------

  Widget.prototype.remember = function (entry) {
    this.history.push(entry);
    if (this.history.length > HISTORY_MAX) this.history = this.history.slice(-HISTORY_MAX);
    this.saveHistory();
  };

  Widget.prototype.saveHistory = function () {
    try {
      store.set(KEY + "history", JSON.stringify(this.history));
    } catch (e) {
      /* quota: not worth bothering the merchant */
    }
  };

  Widget.prototype.restore = function () {
    var self = this;
    this.render({ kind: "bot", text: WELCOME, welcome: true });
    this.history.forEach(function (entry) {
      self.render(entry);
    });
    this.setHandoff(this.handoff, this.handoffNotice, true);
    this.scrollToEnd();
  };

  /** Re-render from storage (another tab of this site added to the conversation). */
  Widget.prototype.reload = function () {
    var self = this;
    this.history = loadHistory();
    this.history.forEach(function (e) {
      if (e.uid) self.seen[e.uid] = true;
    });
    var atEnd = this.atEnd();
    this.log.replaceChildren();
    this.typing = null;
    this.restore();
    if (!atEnd) this.pill.hidden = false;
  };

  var SPEAKER = { user: "我：", bot: "助手：", staff: "人工客服：", system: "通知：" };
  var STATE_TEXT = { sending: "发送中…", sent: "已送达", failed: "未发送" };

  /** Builds one message row from its persisted entry and adds it to the log. */
  Widget.prototype.render = function (entry) {
    var self = this;
    var kind = entry.kind;
    var row = el("div", { class: "pw-msg pw-" + kind });
    row.appendChild(el("span", { class: "pw-sr", text: SPEAKER[kind] || "" }));
    if (kind === "bot") row.appendChild(el("div", { class: "pw-avatar", "aria-hidden": "true", text: "助" }));
    if (kind === "staff") row.appendChild(el("div", { class: "pw-avatar pw-avatar-staff", "aria-hidden": "true", text: "客" }));
    var body = el("div", { class: "pw-body" });
    if (kind === "staff") {
      body.appendChild(el("div", { class: "pw-from", text: entry.author ? "人工客服 · " + entry.author : "人工客服" }));
    }
    if (entry.photo || entry.photoPending) {
      body.appendChild(
        el("div", { class: "pw-bubble pw-photo-bubble" }, [
          entry.photo
            ? el("img", { class: "pw-photo", src: entry.photo, alt: "我发送的图片" })
            : el("span", { text: "[图片]" }),
        ])
      );
    } else if (entry.text) {
      var bubble = el("div", { class: "pw-bubble" });
      fillText(bubble, entry.text, entry.tickets);
      body.appendChild(bubble);
    }
    (entry.tickets || []).forEach(function (number) {
      body.appendChild(self.ticketCard(number));
    });
    row.appendChild(body);
    if (entry.buttons && entry.buttons.length) this.renderButtons(entry.buttons, entry, body);
    if (entry.rating) body.appendChild(this.ratingCard(entry));
    if (!entry.welcome) {
      var meta = el("div", { class: "pw-msgmeta" });
      if (entry.at) meta.appendChild(el("time", { class: "pw-time", datetime: new Date(entry.at).toISOString(), text: formatTime(entry.at) }));
      if (kind === "user" && entry.state) {
        meta.appendChild(el("span", { class: "pw-state pw-state-" + entry.state, text: STATE_TEXT[entry.state] || "" }));
      }
      if (meta.childNodes.length) body.appendChild(meta);
    }
    row._entry = entry;
    this.log.appendChild(row);
    return row;
  };

  Widget.prototype.ticketCard = function (number) {
    var label = el("span", { class: "pw-copied", "aria-live": "polite" });
    var btn = el("button", { type: "button", class: "pw-copy", "aria-label": "复制工单号 " + number, text: "复制" });
    btn.addEventListener("click", function () {
      copyText(number).then(
        function () {
          btn.textContent = "已复制";
          label.textContent = "工单号已复制";
          setTimeout(function () {
            btn.textContent = "复制";
            label.textContent = "";
          }, 2000);
        },
        function () {
          label.textContent = "复制失败，请长按工单号手动复制";
        }
      );
    });
    return el("div", { class: "pw-ticket", role: "group", "aria-label": "工单号 " + number }, [
      el("span", { class: "pw-ticket-label", text: "工单号" }),
      el("span", { class: "pw-ticket-no", text: number }),
      btn,
      label,
    ]);
  };

  Widget.prototype.ratingCard = function (entry) {
    var self = this;
    var card = el("div", { class: "pw-rating", role: "group", "aria-label": "服务评价" });
    function done(value) {
      card.replaceChildren(el("span", { class: "pw-rating-done", text: "感谢您的评价：" + value + " 分（" + RATING_LABELS[value - 1] + "）" }));
    }
    if (entry.rating.value) {
      done(entry.rating.value);
      return card;
    }
    var status = el("span", { class: "pw-rating-error", role: "alert" });
    var stars = el(
      "div",
      { class: "pw-stars" },
      [1, 2, 3, 4, 5].map(function (n) {
        return el("button", {
          type: "button",
          class: "pw-star",
          text: "★",
          "aria-label": n + " 分 " + RATING_LABELS[n - 1],
          title: RATING_LABELS[n - 1],
          onclick: function () {
            var buttons = stars.querySelectorAll("button");
            Array.prototype.forEach.call(buttons, function (b) {
              b.disabled = true;
            });
            self
              .api("POST", "/api/chat/rating", function (sid) {
                return { sender_id: sid, subject: entry.rating.subject, rating: n };
              })
              .then(function (r) {
                if (r.status === 200 && r.json) {
                  entry.rating.value = r.json.rating;
                  self.saveHistory();
                  done(r.json.rating);
                } else {
                  status.textContent = chinese(r.json && r.json.message) || "评价没有提交成功，请稍后再试";
                  Array.prototype.forEach.call(buttons, function (b) {
                    b.disabled = false;
                  });
                }
              })
              .catch(function () {
                status.textContent = "网络不太稳定，评价没有提交，请再点一次";
                Array.prototype.forEach.call(buttons, function (b) {
                  b.disabled = false;
                });
              });
          },
        });
      })
    );
    card.appendChild(el("span", { class: "pw-rating-q", text: "这次服务您满意吗？" }));
    card.appendChild(stars);
    card.appendChild(status);
    return card;
  };

  Widget.prototype.renderButtons = function (buttons, entry, body) {
    var self = this;
    var group = el("div", { class: "pw-buttons", role: "group", "aria-label": "可选回复" });
    var used = entry.used !== undefined && entry.used !== null;
    buttons.forEach(function (b, i) {
      var title = String(b.title || b.payload || "");
      var payload = String(b.payload || b.title || "");
      var btn = el("button", { type: "button", class: "pw-btn", text: title, disabled: used });
      if (used && entry.used === i) btn.classList.add("pw-chosen");
      btn.addEventListener("click", function () {
        if (self.busy || group.dataset.used) return;
        group.dataset.used = "1";
        Array.prototype.forEach.call(group.querySelectorAll("button"), function (x) {
          x.disabled = true;
        });
        btn.classList.add("pw-chosen");
        entry.used = i;
        self.saveHistory();
        // The title goes with the payload: the server accepts it only for a button it offered.
        self.send(payload, b.title ? title : null);
        if (FINE_POINTER) self.input.focus({ preventScroll: true }); // the clicked button is disabled now
      });
      group.appendChild(btn);
    });
    var meta = body.querySelector(".pw-msgmeta");
    body.insertBefore(group, meta || null);
  };

  /** Adds messages (entries) to the transcript and shows them the way a reader expects. */
  Widget.prototype.addEntries = function (entries, opts) {
    var self = this;
    opts = opts || {};
    if (!entries.length) return [];
    var wasAtEnd = this.atEnd(); // measured before anything is added
    var rows = entries.map(function (entry) {
      if (entry.uid) self.seen[entry.uid] = true;
      if (opts.persist !== false) self.remember(entry);
      return self.render(entry);
    });
    // The merchant's own message always shows; a reply or a staff message moves the view only
    // when the merchant was at the end, otherwise the "新消息 ↓" pill offers to go there.
    if (!this.isShowing()) this.markPending(rows[0]); // shown from its top when the panel opens
    else if (opts.own || wasAtEnd) this.reveal(rows[0]);
    else this.markPending(rows[0]);
    if (!this.isShowing() && !opts.own && opts.persist !== false) {
      this.unread += rows.length;
      this.badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
      this.badge.hidden = false;
      this.launcher.setAttribute("aria-label", "打开在线客服（" + this.unread + " 条新消息）");
    }
    return rows;
  };

  /** A notice that is not part of the conversation (errors); optional retry button. */
  Widget.prototype.notice = function (text, retry) {
    var self = this;
    var row = el("div", { class: "pw-msg pw-system pw-error", role: "alert" }, [
      el("div", { class: "pw-body" }, [el("div", { class: "pw-bubble", text: text })]),
    ]);
    if (retry) {
      var btn = el("button", {
        type: "button",
        class: "pw-btn pw-retry",
        text: "重新发送",
        onclick: function () {
          if (self.busy) return;
          row.remove();
          retry();
        },
      });
      row.querySelector(".pw-body").appendChild(btn);
    }
    this.log.appendChild(row);
    this.reveal(row);
  };

  Widget.prototype.setState = function (entry, row, state) {
    entry.state = state;
    this.saveHistory();
    var s = row && row.querySelector(".pw-state");
    if (s) {
      s.className = "pw-state pw-state-" + state;
      s.textContent = STATE_TEXT[state];
    }
  };

  // --- scrolling: the top of each new reply stays in view ------------------------------------

  /** Is the end of the conversation (the last message's bottom) on screen? */
  Widget.prototype.atEnd = function () {
    var log = this.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < 32;
  };

  Widget.prototype.scrollToEnd = function () {
    this.log.scrollTop = this.log.scrollHeight;
    this.pendingRow = null;
    this.pill.hidden = true;
  };

  /** Scroll so that ``row`` and what follows show; a reply taller than the log shows its top. */
  Widget.prototype.reveal = function (row) {
    var log = this.log;
    var top = row.offsetTop - 8;
    if (log.scrollHeight - top <= log.clientHeight) {
      this.scrollToEnd();
      return;
    }
    log.scrollTop = top;
    // The rest of the reply is below the fold: the pill takes the merchant there.
    this.pendingRow = null;
    this.pill.hidden = this.atEnd();
  };

  Widget.prototype.markPending = function (row) {
    if (!this.pendingRow) this.pendingRow = row;
    this.pill.hidden = false;
  };

  Widget.prototype.revealPending = function () {
    var row = this.pendingRow;
    var log = this.log;
    if (row && row.offsetTop > log.scrollTop + 8) this.reveal(row);
    else this.scrollToEnd();
    this.pendingRow = null;
    if (this.atEnd()) this.pill.hidden = true;
  };

  Widget.prototype.onScroll = function () {
    var log = this.log;
    if (this.atEnd()) {
      this.pendingRow = null;
      this.pill.hidden = true;
    } else if (this.pendingRow && this.pendingRow.offsetTop < log.scrollTop + log.clientHeight - 24) {
      this.pendingRow = null; // the merchant scrolled to the new message themselves
    }
  };

  Widget.prototype.setBusy = function (busy) {
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
      var atEnd = this.atEnd();
      this.log.appendChild(this.typing);
      if (atEnd) this.scrollToEnd();
    } else if (!busy && this.typing) {
      this.typing.remove();
      this.typing = null;
    }
    this.log.setAttribute("aria-busy", busy ? "true" : "false");
    Array.prototype.forEach.call(this.quick.querySelectorAll("button"), function (b) {
      b.disabled = busy;
    });
    this.refreshComposer();
  };

  /** 转人工: the server's notice as a banner, photos allowed, quick topics out of the way. */
  Widget.prototype.setHandoff = function (on, notice, fromStorage) {
    this.handoff = !!on;
    if (notice) this.handoffNotice = notice;
    this.banner.hidden = !on;
    this.bannerText.textContent = this.handoffNotice || "已转人工客服";
    this.photoBtn.hidden = !on;
    this.quick.hidden = !!on;
    if (fromStorage) return;
    if (on) store.set(KEY + "handoff", "1");
    else store.remove(KEY + "handoff");
    if (on && notice) store.set(KEY + "handoff-notice", notice);
  };

  // --- talking to the app service ------------------------------------------------------

  function request(method, path, opts) {
    var headers = { Accept: "application/json" };
    var body;
    if (opts.token) headers.Authorization = "Bearer " + opts.token;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.form) {
      body = opts.form;
    }
    return fetch(API + path, { method: method, headers: headers, body: body }).then(function (res) {
      return res
        .json()
        .catch(function () {
          return null;
        })
        .then(function (json) {
          return { status: res.status, json: json };
        });
    });
  }

  /** A session token for this.sender: the stored one, a renewed one, or a new conversation. */
  Widget.prototype.session = function (renew) {
    var self = this;
    if (this.token && !renew) return Promise.resolve(this.token);
    if (this.sessionPromise) return this.sessionPromise;
    function save(r) {
      self.sender = r.json.sender_id;
      self.token = r.json.token;
      store.set(KEY + "sender", self.sender);
      store.set(KEY + "token", self.token);
      return self.token;
    }
    function claim(attempt) {
      return request("POST", "/api/chat/session", { json: { sender_id: self.sender } }).then(function (r) {
        if (r.status === 200 && r.json && r.json.token) return save(r);
        if (r.status === 409 && attempt < 2) {
          // The id belongs to another browser (or an earlier version of this widget): start afresh.
          if (data.senderId && self.sender === data.senderId && window.console) {
            console.warn("posbot: data-sender-id is in use by another browser; this visit gets its own conversation");
          }
          self.startOver();
          return claim(attempt + 1);
        }
        throw new Error("session HTTP " + r.status);
      });
    }
    var first = this.token
      ? request("POST", "/api/chat/session", { json: { sender_id: this.sender, token: this.token } }).then(function (r) {
          if (r.status === 200 && r.json && r.json.token) return save(r);
          if (r.status === 401 || r.status === 403) {
            self.startOver(true); // too old (or not ours) to renew: a new conversation
            return claim(0);
          }
          throw new Error("session HTTP " + r.status);
        })
      : claim(0);
    this.sessionPromise = first.then(
      function (token) {
        self.sessionPromise = null;
        return token;
      },
      function (err) {
        self.sessionPromise = null;
        throw err;
      }
    );
    return this.sessionPromise;
  };

  /** A new sender id (the old conversation cannot be continued); the transcript stays on screen. */
  Widget.prototype.startOver = function (tell) {
    this.sender = newSenderId();
    this.token = null;
    store.set(KEY + "sender", this.sender);
    store.remove(KEY + "token");
    if (this.handoff) this.setHandoff(false);
    if (tell && this.history.length) {
      this.addEntries([{ kind: "system", text: "之前的对话已过期，已为您开始新的对话。", at: Date.now() }]);
    }
  };

  /** An authenticated request; the body may be a function of the (current) sender id. */
  Widget.prototype.api = function (method, path, body, extra) {
    var self = this;
    extra = extra || {};
    function attempt(renew) {
      return self.session(renew).then(function (token) {
        var opts = { token: token };
        if (typeof body === "function") opts.json = body(self.sender);
        else if (body !== undefined && body !== null) opts.json = body;
        if (extra.form) opts.form = extra.form(self.sender);
        var p = extra.query ? path + (path.indexOf("?") < 0 ? "?" : "&") + extra.query(self.sender) : path;
        return request(method, p, opts);
      });
    }
    return attempt(false).then(function (r) {
      var code = r.json && r.json.code;
      if ((r.status === 401 || r.status === 403) && code && code.indexOf("session_") === 0) return attempt(true);
      return r;
    });
  };

  Widget.prototype.send = function (text, title, again, entry, row) {
    var self = this;
    if (!again) {
      entry = { kind: "user", text: title || text, at: Date.now(), state: "sending" };
      row = this.addEntries([entry], { own: true })[0];
    } else {
      this.setState(entry, row, "sending");
    }
    store.set(KEY + "active", "1");
    this.setBusy(true);
    function retry() {
      self.send(text, title, true, entry, row);
    }
    return this.api("POST", "/api/chat", function (sid) {
      var body = { sender_id: sid, text: text };
      if (title) body.title = title;
      if (self.merchant) body.merchant = self.merchant;
      return body;
    })
      .then(function (r) {
        var code = r.json && r.json.code;
        if (r.status === 401 && code && code.indexOf("merchant_identity") === 0 && self.merchant) {
          // The host page's signed identity is expired or wrong: send without it, tell the page.
          self.dropMerchant(code);
          return self.send(text, title, true, entry, row);
        }
        self.setBusy(false);
        self.handleReply(r.status, r.json, retry, entry, row);
      })
      .catch(function () {
        self.setBusy(false);
        self.setState(entry, row, "failed");
        self.notice("网络好像不太稳定，消息没有发出去。请检查网络后点“重新发送”。", retry);
      })
      .then(function () {
        self.pollSoon(self.pollDelay);
      });
  };

  Widget.prototype.dropMerchant = function (code) {
    this.merchant = null;
    if (window.console) console.warn("posbot: merchant identity refused (" + code + "); continuing without it");
    try {
      window.dispatchEvent(new CustomEvent("posbot:merchant-identity-rejected", { detail: { code: code } }));
    } catch (e) {
      /* old browsers */
    }
  };

  Widget.prototype.handleReply = function (status, json, retry, entry, row) {
    var messages = json && Array.isArray(json.messages) ? json.messages : null;
    if ((status === 200 || status === 503) && messages) {
      this.setState(entry, row, "sent"); // the server stored it (also when Rasa is down)
      var now = Date.now();
      var entries = messages
        .filter(function (m) {
          return m && (m.text || (m.buttons && m.buttons.length));
        })
        .map(function (m) {
          var e = { kind: "bot", text: m.text || "", at: now };
          if (m.buttons && m.buttons.length) {
            e.buttons = m.buttons.map(function (b) {
              return { title: b.title, payload: b.payload };
            });
          }
          if (m.tickets && m.tickets.length) e.tickets = m.tickets.slice();
          return e;
        });
      this.addEntries(entries);
      if (json.status === "handoff") this.setHandoff(true, json.handoff_notice);
      else if (json.status === "ok") this.setHandoff(false);
      return;
    }
    this.setState(entry, row, "failed");
    if (status === 422 && json && Array.isArray(json.detail)) {
      var msgs = json.detail.map(function (d) {
        return chinese(d && d.msg);
      });
      this.notice("消息没有发出去：" + msgs.filter(Boolean).join("；"));
      return;
    }
    if (status === 413) {
      this.notice("消息没有发出去：" + chinese(json && json.message));
      return;
    }
    if (status === 429 && json && json.code === "session_message_cap") {
      // The conversation's message cap: waiting a few seconds will not help, so no retry button.
      this.notice(chinese(json.message));
      return;
    }
    if (status === 429) {
      this.notice("您发得有点快，请稍等几秒再试。", retry);
      return;
    }
    if (status === 503 && json && json.code === "database_unavailable") {
      // Nothing was stored: the merchant sends the same message again with the retry button.
      this.notice(chinese(json.message), retry);
      return;
    }
    this.notice("抱歉，服务暂时出了点问题（错误码 " + status + "），请稍后再试。", retry);
  };

  // --- photos during a handoff -----------------------------------------------------------

  Widget.prototype.sendPhoto = function (file) {
    var self = this;
    var entry = { kind: "user", photoPending: true, at: Date.now(), state: "sending" };
    var row = this.addEntries([entry], { own: true })[0];
    Promise.all([drawImage(file, PHOTO_SIDE), drawImage(file, THUMB_SIDE)])
      .then(function (canvases) {
        var big = canvases[0];
        var thumb = canvases[1];
        if (thumb) {
          entry.photo = thumb.toDataURL("image/jpeg", 0.7);
          var img = el("img", { class: "pw-photo", src: entry.photo, alt: "我发送的图片" });
          var bubble = row.querySelector(".pw-photo-bubble");
          if (bubble) bubble.replaceChildren(img);
          self.saveHistory();
        }
        // Phones take 5-12 MB photos: send a scaled JPEG when the browser can draw the file,
        // else the file itself (the server decides what it is).
        return big
          ? new Promise(function (resolve) {
              big.toBlob(
                function (blob) {
                  resolve(blob || file);
                },
                "image/jpeg",
                0.85
              );
            })
          : file;
      })
      .then(function (blob) {
        return self.api("POST", "/api/chat/photos", null, {
          query: function (sid) {
            return "sender_id=" + encodeURIComponent(sid);
          },
          form: function () {
            var fd = new FormData();
            fd.append("file", blob, (file.name || "photo").replace(/\.[^.]*$/, "") + (blob === file ? "" : ".jpg"));
            return fd;
          },
        });
      })
      .then(function (r) {
        if (r.status === 201) {
          self.setState(entry, row, "sent");
          return;
        }
        self.setState(entry, row, "failed");
        self.notice("图片没有发出去：" + (chinese(r.json && r.json.message) || "错误码 " + r.status));
      })
      .catch(function () {
        self.setState(entry, row, "failed");
        self.notice("网络好像不太稳定，图片没有发出去，请稍后再试。");
      });
  };

  // --- staff replies and notifications -------------------------------------------------

  Widget.prototype.startPolling = function () {
    if (store.get(KEY + "active") || this.history.length) this.pollSoon(0);
  };

  Widget.prototype.pollSoon = function (delay) {
    var self = this;
    if (!store.get(KEY + "active") && !this.history.length) return;
    clearTimeout(this.pollTimer);
    this.pollTimer = setTimeout(function () {
      self.poll();
    }, delay);
  };

  // Keeps polling in a background tab too (browsers slow timers there to about once a minute).
  Widget.prototype.poll = function () {
    var self = this;
    if (this.polling) return;
    this.polling = true;
    this.api("GET", "/api/chat/updates", null, {
      query: function (sid) {
        return "sender_id=" + encodeURIComponent(sid);
      },
    })
      .then(function (r) {
        if (r.status === 404 || r.status === 405 || r.status === 501) {
          self.pollDelay = POLL_MISSING_MS; // not deployed (yet): check rarely, say nothing
          return;
        }
        if (r.status !== 200 || !r.json) throw new Error("HTTP " + r.status);
        self.pollDelay = POLL_MS;
        self.showUpdates(r.json);
      })
      .catch(function () {
        self.pollDelay = Math.min(self.pollDelay * 2, POLL_MAX_BACKOFF_MS); // offline: back off quietly
      })
      .then(function () {
        self.polling = false;
        self.pollSoon(self.pollDelay);
      });
  };

  Widget.prototype.showUpdates = function (json) {
    var self = this;
    var ids = [];
    var entries = [];
    var fromStaff = false;
    (json.messages || []).forEach(function (m) {
      if (!m || !m.text) return;
      if (m.id) ids.push(m.id);
      if (m.id && self.seen[m.id]) return; // shown already (an acknowledgement got lost)
      var kind = m.from === "staff" ? "staff" : m.from === "bot" ? "bot" : "system";
      var at = Date.parse(m.created_at || "") || Date.now();
      var e = { kind: kind, text: m.text, at: at, uid: m.id };
      if (m.author) e.author = m.author;
      if (m.tickets && m.tickets.length) e.tickets = m.tickets.slice();
      if (m.rating && m.rating.subject && !self.rated(m.rating.subject)) e.rating = { subject: m.rating.subject };
      if (kind === "staff") fromStaff = true;
      entries.push(e);
    });
    if (fromStaff) this.setHandoff(true, json.handoff_notice);
    this.addEntries(entries);
    if (typeof json.handoff === "boolean") this.setHandoff(json.handoff, json.handoff_notice);
    if (entries.length && (document.hidden || !document.hasFocus())) {
      titleFlash.start(fromStaff ? "客服回复了您" : "新消息");
      if (SOUND && fromStaff) chime();
    }
    if (ids.length) {
      // Shown and stored: now the server may forget them. A lost ack only means they come again.
      this.api("POST", "/api/chat/updates/ack", function (sid) {
        return { sender_id: sid, ids: ids };
      }).catch(function () {});
    }
  };

  Widget.prototype.rated = function (subject) {
    return this.history.some(function (e) {
      return e.rating && e.rating.subject === subject;
    });
  };

  function init() {
    var w = new Widget();
    window.PosbotWidget = {
      open: function () {
        w.open();
      },
      close: function () {
        w.close(false);
      },
      send: function (text) {
        if (text && !w.busy) w.send(String(text), null);
      },
      /** The host page signed a new identity (e.g. after posbot:merchant-identity-rejected). */
      setMerchant: function (identity) {
        w.merchant = identity && identity.id ? { id: String(identity.id), expires: parseInt(identity.expires, 10), signature: String(identity.signature) } : null;
      },
      get senderId() {
        return w.sender;
      },
    };
  }

  window.PosbotWidget = { pending: true };
  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
})();
