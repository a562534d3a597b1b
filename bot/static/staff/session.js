// @ts-check
// Signing in and out. Staff sign in with their account (POST /api/staff/login sets an HttpOnly cookie,
// so a reload or a second tab stays signed in). A pasted API key is the fallback for operators: it is
// checked against /api/staff/me before the page says anything about being signed in.

import { ApiError, api, auth, getKey, onSessionLost, setKey } from "./api.js";
import { $, busy, field, showError } from "./dom.js";
import { loadLabels } from "./labels.js";

/** @typedef {import("./api.js").Me} Me */

const hooks = {
  /** @type {(me: Me) => void} the workspace shows itself for this account */
  signedIn: () => {},
  /** @type {() => void} the workspace stops (polling, alerts) */
  signedOut: () => {},
};

/** @param {Me} me */
function showSignedIn(me) {
  auth.me = me;
  $("#login-view").hidden = true;
  $("#app").hidden = false;
  $("#who").hidden = false;
  const role = me.role_label ? `（${me.role_label}）` : "";
  $("#who-name").textContent = `已登录：${me.display_name}${role}`;
  hooks.signedIn(me);
}

/** @param {string} message shown on the login form ("" for none) */
function signedOut(message) {
  auth.me = null;
  auth.kind = null;
  setKey("");
  hooks.signedOut();
  $("#app").hidden = true;
  $("#who").hidden = true;
  $("#login-view").hidden = false;
  showError($("#login-error"), message ? new ApiError(0, message) : null);
  $("#login-user").focus();
}

/** @param {"session" | "key"} kind */
async function enter(kind) {
  auth.kind = kind;
  const me = await api("GET", "/api/staff/me");
  await loadLabels();
  showSignedIn(me);
}

/**
 * Wires the login form, the key login and 退出登录.
 * @param {{ signedIn: (me: Me) => void, signedOut: () => void }} options
 */
export function initSession({ signedIn, signedOut: stopped }) {
  hooks.signedIn = signedIn;
  hooks.signedOut = stopped;
  onSessionLost(signedOut);
  const form = $("#login-form");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(form, async () => {
      const errBox = $("#login-error");
      showError(errBox, null);
      const username = field("#login-user").value.trim();
      const password = field("#login-password").value;
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
      field("#login-password").value = "";
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
    const key = field("#api-key").value.trim();
    if (!key) return showError(errBox, new ApiError(0, "请先粘贴 API key"));
    setKey(key);
    try {
      await enter("key");
      field("#api-key").value = "";
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

/** A live cookie (reload, second tab) or a key saved in this tab: straight in; else the login. */
export async function start() {
  for (const kind of getKey() ? /** @type {const} */ (["key", "session"]) : /** @type {const} */ (["session"])) {
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
