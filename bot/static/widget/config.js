// @ts-check
// The widget's options: the data-* attributes of its <script> tag (docs/widget.md), read by the
// loader (static/widget.js) and handed over as they are.

/**
 * @typedef {object} Config
 * @property {string} api base URL of the app service, no trailing slash
 * @property {string} cssUrl the stylesheet of the shadow root
 * @property {"page" | "float"} mode
 * @property {string} target CSS selector of the container in page mode ("" for body)
 * @property {string} title
 * @property {string} subtitle
 * @property {number} maxChars
 * @property {number} pollMs
 * @property {boolean} sound
 * @property {boolean} open
 * @property {string} senderId the host page's own sender id ("" for none)
 * @property {string} owner who the host page says is here (signed merchant id or sender id)
 * @property {Merchant | null} merchant the merchant identity the host page signed
 */

/** @typedef {{ id: string, expires: number, signature: string }} Merchant */

/**
 * @param {Record<string, string | undefined>} data the script tag's dataset
 * @param {string} scriptUrl where widget.js was loaded from
 * @returns {Config}
 */
export function readConfig(data, scriptUrl) {
  const script = new URL(scriptUrl, document.baseURI);
  const maxChars = parseInt(data.maxChars || "", 10);
  const poll = parseFloat(data.poll || "");
  return {
    api: (data.api || script.origin).replace(/\/+$/, ""),
    cssUrl: data.css || new URL("widget.css", script).href,
    mode: data.mode === "page" ? "page" : "float",
    target: data.target || "",
    title: data.title || "POS 商户助手",
    subtitle: data.subtitle || "刷卡机、收银机问题，随时问我",
    maxChars: maxChars > 0 ? maxChars : 1000,
    pollMs: (poll > 0 ? poll : 4) * 1000,
    sound: data.sound === "true",
    open: data.open === "true",
    senderId: data.senderId || "",
    owner: data.merchantId || data.senderId || "",
    merchant: merchantFromData(data),
  };
}

/**
 * The merchant identity the host page signed (data-merchant-id, -expires, -signature), or null.
 * @param {Record<string, string | undefined>} data
 * @returns {Merchant | null}
 */
function merchantFromData(data) {
  if (!data.merchantId || !data.merchantSignature) return null;
  return { id: String(data.merchantId), expires: parseInt(data.merchantExpires || "", 10), signature: String(data.merchantSignature) };
}

/**
 * An identity passed to PosbotWidget.setMerchant, in the shape the API takes (null: none).
 * @param {any} identity
 * @returns {Merchant | null}
 */
export function merchantFrom(identity) {
  return identity && identity.id
    ? { id: String(identity.id), expires: parseInt(identity.expires, 10), signature: String(identity.signature) }
    : null;
}
