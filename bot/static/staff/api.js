// @ts-check
// Transport of the staff workspace: JSON calls to the app's API, signed in either with the account's
// session cookie (HttpOnly: scripts never see it) or with a pasted API key (kept in sessionStorage).

const KEY_STORE = "posbot.staff.apiKey";

/**
 * The signed-in account (GET /api/staff/me).
 * @typedef {{ username?: string, display_name: string, role?: string, role_label?: string, scopes?: string[] }} Me
 */

/** Who is signed in and how: kind "session" (cookie) or "key" (pasted API key). */
export const auth = {
  /** @type {Me | null} */
  me: null,
  /** @type {"session" | "key" | null} */
  kind: null,
};

/** A failed call, with a message for the user (describeError) and the HTTP status (0: no answer). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   */
  constructor(status, message) {
    super(message);
    this.status = status;
    /** @type {any} the error body, when there was one */
    this.body = undefined;
  }
}

let memoryKey = "";

/** The API key of this tab ("" when signed in with a session or not at all). */
export function getKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || "";
  } catch {
    return memoryKey;
  }
}

/** @param {string} value */
export function setKey(value) {
  memoryKey = value;
  try {
    if (value) sessionStorage.setItem(KEY_STORE, value);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    /* storage blocked: memory only */
  }
}

/** The key to send in X-API-Key: only when signed in with one. */
export const apiKey = () => (auth.kind === "key" ? getKey() : "");

/** Headers that authenticate a request made without api() (photos, CSV downloads). */
export function authHeaders() {
  /** @type {Record<string, string>} */
  const headers = {};
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  return headers;
}

/**
 * May the signed-in account use a write scope? An API key with tickets:write may also reply in conversations.
 * @param {Me} me
 * @param {string} scope
 */
export function canWrite(me, scope) {
  const scopes = me.scopes || [];
  return scopes.includes(scope) || (auth.kind === "key" && scope.startsWith("conversations:") && scopes.includes(scope.replace("conversations", "tickets")));
}

/** @type {(message: string) => void} */
let sessionLost = () => {};

/** What to do when a signed-in call answers 401 (session.js: back to the login). */
export function onSessionLost(/** @type {(message: string) => void} */ handler) {
  sessionLost = handler;
}

/**
 * Human-readable text of an error body, whatever its shape.
 * @param {any} body
 * @returns {string}
 */
function detailText(body) {
  if (!body) return "";
  const d = body.detail ?? body.error ?? body.message ?? body.errors;
  if (typeof d === "string") return d;
  if (Array.isArray(d)) {
    return d
      .map((e) => (typeof e === "string" ? e : e && (e.msg || e.message) ? e.msg || e.message : JSON.stringify(e)))
      .join("；");
  }
  if (d && typeof d === "object") return d.message || d.msg || d.detail || JSON.stringify(d);
  return "";
}

/**
 * The Chinese message of a failed call.
 * @param {number} status
 * @param {any} body
 */
export function describeError(status, body) {
  const detail = detailText(body);
  if (status === 401) return auth.kind === "key" ? "API key 无效或已停用" : "登录已失效，请重新登录";
  if (status === 403) return auth.kind === "key" ? "API key 无效或权限不足" : "您的账号没有这个操作的权限";
  if (status === 404) return detail || "没有找到（HTTP 404）";
  if (status === 409) return `操作冲突：${detail || "数据已被修改，请刷新后重试"}`;
  if (status === 422 || status === 400) return `输入有误：${detail || `HTTP ${status}`}`;
  if (status === 429) return "请求太频繁，请稍后再试";
  if (status >= 500) return `服务器出错（HTTP ${status}），请稍后再试${detail ? `：${detail}` : ""}`;
  return detail || `请求失败（HTTP ${status}）`;
}

/**
 * @typedef {object} CallOptions
 * @property {Record<string, string | number | boolean | null | undefined>} [query] empty values are left out
 * @property {unknown} [body] sent as JSON
 */

/**
 * One JSON call; resolves to the response body, rejects with an ApiError.
 * @param {string} method
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<any>}
 */
export async function api(method, path, { query, body } = {}) {
  const key = apiKey();
  let url = path;
  if (query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") qs.set(k, String(v));
    const s = qs.toString();
    if (s) url += `?${s}`;
  }
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      credentials: "same-origin", // the session cookie (HttpOnly: scripts never see it)
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "无法连接服务器，请检查网络后重试");
  }
  let json = null;
  try {
    json = await res.json();
  } catch {
    /* empty or non-JSON body */
  }
  if (res.status === 401 && auth.me && !path.startsWith("/api/staff/login")) sessionLost("登录已失效，请重新登录");
  if (!res.ok) throw Object.assign(new ApiError(res.status, describeError(res.status, json)), { body: json });
  return json;
}
