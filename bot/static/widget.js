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
 * Bot text is always inserted with textContent (never innerHTML): it is escaped by
 * construction, and CSS white-space: pre-wrap keeps its line breaks and numbered steps.
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

  function senderId() {
    var id = data.senderId || store.get(KEY + "sender");
    if (!id || !SENDER_RE.test(id)) {
      id = "w" + randomHex(12);
      store.set(KEY + "sender", id);
    }
    return id;
  }

  function loadHistory() {
    try {
      var h = JSON.parse(store.get(KEY + "history") || "[]");
      return Array.isArray(h) ? h : [];
    } catch (e) {
      return [];
    }
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

  function Widget() {
    this.sender = senderId();
    this.history = loadHistory();
    this.busy = false;
    this.handoff = store.get(KEY + "handoff") === "1";
    this.unread = 0;
    this.pollTimer = null;
    this.pollDelay = POLL_MS;
    this.polling = false;
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
    this.banner = el("div", { class: "pw-banner", role: "status", hidden: true }, [
      el("span", { class: "pw-banner-dot", "aria-hidden": "true" }),
      "已转人工，客服会在这里回复您",
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
    this.counter = el("span", { id: "pw-count-" + uid, class: "pw-counter", text: "0/" + MAX_CHARS });
    this.hint = el("span", { id: "pw-hint-" + uid, class: "pw-hint", "aria-live": "polite" });
    this.form = el("form", { class: "pw-composer", novalidate: true }, [
      el("label", { class: "pw-sr", for: "pw-input-" + uid, text: "输入您的问题" }),
      el("div", { class: "pw-inputrow" }, [this.input, this.sendBtn]),
      el("div", { class: "pw-meta" }, [this.hint, this.counter]),
    ]);

    var header = el("header", { class: "pw-header" }, [
      el("div", { class: "pw-avatar pw-avatar-head", "aria-hidden": "true", text: "助" }),
      el("div", { class: "pw-titles" }, [
        el("h2", { class: "pw-title", id: "pw-title-" + uid, text: TITLE }),
        el("p", { class: "pw-subtitle", text: SUBTITLE }),
      ]),
    ]);

    this.panel = el(
      "section",
      { class: "pw-panel", "aria-labelledby": "pw-title-" + uid, id: "pw-panel-" + uid },
      [header, this.banner, this.log, this.form]
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
      if (!document.hidden) self.pollSoon(0);
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
    this.scrollToEnd(true);
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
    var log = this.log;
    var atEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    t.style.height = "auto";
    t.style.height = Math.min(t.scrollHeight + 2, 140) + "px";
    if (atEnd) log.scrollTop = log.scrollHeight; // a growing input must not hide the latest reply
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

  // --- messages ------------------------------------------------------------------------

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
    var hasHistory = this.history.length > 0;
    this.render({ kind: "bot", text: WELCOME, welcome: true }, null);
    if (!hasHistory) {
      var quick = QUICK.map(function (q) {
        return { title: q, payload: q };
      });
      this.renderButtons(quick, null, this.log.lastChild);
    }
    var self = this;
    this.history.forEach(function (entry) {
      self.render(entry, entry);
    });
    this.setHandoff(this.handoff);
    this.scrollToEnd(true);
  };

  var SPEAKER = { user: "我：", bot: "助手：", staff: "人工客服：", system: "通知：" };

  /** Adds one message to the log. `entry` (when given) is the persisted record it came from. */
  Widget.prototype.render = function (msg, entry) {
    var kind = msg.kind;
    var row = el("div", { class: "pw-msg pw-" + kind });
    row.appendChild(el("span", { class: "pw-sr", text: SPEAKER[kind] || "" }));
    if (kind === "bot") row.appendChild(el("div", { class: "pw-avatar", "aria-hidden": "true", text: "助" }));
    if (kind === "staff") row.appendChild(el("div", { class: "pw-avatar pw-avatar-staff", "aria-hidden": "true", text: "客" }));
    var body = el("div", { class: "pw-body" });
    if (kind === "staff") body.appendChild(el("div", { class: "pw-from", "aria-hidden": "true", text: "人工客服" }));
    if (msg.text) body.appendChild(el("div", { class: "pw-bubble", text: msg.text }));
    row.appendChild(body);
    this.log.appendChild(row);
    if (msg.buttons && msg.buttons.length) this.renderButtons(msg.buttons, entry, row);
    return row;
  };

  Widget.prototype.renderButtons = function (buttons, entry, row) {
    var self = this;
    var group = el("div", { class: "pw-buttons", role: "group", "aria-label": "可选回复" });
    var used = entry && entry.used !== undefined && entry.used !== null;
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
        if (entry) {
          entry.used = i;
          self.saveHistory();
        }
        self.send(payload, title);
        if (FINE_POINTER) self.input.focus({ preventScroll: true }); // the clicked button is disabled now
      });
      group.appendChild(btn);
    });
    (row.querySelector(".pw-body") || row).appendChild(group);
  };

  Widget.prototype.add = function (msg) {
    var entry = { kind: msg.kind, text: msg.text || "" };
    if (msg.buttons && msg.buttons.length) {
      entry.buttons = msg.buttons.map(function (b) {
        return { title: b.title, payload: b.payload };
      });
    }
    if (msg.persist !== false) this.remember(entry);
    var row = this.render(entry, entry);
    this.scrollToEnd(msg.kind === "user");
    if (!this.isShowing() && msg.kind !== "user") {
      this.unread += 1;
      this.badge.textContent = this.unread > 9 ? "9+" : String(this.unread);
      this.badge.hidden = false;
      this.launcher.setAttribute("aria-label", "打开在线客服（" + this.unread + " 条新消息）");
    }
    return row;
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
    this.scrollToEnd(true);
  };

  Widget.prototype.scrollToEnd = function (force) {
    var log = this.log;
    var nearEnd = log.scrollHeight - log.scrollTop - log.clientHeight < 120;
    if (force || nearEnd) log.scrollTop = log.scrollHeight;
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
      this.log.appendChild(this.typing);
      this.scrollToEnd(true);
    } else if (!busy && this.typing) {
      this.typing.remove();
      this.typing = null;
    }
    this.log.setAttribute("aria-busy", busy ? "true" : "false");
    this.refreshComposer();
  };

  Widget.prototype.setHandoff = function (on) {
    this.handoff = !!on;
    this.banner.hidden = !on;
    if (on) store.set(KEY + "handoff", "1");
    else store.remove(KEY + "handoff");
  };

  // --- talking to the app service ------------------------------------------------------

  Widget.prototype.send = function (text, title, again) {
    var self = this;
    if (!again) this.add({ kind: "user", text: title || text });
    store.set(KEY + "active", "1");
    this.setBusy(true);
    var body = { sender_id: this.sender, text: text };
    if (title) body.title = title;
    function retry() {
      self.send(text, title, true);
    }
    return fetch(API + "/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    })
      .then(function (res) {
        return res
          .json()
          .catch(function () {
            return null;
          })
          .then(function (json) {
            self.setBusy(false);
            self.handleReply(res.status, json, retry);
          });
      })
      .catch(function () {
        self.setBusy(false);
        self.notice("网络好像不太稳定，消息没有发出去。请检查网络后点“重新发送”。", retry);
      })
      .then(function () {
        self.pollSoon(self.pollDelay);
      });
  };

  Widget.prototype.handleReply = function (status, json, retry) {
    var self = this;
    var messages = json && Array.isArray(json.messages) ? json.messages : null;
    if ((status === 200 || status === 503) && messages) {
      messages.forEach(function (m) {
        if (!m || (!m.text && !(m.buttons && m.buttons.length))) return;
        self.add({ kind: "bot", text: m.text || "", buttons: m.buttons || [] });
      });
      if (json.status === "handoff") this.setHandoff(true);
      else if (json.status === "ok") this.setHandoff(false);
      return;
    }
    if (status === 422 && json && Array.isArray(json.detail)) {
      var msgs = json.detail.map(function (d) {
        return chinese(d && d.msg);
      });
      this.notice("消息没有发出去：" + msgs.filter(Boolean).join("；"));
      return;
    }
    if (status === 429) {
      this.notice("您发得有点快，请稍等几秒再试。", retry);
      return;
    }
    this.notice("抱歉，服务暂时出了点问题（错误码 " + status + "），请稍后再试。", retry);
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

  Widget.prototype.poll = function () {
    var self = this;
    if (document.hidden || this.polling) return; // visibilitychange restarts it
    this.polling = true;
    fetch(API + "/api/chat/updates?sender_id=" + encodeURIComponent(this.sender), {
      headers: { Accept: "application/json" },
    })
      .then(function (res) {
        if (res.status === 404 || res.status === 405 || res.status === 501) {
          self.pollDelay = POLL_MISSING_MS; // not deployed (yet): check rarely, say nothing
          return null;
        }
        if (!res.ok) throw new Error("HTTP " + res.status);
        self.pollDelay = POLL_MS;
        return res.json();
      })
      .then(function (json) {
        if (!json) return;
        (json.messages || []).forEach(function (m) {
          if (!m || !m.text) return;
          var from = m.from === "staff" ? "staff" : m.from === "bot" ? "bot" : "system";
          if (from === "staff") self.setHandoff(true);
          self.add({ kind: from, text: m.text, buttons: m.buttons || [] });
        });
        // Optional state fields: the banner follows them when the server reports them.
        if (json.status === "handoff" || json.handoff === true) self.setHandoff(true);
        else if (json.status === "ok" || json.handoff === false) self.setHandoff(false);
      })
      .catch(function () {
        self.pollDelay = Math.min(self.pollDelay * 2, POLL_MAX_BACKOFF_MS); // offline: back off quietly
      })
      .then(function () {
        self.polling = false;
        self.pollSoon(self.pollDelay);
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
      senderId: w.sender,
    };
  }

  window.PosbotWidget = { pending: true };
  if (document.body) init();
  else document.addEventListener("DOMContentLoaded", init);
})();
