// Chart.js, tree-shaken: only the line controller, its elements, linear/log scales, the band filler and tooltips.
// Also our two extensions: an interaction mode that picks the nearest point of every curve at the pointer's x, and a
// plugin that draws vertical marker lines (NaN/Inf, change points, alerts).
import {
  Chart,
  Filler,
  Interaction,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartDataset,
  type InteractionItem,
  type InteractionModeFunction,
  type Plugin,
} from 'chart.js';
import { installChartTheme } from './chart-theme.js';
import type { Entry } from './series-buffer.js';

declare module 'chart.js' {
  interface InteractionModeMap {
    /** The nearest point (by x) of every curve, plus markers within a few pixels. */
    gwCurves: InteractionModeFunction;
  }
}

/** What a dataset draws; kept beside Chart.js's own dataset objects. */
export type DatasetRole = 'band-lo' | 'band-hi' | 'line' | 'smooth' | 'nonfinite' | 'event' | 'gap' | 'scatter';

export interface DatasetInfo {
  role: DatasetRole;
  run: string;
  runName: string;
  /** Marker colour for vertical lines. */
  color?: string;
}

/** A drawn point with what it came from, for tooltips. */
export interface GwPoint {
  x: number;
  y: number;
  e?: Entry;
  /** The smoothed value at this entry, when smoothing is on. */
  s?: number;
  /** A marker's text. */
  text?: string;
}

/** What every line chart of ours sets: drawn at once (no animation), sized by its box, fed ready { x, y } points. */
export const STATIC_LINE_OPTIONS = {
  animation: false,
  responsive: true,
  maintainAspectRatio: false,
  parsing: false,
  normalized: true,
} as const;

export const datasetInfo = new WeakMap<object, DatasetInfo>();

export type GwDataset = ChartDataset<'line', GwPoint[]>;

export const MARKER_ROLES: ReadonlySet<DatasetRole> = new Set(['nonfinite', 'event', 'gap']);
const CURVE_ROLES: ReadonlySet<DatasetRole> = new Set(['line', 'scatter']);

/** Index of the point whose x is nearest `x` in data sorted by x. */
export function nearestIndex(data: readonly GwPoint[], x: number): number {
  let lo = 0;
  let hi = data.length - 1;
  if (hi < 0) return -1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (data[mid]!.x < x) lo = mid + 1;
    else hi = mid;
  }
  if (lo > 0 && Math.abs(data[lo - 1]!.x - x) <= Math.abs(data[lo]!.x - x)) return lo - 1;
  return lo;
}

const gwCurves: InteractionModeFunction = (chart, e) => {
  const items: InteractionItem[] = [];
  const area = chart.chartArea;
  if (e.x === null || e.y === null || e.x < area.left || e.x > area.right) return items;
  const scale = chart.scales.x;
  if (!scale) return items;
  const x = scale.getValueForPixel(e.x);
  if (x === undefined) return items;
  chart.data.datasets.forEach((ds, datasetIndex) => {
    const info = datasetInfo.get(ds);
    if (!info || !chart.isDatasetVisible(datasetIndex)) return;
    const data = ds.data as GwPoint[];
    const meta = chart.getDatasetMeta(datasetIndex);
    if (CURVE_ROLES.has(info.role)) {
      if (info.role === 'scatter') {
        // Latent scatter: the nearest point in 2-D, within 8 px.
        let best = -1;
        let bestD = 64;
        meta.data.forEach((el, i) => {
          const d = (el.x - e.x!) ** 2 + (el.y - e.y!) ** 2;
          if (d < bestD) {
            bestD = d;
            best = i;
          }
        });
        if (best >= 0) items.push({ element: meta.data[best]!, datasetIndex, index: best });
        return;
      }
      const i = nearestIndex(data, x);
      const el = meta.data[i];
      if (i >= 0 && el) items.push({ element: el, datasetIndex, index: i });
    } else if (MARKER_ROLES.has(info.role)) {
      const i = nearestIndex(data, x);
      const el = meta.data[i];
      if (i >= 0 && el && Math.abs(el.x - e.x!) <= 5) items.push({ element: el, datasetIndex, index: i });
    }
  });
  return items;
};

/** Vertical lines under every marker point, so a NaN or an alert is seen at a glance across the plot. */
const markerLines: Plugin<'line'> = {
  id: 'gwMarkerLines',
  beforeDatasetsDraw(chart) {
    const { ctx, chartArea } = chart;
    chart.data.datasets.forEach((ds, i) => {
      const info = datasetInfo.get(ds);
      if (!info || !MARKER_ROLES.has(info.role) || !chart.isDatasetVisible(i)) return;
      ctx.save();
      ctx.strokeStyle = info.color ?? '#b00020';
      // A connection gap concerns the whole run, not a value: a wider, longer-dashed line than a NaN or an event.
      ctx.globalAlpha = 0.55;
      ctx.lineWidth = info.role === 'gap' ? 2 : 1;
      ctx.setLineDash(info.role === 'gap' ? [8, 4] : info.role === 'event' ? [4, 3] : [2, 2]);
      for (const el of chart.getDatasetMeta(i).data) {
        if (!Number.isFinite(el.x)) continue;
        ctx.beginPath();
        ctx.moveTo(Math.round(el.x) + 0.5, chartArea.top);
        ctx.lineTo(Math.round(el.x) + 0.5, chartArea.bottom);
        ctx.stroke();
      }
      ctx.restore();
    });
  },
};

let registered = false;
export function registerCharts(): void {
  if (registered) return;
  registered = true;
  Chart.register(
    LineController,
    LineElement,
    PointElement,
    LinearScale,
    LogarithmicScale,
    Filler,
    Tooltip,
    markerLines,
  );
  (Interaction.modes as { gwCurves: InteractionModeFunction }).gwCurves = gwCurves;
  Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
  Chart.defaults.font.size = 11;
  installChartTheme();
}

export { Chart };
