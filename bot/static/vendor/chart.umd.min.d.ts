// What the staff workspace uses of the vendored Chart.js UMD build (chart.umd.min.js sets globalThis.Chart).
// Types for the type check only (jsconfig.json); the browser never loads this file.

export interface ChartInstance {
  destroy(): void;
  data: { datasets: { data: unknown[] }[] };
}

export interface ChartConstructor {
  new (canvas: HTMLCanvasElement, config: { type: string; data: unknown; options?: Record<string, unknown> }): ChartInstance;
  defaults: { font: { family: string }; animation: unknown };
  getChart(canvas: HTMLCanvasElement | string): ChartInstance | undefined;
}

declare global {
  var Chart: ChartConstructor;
}
