// window.__ganwatch: what the page currently shows, as plain data, for the browser tests and the benchmark.
import type { ChartGrid } from './charts/chart-grid.js';
import { chartColors } from './charts/chart-theme.js';
import type { ChartSnapshot } from './charts/metric-chart.js';
import type { DistributionsPanel, DistributionsSnapshot } from './components/distributions-panel.js';
import type { LatentPanel, LatentSnapshot } from './components/latent-panel.js';
import type { SamplesPanel, SamplesSnapshot } from './components/samples-panel.js';
import { live, type LiveState } from './live.js';

export interface GanwatchDebug {
  /** Every chart of the current view: drawn or not, its sources and its datasets' points. */
  charts(): ChartSnapshot[];
  /** One chart's snapshot (cheaper than all of them), or null. */
  chart(key: string): ChartSnapshot | null;
  /**
   * Resolves with Date.now() at the first animation frame where chart `key` draws a point (x, y) (x null: at any x) in a dataset of
   * one of `roles` (checked every frame, so the time is within a frame of the drawing); rejects after `timeoutMs`.
   */
  whenDrawn(key: string, x: number | null, y: number, roles?: readonly string[], timeoutMs?: number): Promise<number>;
  /** performance.now() at which each chart first drew its data. */
  drawnTimes(): Record<string, number>;
  samples(): SamplesSnapshot | null;
  latent(): LatentSnapshot | null;
  /** The run page's Distributions section: its charts, histograms and per-layer heatmap. */
  distributions(): DistributionsSnapshot | null;
  liveState(): LiveState;
  view(): string;
  /** The axis text and grid colours every Chart.js chart on the page draws with (they follow the theme). */
  chartColors(): Array<{ chart: string; text: string; grid: string }>;
}

export const current: {
  grid: ChartGrid | null;
  samples: SamplesPanel | null;
  latent: LatentPanel | null;
  distributions: DistributionsPanel | null;
  view: string;
} = {
  grid: null,
  samples: null,
  latent: null,
  distributions: null,
  view: '',
};

declare global {
  interface Window {
    __ganwatch: GanwatchDebug;
  }
}

export function installDebug(): void {
  window.__ganwatch = {
    charts: () => current.grid?.snapshot() ?? [],
    chart: (key) =>
      current.grid
        ?.chartList()
        .find((c) => c.plan.key === key)
        ?.snapshot() ?? null,
    whenDrawn: (key, x, y, roles = ['line'], timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const end = performance.now() + timeoutMs;
        const check = (): void => {
          const chart = current.grid?.chartList().find((c) => c.plan.key === key);
          if (roles.some((role) => chart?.hasPoint(role, x, y))) return resolve(Date.now());
          if (performance.now() > end)
            return reject(new Error(`chart ${key} did not draw (${x ?? 'any x'}, ${y}) in ${timeoutMs} ms`));
          requestAnimationFrame(check);
        };
        check();
      }),
    drawnTimes: () => {
      const out: Record<string, number> = {};
      for (const c of current.grid?.chartList() ?? []) if (c.drawnAt !== null) out[c.plan.key] = c.drawnAt;
      return out;
    },
    samples: () => current.samples?.snapshot() ?? null,
    latent: () => current.latent?.snapshot() ?? null,
    distributions: () => current.distributions?.snapshot() ?? null,
    liveState: () => live.state,
    view: () => current.view,
    chartColors,
  };
}
