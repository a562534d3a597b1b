// Globals the browser JavaScript of bot/static uses beyond lib.dom (for the type check only, jsconfig.json;
// the browser never loads this file).

interface Window {
  /** The chat widget's API for the host page (static/widget.js, widget/main.js; docs/widget.md). */
  PosbotWidget?: PosbotWidgetApi;
  /** Safari before 14.1. */
  webkitAudioContext?: typeof AudioContext;
}

interface PosbotWidgetApi {
  /** true until the widget's modules have loaded (calls made meanwhile wait for them) */
  pending?: boolean;
  open(): void;
  close(): void;
  send(text: string): void;
  setMerchant(identity: { id: string; expires: number | string; signature: string } | null): void;
  readonly senderId?: string;
  /** resolves once the widget is on the page */
  ready?: Promise<PosbotWidgetApi>;
}
