// @ts-check
// Talking to the app service. The conversation belongs to this browser: POST /api/chat/session gives
// a signed token for the sender id, sent as "Authorization: Bearer" with every request and renewed by
// itself when it expires (docs/widget.md#session-token).

/** @typedef {import("./store.js").Store} Store */
/** @typedef {{ status: number, json: any }} Reply */
/**
 * @typedef {object} RequestOptions
 * @property {string | null} [token]
 * @property {unknown} [json] a JSON body
 * @property {FormData} [form] a multipart body
 */
/**
 * @typedef {object} CallExtras
 * @property {(sender: string) => string} [query] the query string, for the current sender id
 * @property {(sender: string) => FormData} [form] a multipart body, for the current sender id
 */

const SENDER_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

/** @param {number} bytes */
export function randomHex(bytes) {
  const a = new Uint8Array(bytes);
  window.crypto.getRandomValues(a);
  return Array.prototype.map.call(a, (/** @type {number} */ b) => `0${b.toString(16)}`.slice(-2)).join("");
}

const newSenderId = () => `w${randomHex(12)}`;

/**
 * One request; resolves to its status and JSON body (null when there is none), rejects on a network error.
 * @param {string} api
 * @param {string} method
 * @param {string} path
 * @param {RequestOptions} opts
 * @returns {Promise<Reply>}
 */
function request(api, method, path, opts) {
  /** @type {Record<string, string>} */
  const headers = { Accept: "application/json" };
  /** @type {string | FormData | undefined} */
  let body;
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    body = opts.form;
  }
  return fetch(api + path, { method, headers, body }).then((res) =>
    res
      .json()
      .catch(() => null)
      .then((json) => ({ status: res.status, json }))
  );
}

/** This browser's sender id and its session token, and the calls made with them. */
export class Session {
  /**
   * @param {Store} store
   * @param {string} api base URL of the app service
   * @param {string} ownSenderId the host page's data-sender-id ("" for none)
   */
  constructor(store, api, ownSenderId) {
    this.store = store;
    this.base = api;
    this.ownSenderId = ownSenderId;
    /** A new sender id was needed (the old conversation cannot be continued); tell: say so in the transcript. */
    this.onStartOver = (/** @type {boolean} */ _tell) => {};
    let sender = store.get("sender");
    if (!sender || !SENDER_RE.test(sender)) {
      sender = ownSenderId && SENDER_RE.test(ownSenderId) ? ownSenderId : newSenderId();
      store.set("sender", sender);
    }
    /** @type {string} */
    this.sender = sender;
    /** @type {string | null} */
    this.token = store.get("token");
    /** @type {Promise<string> | null} */
    this.sessionPromise = null;
  }

  /**
   * A session token for this.sender: the stored one, a renewed one, or a new conversation.
   * @param {boolean} renew
   * @returns {Promise<string>}
   */
  session(renew) {
    if (this.token && !renew) return Promise.resolve(this.token);
    if (this.sessionPromise) return this.sessionPromise;
    const save = (/** @type {Reply} */ r) => {
      this.sender = r.json.sender_id;
      this.token = r.json.token;
      this.store.set("sender", this.sender);
      this.store.set("token", r.json.token);
      return /** @type {string} */ (r.json.token);
    };
    /** @type {(attempt: number) => Promise<string>} */
    const claim = (attempt) =>
      request(this.base, "POST", "/api/chat/session", { json: { sender_id: this.sender } }).then((r) => {
        if (r.status === 200 && r.json && r.json.token) return save(r);
        if (r.status === 409 && attempt < 2) {
          // The id belongs to another browser (or an earlier version of this widget): start afresh.
          if (this.ownSenderId && this.sender === this.ownSenderId && window.console) {
            console.warn("posbot: data-sender-id is in use by another browser; this visit gets its own conversation");
          }
          this.startOver(false);
          return claim(attempt + 1);
        }
        throw new Error(`session HTTP ${r.status}`);
      });
    const first = this.token
      ? request(this.base, "POST", "/api/chat/session", { json: { sender_id: this.sender, token: this.token } }).then((r) => {
          if (r.status === 200 && r.json && r.json.token) return save(r);
          if (r.status === 401 || r.status === 403) {
            this.startOver(true); // too old (or not ours) to renew: a new conversation
            return claim(0);
          }
          throw new Error(`session HTTP ${r.status}`);
        })
      : claim(0);
    this.sessionPromise = first.then(
      (token) => {
        this.sessionPromise = null;
        return token;
      },
      (err) => {
        this.sessionPromise = null;
        throw err;
      }
    );
    return this.sessionPromise;
  }

  /**
   * A new sender id (the old conversation cannot be continued); the transcript stays on screen.
   * @param {boolean} tell say so in the transcript
   */
  startOver(tell) {
    this.sender = newSenderId();
    this.token = null;
    this.store.set("sender", this.sender);
    this.store.remove("token");
    this.onStartOver(tell);
  }

  /**
   * An authenticated request; the body may be a function of the (current) sender id. A refused
   * session (expired, renewed elsewhere) is renewed once and the request repeated.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body] JSON, or a function of the sender id that returns it
   * @param {CallExtras} [extra]
   * @returns {Promise<Reply>}
   */
  api(method, path, body, extra = {}) {
    const attempt = (/** @type {boolean} */ renew) =>
      this.session(renew).then((token) => {
        /** @type {RequestOptions} */
        const opts = { token };
        if (typeof body === "function") opts.json = body(this.sender);
        else if (body !== undefined && body !== null) opts.json = body;
        if (extra.form) opts.form = extra.form(this.sender);
        const p = extra.query ? path + (path.indexOf("?") < 0 ? "?" : "&") + extra.query(this.sender) : path;
        return request(this.base, method, p, opts);
      });
    return attempt(false).then((r) => {
      const code = r.json && r.json.code;
      if ((r.status === 401 || r.status === 403) && code && code.indexOf("session_") === 0) return attempt(true);
      return r;
    });
  }
}
