// @ts-check
// A new handoff in the 人工会话 queue: a short two-tone beep (Web Audio, no sound file) and the page
// title "(2) 新的人工会话" until the agent looks at the queue (opens the tab, or clicks or types in it).
// The queue itself is polled by queue.js; this module only compares what each poll brings.
// The mute switch (🔔 / 🔕) sits beside the queue's refresh button and is remembered by the browser.

const MUTE_KEY = "posbot.staff.queueMuted";
const ALERT_TITLE = "新的人工会话";

const state = {
  /** @type {Set<string> | null} the conversations of the last poll (null: none yet since sign-in) */
  known: null,
  /** @type {Set<string>} arrivals the agent has not looked at */
  unseen: new Set(),
  /** @type {AudioContext | null} */
  audio: null,
  muted: false,
  isQueueShown: () => false,
  restoreTitle: () => {},
  /** @type {HTMLButtonElement | null} */
  button: null,
};

function loadMuted() {
  try {
    return localStorage.getItem(MUTE_KEY) === "1";
  } catch {
    return false;
  }
}

/** @param {boolean} on */
function saveMuted(on) {
  try {
    if (on) localStorage.setItem(MUTE_KEY, "1");
    else localStorage.removeItem(MUTE_KEY);
  } catch {
    /* storage blocked: this page only */
  }
}

function showMute() {
  const b = state.button;
  if (!b) return;
  b.textContent = state.muted ? "🔕 提示音：关" : "🔔 提示音：开";
  b.setAttribute("aria-pressed", String(!state.muted));
  b.title = state.muted ? "新的人工会话不再响铃（标题仍会提示）" : "新的人工会话到来时响一声";
}

/** Browsers start audio only after the person did something on the page: unlock on the first gesture. */
function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  if (!state.audio) {
    try {
      state.audio = new Ctx();
    } catch {
      return;
    }
  }
  if (state.audio.state === "suspended") state.audio.resume().catch(() => {});
}

function beep() {
  if (state.muted) return;
  unlockAudio();
  const audio = state.audio;
  if (!audio) return;
  const t0 = audio.currentTime + 0.02;
  [880, 660].forEach((freq, i) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    const start = t0 + i * 0.18;
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.16);
    osc.connect(gain).connect(audio.destination);
    osc.start(start);
    osc.stop(start + 0.17);
  });
}

function applyTitle() {
  if (state.unseen.size) document.title = `(${state.unseen.size}) ${ALERT_TITLE}`;
}

/**
 * @param {{ refreshButton: HTMLElement, isQueueShown: () => boolean, restoreTitle: () => void }} options
 */
export function initQueueAlert({ refreshButton, isQueueShown, restoreTitle }) {
  state.isQueueShown = isQueueShown;
  state.restoreTitle = restoreTitle;
  state.muted = loadMuted();
  const button = document.createElement("button");
  state.button = button;
  button.type = "button";
  button.className = "secondary queue-mute";
  button.addEventListener("click", () => {
    state.muted = !state.muted;
    saveMuted(state.muted);
    showMute();
    if (!state.muted) beep(); // what it will sound like
  });
  showMute();
  refreshButton.before(button);
  for (const type of ["pointerdown", "keydown"]) {
    document.addEventListener(type, unlockAudio, { capture: true, passive: true });
    document.addEventListener(type, () => state.isQueueShown() && looked(), { passive: true });
  }
}

/**
 * Each poll's queue (queue.js loadWaiting): beep and alert for conversations that were not there before.
 * @param {{ conversation_id: string }[]} items
 */
export function queueUpdated(items) {
  const ids = new Set(items.map((c) => c.conversation_id));
  if (state.known === null) {
    state.known = ids; // what was waiting at sign-in is in the count already, not news
    return;
  }
  const known = state.known;
  const arrived = [...ids].filter((id) => !known.has(id));
  state.known = ids;
  for (const id of [...state.unseen]) if (!ids.has(id)) state.unseen.delete(id);
  if (arrived.length) {
    arrived.forEach((id) => state.unseen.add(id));
    beep();
  }
  applyTitle();
}

/** The agent looked at the queue: the title goes back to the count. */
export function looked() {
  if (!state.unseen.size) return;
  state.unseen.clear();
  state.restoreTitle();
}

export function resetQueueAlert() {
  state.known = null;
  state.unseen.clear();
}
