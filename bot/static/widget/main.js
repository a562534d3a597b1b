// @ts-check
// Entry of the chat widget's modules, loaded by static/widget.js (the classic script host pages
// embed): starts the chat with what the loader's stand-in window.PosbotWidget carries (`boot`), and
// replaces the stand-in with the real API.
//
//   config.js    the data-* options          store.js      what this browser keeps (transcript, session)
//   transport.js requests and the session    chat.js       the conversation
//   view.js      the panel, puts the rest together:  messages.js (one row of the transcript),
//                scroll.js (the log and its scrolling), composer.js (input, quick questions, photo)
//   dom.js, media.js  helpers

import { Chat } from "./chat.js";
import { merchantFrom, readConfig } from "./config.js";

/**
 * @typedef {object} Boot what the loader hands over (PosbotWidget.boot)
 * @property {Record<string, string | undefined>} data the script tag's data-* options
 * @property {string} scriptUrl where widget.js was loaded from
 * @property {[keyof PosbotWidgetApi, unknown[]][]} queued calls the host page made while the modules loaded
 * @property {(api: PosbotWidgetApi) => void} ready resolves PosbotWidget.ready
 */

/** @param {Boot} boot */
function start(boot) {
  const init = () => {
    const w = new Chat(readConfig(boot.data, boot.scriptUrl));
    const stub = window.PosbotWidget;
    /** @type {PosbotWidgetApi} */
    const api = {
      open() {
        w.view.open();
      },
      close() {
        w.view.close(false);
      },
      send(text) {
        if (text && !w.view.busy) w.send(String(text), null);
      },
      /** The host page signed a new identity (e.g. after posbot:merchant-identity-rejected). */
      setMerchant(identity) {
        w.merchant = merchantFrom(identity);
      },
      get senderId() {
        return w.session.sender;
      },
      ready: stub && stub.ready,
    };
    window.PosbotWidget = api;
    for (const [name, args] of boot.queued) /** @type {any} */ (api)[name](...args);
    boot.ready(api);
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
}

const boot = /** @type {{ boot?: Boot } | undefined} */ (window.PosbotWidget)?.boot;
if (boot) start(boot);
else console.error("posbot: load the chat widget with <script src=\".../static/widget.js\">, not widget/main.js");
