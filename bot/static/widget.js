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
 * document.currentScript, which is where the data-* options are read from. It then imports
 * widget/main.js from next to itself (cross-origin embeds: the app serves its static files with
 * Access-Control-Allow-Origin: *). Calls to window.PosbotWidget made meanwhile wait for the
 * modules; PosbotWidget.ready resolves once the widget is on the page. See docs/widget.md.
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
  window.PosbotWidget = {
    pending: true,
    open: later("open"),
    close: later("close"),
    send: later("send"),
    setMerchant: later("setMerchant"),
    ready,
  };

  import(new URL("widget/main.js", scriptUrl).href).then(
    (widget) => widget.start({ data, scriptUrl, queued, ready: resolveReady }),
    (err) => {
      console.error("posbot: the chat widget could not be loaded", err);
      rejectReady(err);
    }
  );
})();
