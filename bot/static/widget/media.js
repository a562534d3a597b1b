// @ts-check
// What the widget asks of the browser beyond the DOM: the clipboard, images drawn to a canvas,
// a chime, and the page title while a reply waits in a background tab.

import { el } from "./dom.js";

/**
 * Copies text (the Clipboard API on secure pages, a hidden textarea elsewhere).
 * @param {string} text
 * @returns {Promise<void>}
 */
export function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  return new Promise((resolve, reject) => {
    const t = el("textarea", { style: "position:fixed;top:-1000px;opacity:0", readonly: true });
    t.value = text;
    document.body.appendChild(t);
    t.select();
    let ok = false;
    try {
      ok = document.execCommand("copy");
    } catch {
      ok = false;
    }
    t.remove();
    ok ? resolve() : reject(new Error("copy failed"));
  });
}

/**
 * A downscaled copy of an image file as a canvas, or null when the browser cannot decode it.
 * @param {Blob} file
 * @param {number} side the long side at most, in pixels
 * @returns {Promise<HTMLCanvasElement | null>}
 */
export function drawImage(file, side) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.onload = () => {
      const scale = Math.min(1, side / Math.max(img.naturalWidth, img.naturalHeight));
      const c = document.createElement("canvas");
      c.width = Math.max(1, Math.round(img.naturalWidth * scale));
      c.height = Math.max(1, Math.round(img.naturalHeight * scale));
      /** @type {CanvasRenderingContext2D} */ (c.getContext("2d")).drawImage(img, 0, 0, c.width, c.height);
      URL.revokeObjectURL(url);
      resolve(c);
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      resolve(null);
    };
    img.src = url;
  });
}

/** @type {AudioContext | null} */
let audioCtx = null;

/** A short chime (Web Audio, no sound file); no sound is fine. */
export function chime() {
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    audioCtx = audioCtx || new Ctx();
    const osc = audioCtx.createOscillator();
    const gain = audioCtx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.08;
    osc.connect(gain);
    gain.connect(audioCtx.destination);
    osc.start();
    osc.stop(audioCtx.currentTime + 0.18);
  } catch {
    /* no sound is fine */
  }
}

/** Alternates the page title while a staff reply waits in a background tab. */
export const titleFlash = {
  /** @type {ReturnType<typeof setInterval> | null} */
  timer: null,
  original: "",
  /** @param {string} text */
  start(text) {
    if (this.timer) return;
    let on = false;
    this.original = document.title;
    this.timer = setInterval(() => {
      on = !on;
      document.title = on ? `【${text}】${this.original}` : this.original;
    }, 1000);
    document.title = `【${text}】${this.original}`;
  },
  stop() {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    document.title = this.original;
  },
};
