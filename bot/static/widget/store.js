// @ts-check
// What the widget keeps in this browser, under "posbot:<api>:": the sender id and session token, the
// transcript (the last 80 messages), the 转人工 state, and whether this browser ever talked (active).
// localStorage may be blocked (third-party iframes, some in-app browsers): then memory, for the visit.

const HISTORY_MAX = 80;
const CONVERSATION_KEYS = ["sender", "token", "history", "handoff", "handoff-notice", "active"];

/**
 * One message of the transcript, as stored.
 * @typedef {object} Entry
 * @property {"user" | "bot" | "staff" | "system"} kind
 * @property {string} [text]
 * @property {number} [at] ms since the epoch
 * @property {"sending" | "sent" | "failed"} [state] the merchant's own messages
 * @property {string} [uid] id of a staff reply or notification (GET /api/chat/updates)
 * @property {string} [author] the agent's name
 * @property {string[]} [tickets] ticket numbers in the text
 * @property {{ title: string, payload: string }[]} [buttons]
 * @property {number} [used] index of the button clicked
 * @property {{ subject: string, value?: number }} [rating]
 * @property {string} [photo] data: URL of the merchant's thumbnail
 * @property {boolean} [photoPending]
 * @property {boolean} [welcome] the greeting (never stored)
 */

export class Store {
  /** @param {string} api the app's base URL: each app gets its own keys */
  constructor(api) {
    this.prefix = `posbot:${api}:`;
    /** @type {Record<string, string>} */
    this.memory = {};
  }

  /** @param {string} name */
  get(name) {
    const k = this.prefix + name;
    try {
      return window.localStorage.getItem(k);
    } catch {
      return Object.prototype.hasOwnProperty.call(this.memory, k) ? this.memory[k] : null;
    }
  }

  /**
   * @param {string} name
   * @param {string} value
   */
  set(name, value) {
    const k = this.prefix + name;
    try {
      window.localStorage.setItem(k, value);
    } catch {
      this.memory[k] = value;
    }
  }

  /** @param {string} name */
  remove(name) {
    const k = this.prefix + name;
    try {
      window.localStorage.removeItem(k);
    } catch {
      delete this.memory[k];
    }
  }

  /**
   * The name of a storage key of ours (a `storage` event from another tab), or null.
   * @param {string | null} key
   */
  nameOf(key) {
    return key && key.indexOf(this.prefix) === 0 ? key.slice(this.prefix.length) : null;
  }

  /**
   * Who the host page says is here (a signed merchant id or its own sender id). When that changes
   * on this browser (another merchant logs in at the shop's PC), the previous merchant's
   * conversation is not shown: local transcript and session are dropped.
   * @param {string} owner
   */
  claimFor(owner) {
    if ((this.get("owner") || "") === owner) return;
    CONVERSATION_KEYS.forEach((k) => this.remove(k));
    if (owner) this.set("owner", owner);
    else this.remove("owner");
  }
}

/** The transcript of this browser's conversation, and the ids of the updates it shows. */
export class History {
  /** @param {Store} store */
  constructor(store) {
    this.store = store;
    /** @type {Entry[]} */
    this.entries = [];
    /** @type {Record<string, boolean>} */
    this.seen = {};
    this.load();
  }

  /** (Re)reads the stored transcript (another tab of this site may have added to it). */
  load() {
    this.entries = readHistory(this.store);
    this.entries.forEach((e) => {
      if (e.uid) this.seen[e.uid] = true;
    });
  }

  /** @param {Entry} entry */
  remember(entry) {
    this.entries.push(entry);
    if (this.entries.length > HISTORY_MAX) this.entries = this.entries.slice(-HISTORY_MAX);
    this.save();
  }

  save() {
    try {
      this.store.set("history", JSON.stringify(this.entries));
    } catch {
      /* quota: not worth bothering the merchant */
    }
  }

  /** @param {string} subject has this handoff or ticket been rated here? */
  rated(subject) {
    return this.entries.some((e) => e.rating && e.rating.subject === subject);
  }
}

/**
 * @param {Store} store
 * @returns {Entry[]}
 */
function readHistory(store) {
  try {
    const h = JSON.parse(store.get("history") || "[]");
    return Array.isArray(h) ? h : [];
  } catch {
    return [];
  }
}
