// @ts-check
/*
 * POS 商户助手 chat widget: native ES modules under widget/, no build step, no dependencies.
 *
 * Embed on any site (floating bubble in the bottom-right corner):
 *   <script src="https://host/static/widget.js" data-api="https://host"></script>
 * Full-page mode (what / uses):
 *   <div id="chat"></div>
 *   <script src="/static/widget.js" data-mode="page" data-target="#chat"></script>
 *
 * This file is the loader, a classic script on purpose: only classic scripts get
 * document.currentScript, which is where the data-* options are read from. It then loads
 * widget/main.js from next to itself as a module script (cross-origin embeds: the app serves its
 * static files with Access-Control-Allow-Origin: *). A module script element, unlike import(),
 * delays the page's load event, so by `load` window.PosbotWidget is the widget's, as it was when
 * this was one classic script. Calls made before that wait for the modules; PosbotWidget.ready
 * resolves once the widget is on the page. See docs/widget.md.
 */
(() => {
  "use strict";

  if (window.PosbotWidget) return; // included twice: keep the first one

  const script = /** @type {HTMLScriptElement | null} */ (document.currentScript);
  const scriptUrl = new URL((script && script.src) || "/static/widget.js", document.baseURI).href;
  const data = { ...((script && script.dataset) || {}) };

  /** @type {[keyof PosbotWidgetApi, unknown[]][]} */
  const queued = [];
  /** @type {(api: PosbotWidgetApi) => void} */
  let resolveReady = () => {};
  /** @type {(err: unknown) => void} */
  let rejectReady = () => {};
  /** @type {Promise<PosbotWidgetApi>} */
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {}); // a page that never asks is not told about a failed load twice
  const later = (/** @type {keyof PosbotWidgetApi} */ name) => (/** @type {unknown[]} */ ...args) => {
    queued.push([name, args]);
  };
  /** @type {PosbotWidgetApi} */
  const stub = {
    pending: true,
    open: later("open"),
    close: later("close"),
    send: later("send"),
    setMerchant: later("setMerchant"),
    ready,
  };
  // What widget/main.js starts with (it reads it from the stand-in it replaces).
  Object.defineProperty(stub, "boot", { value: { data, scriptUrl, queued, ready: resolveReady } });
  window.PosbotWidget = stub;

  const entry = document.createElement("script");
  entry.type = "module";
  entry.src = new URL("widget/main.js", scriptUrl).href;
  entry.addEventListener("error", () => {
    const err = new Error(`posbot: the chat widget could not be loaded from ${entry.src}`);
    console.error(err.message);
    rejectReady(err);
  });
  (document.head || document.documentElement).appendChild(entry);
})();
