// Per-layer norms (`layer_grad/<net>/<layer>`, `layer_norm/<net>/<layer>`) as a steps × layers matrix for the heatmap,
// and which layers stand out: a layer whose norm is far below (vanishing) or far above (exploding) the other layers of
// its net. No DOM here, so it is tested in Node as well as drawn in the browser.
import type { SeriesResponse } from '../../../protocol/index.js';

/** A norm 100× below or above the median layer of its net stands out (two decades on the heatmap's log scale). */
export const OUTLIER_DECADES = 2;

/** One entry of a series read back: a raw point (from = to) or a bucket's mean. */
interface Entry {
  from: number;
  to: number;
  /** NaN when the entry held only non-finite values. */
  value: number;
  nonFinite: boolean;
}

export interface LayerMatrix {
  /** Metric names, one per row, sorted by net then name. */
  layers: string[];
  /** The net of each row: the path segment after the prefix. */
  nets: string[];
  /** Step range of each column: [from, to], equal widths. */
  columns: Array<[number, number]>;
  /** rows × columns, row-major: the mean norm in the cell; NaN = no point there. */
  values: Float64Array;
  /** rows × columns: 1 where the cell held a NaN or ±Infinity. */
  nonFinite: Uint8Array;
}

export type LayerFlagKind = 'vanishing' | 'exploding';

export interface LayerFlag {
  layer: string;
  kind: LayerFlagKind;
  /** The layer's norm ÷ its net's median layer (median over the columns for vanishing, the worst column for exploding). */
  ratio: number;
  /** The first step where it stood out. */
  step: number;
}

/** The net a layer metric belongs to: `layer_grad/G/down3` → `G`. */
export function netOf(metric: string): string {
  const parts = metric.split('/');
  return parts.length > 2 ? parts[1]! : '';
}

function entries(series: SeriesResponse): Entry[] {
  if (series.mode === 'raw') {
    return series.points.map(([step, v]) => {
      const value = typeof v === 'number' ? v : Number.NaN;
      return { from: step, to: step, value, nonFinite: typeof v !== 'number' };
    });
  }
  return series.buckets.map((b) => ({
    from: b.start,
    to: b.end,
    value: b.mean ?? Number.NaN,
    nonFinite: b.nonfinite > 0,
  }));
}

/** Lays series of layer norms on a common grid of at most `maxColumns` equal step ranges. */
export function layerMatrix(series: ReadonlyMap<string, SeriesResponse>, maxColumns: number): LayerMatrix {
  const layers = [...series.keys()].sort((a, b) => netOf(a).localeCompare(netOf(b)) || a.localeCompare(b));
  const byLayer = layers.map((l) => entries(series.get(l)!));
  let lo = Infinity;
  let hi = -Infinity;
  for (const list of byLayer)
    for (const e of list) {
      lo = Math.min(lo, e.from);
      hi = Math.max(hi, e.to);
    }
  const nets = layers.map(netOf);
  if (lo > hi) return { layers, nets, columns: [], values: new Float64Array(0), nonFinite: new Uint8Array(0) };
  const count = Math.max(1, Math.min(maxColumns, hi - lo + 1));
  const width = (hi - lo + 1) / count;
  const columns: Array<[number, number]> = Array.from({ length: count }, (_, c) => [
    Math.ceil(lo + c * width),
    c === count - 1 ? hi : Math.ceil(lo + (c + 1) * width) - 1,
  ]);
  const values = new Float64Array(layers.length * count).fill(Number.NaN);
  const nonFinite = new Uint8Array(layers.length * count);
  const sums = new Float64Array(layers.length * count);
  const ns = new Uint32Array(layers.length * count);
  byLayer.forEach((list, row) => {
    list.sort((a, b) => a.from - b.from);
    list.forEach((e, k) => {
      // Each entry holds until the next one starts, so sparse points and the server's buckets leave no holes.
      const until = Math.max(e.to, (list[k + 1]?.from ?? e.to + 1) - 1);
      const first = Math.max(0, Math.floor((e.from - lo) / width));
      const last = Math.min(count - 1, Math.floor((until - lo) / width));
      for (let c = first; c <= last; c++) {
        const i = row * count + c;
        if (e.nonFinite) nonFinite[i] = 1;
        if (Number.isFinite(e.value)) {
          sums[i]! += e.value;
          ns[i]!++;
        }
      }
    });
  });
  for (let i = 0; i < values.length; i++) if (ns[i]) values[i] = sums[i]! / ns[i]!;
  return { layers, nets, columns, values, nonFinite };
}

function median(xs: number[]): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * log10 of each cell ÷ the median layer of its net in the same column: 0 for a typical layer, −2 for one 100× below
 * its net's median. −Infinity for a zero norm; NaN where there is nothing to compare (no point, or a net of one layer).
 */
export function deviations(m: LayerMatrix): Float64Array {
  const cols = m.columns.length;
  const out = new Float64Array(m.values.length).fill(Number.NaN);
  const rowsOf = new Map<string, number[]>();
  m.nets.forEach((net, row) => rowsOf.set(net, [...(rowsOf.get(net) ?? []), row]));
  for (const rows of rowsOf.values()) {
    if (rows.length < 2) continue;
    for (let c = 0; c < cols; c++) {
      const logs = rows.map((r) => Math.log10(m.values[r * cols + c]!)).filter((v) => !Number.isNaN(v));
      const ref = median(logs.filter(Number.isFinite));
      if (!Number.isFinite(ref)) continue;
      for (const r of rows) {
        const v = m.values[r * cols + c]!;
        if (!Number.isNaN(v)) out[r * cols + c] = Math.log10(v) - ref;
      }
    }
  }
  return out;
}

/**
 * The layers that stand out from the other layers of their net. Exploding: any column OUTLIER_DECADES or more above
 * the net's median layer, or a non-finite norm. Vanishing: the layer's median deviation over the columns at least
 * OUTLIER_DECADES below (a layer that is small all along, not one dip), or a norm of exactly 0 in the latest column.
 */
export function flagLayers(m: LayerMatrix): LayerFlag[] {
  const cols = m.columns.length;
  const dev = deviations(m);
  const flags: LayerFlag[] = [];
  m.layers.forEach((layer, row) => {
    let worst = -Infinity;
    let explodedAt = -1;
    const devs: number[] = [];
    let lastValue = Number.NaN;
    for (let c = 0; c < cols; c++) {
      const i = row * cols + c;
      const d = dev[i]!;
      if (!Number.isNaN(m.values[i]!)) lastValue = m.values[i]!;
      if (!Number.isNaN(d)) devs.push(d);
      if (explodedAt < 0 && (m.nonFinite[i] || d >= OUTLIER_DECADES)) explodedAt = c;
      if (m.nonFinite[i]) worst = Infinity;
      else if (d > worst) worst = d;
    }
    if (explodedAt >= 0) {
      flags.push({ layer, kind: 'exploding', ratio: 10 ** worst, step: m.columns[explodedAt]![0] });
      return;
    }
    const typical = median(devs);
    if (typical <= -OUTLIER_DECADES || lastValue === 0) {
      const first = devs.length ? firstColumn(dev, row, cols, (d) => d <= -OUTLIER_DECADES) : -1;
      flags.push({
        layer,
        kind: 'vanishing',
        ratio: 10 ** typical,
        step: m.columns[Math.max(0, first)]![0],
      });
    }
  });
  return flags;
}

function firstColumn(dev: Float64Array, row: number, cols: number, test: (d: number) => boolean): number {
  for (let c = 0; c < cols; c++) if (test(dev[row * cols + c]!)) return c;
  return -1;
}
