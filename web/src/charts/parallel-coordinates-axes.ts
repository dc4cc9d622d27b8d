// The model behind the runs' parallel coordinates: which of the table's columns become axes (the config keys and metric
// aggregates that hold numbers), each axis' values per run, whether it is logarithmic, and which runs the brushes keep.
import type { RunRow } from '../../../protocol/index.js';
import { fieldKey, type Field } from '../../../protocol/run-query.js';
import { decodeValue } from '../../../protocol/wire.js';
import { columnLabel } from '../components/column-chooser.js';

/** Positive values spanning this many decades or more get a logarithmic axis. */
export const LOG_DECADES = 2;

export interface Axis {
  /** The column's key (`config.lr_d`, `best(val/fid)`): unique, used as the Chart.js axis id. */
  key: string;
  label: string;
  /** One value per run, in the runs' order; null where the run has no finite number there. */
  values: Array<number | null>;
  log: boolean;
}

/** A brush: the closed range of values an axis keeps. */
export type Brush = readonly [lo: number, hi: number];

/** A run's number in a column: config values that are numbers, finite metric aggregates. */
export function columnNumber(run: RunRow, f: Field): number | null {
  let v: unknown;
  if (f.kind === 'metric') {
    const c = run.columns[fieldKey(f)];
    v = c ? decodeValue(c.value) : undefined;
  } else if (f.kind === 'config') {
    v = run.config;
    for (const k of f.path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  }
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/**
 * The axes for these runs: every config or metric column with at least one number, in the table's order. An axis is
 * logarithmic when all its values are positive and span LOG_DECADES or more; with a zero or a negative value a log
 * axis could not place it, so it stays linear.
 */
export function axesOf(runs: readonly RunRow[], columns: readonly Field[]): Axis[] {
  const axes: Axis[] = [];
  for (const f of columns) {
    if (f.kind !== 'config' && f.kind !== 'metric') continue;
    const values = runs.map((r) => columnNumber(r, f));
    const present = values.filter((v): v is number => v !== null);
    if (present.length === 0) continue;
    let min = Infinity;
    let max = -Infinity;
    for (const v of present) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    const log = min > 0 && Math.log10(max / min) >= LOG_DECADES;
    axes.push({ key: fieldKey(f), label: columnLabel(f), values, log });
  }
  return axes;
}

/** Indexes of the runs drawn: those with a value on every axis (a line needs a point on each). */
export function drawable(axes: readonly Axis[], count: number): boolean[] {
  const ok = new Array<boolean>(count).fill(true);
  for (const a of axes) a.values.forEach((v, i) => (ok[i] = ok[i]! && v !== null));
  return ok;
}

/** Whether run `i` lies inside every brush (an axis without a brush keeps everything; no value: outside). */
export function insideBrushes(axes: readonly Axis[], brushes: ReadonlyMap<string, Brush>, i: number): boolean {
  for (const a of axes) {
    const b = brushes.get(a.key);
    if (!b) continue;
    const v = a.values[i];
    if (v === null || v === undefined || v < b[0] || v > b[1]) return false;
  }
  return true;
}

/** Maps a value to its place between the axis' extremes, 0..1 (on a log scale for a log axis), for the colour ramp. */
export function ramp(axis: Axis): (v: number) => number {
  const f = axis.log ? Math.log10 : (x: number): number => x;
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of axis.values)
    if (x !== null) {
      lo = Math.min(lo, f(x));
      hi = Math.max(hi, f(x));
    }
  return (v) => (hi > lo ? (f(v) - lo) / (hi - lo) : 0.5);
}

/** Brushes as the address keeps them: `key:lo:hi` joined by `;`, the ends rounded outwards to 4 significant digits. */
export function brushText(brushes: ReadonlyMap<string, Brush>): string {
  return [...brushes].map(([key, [lo, hi]]) => `${key}:${round(lo, Math.floor)}:${round(hi, Math.ceil)}`).join(';');
}

/** The brushes of an address' text; parts that are not `key:lo:hi` with lo ≤ hi are left out. */
export function parseBrushes(text: string): Map<string, Brush> {
  const out = new Map<string, Brush>();
  for (const part of text.split(';')) {
    const b = part.lastIndexOf(':');
    const a = part.lastIndexOf(':', b - 1);
    if (a <= 0) continue;
    const [loText, hiText] = [part.slice(a + 1, b), part.slice(b + 1)];
    if (loText === '' || hiText === '') continue;
    const [lo, hi] = [Number(loText), Number(hiText)];
    if (Number.isFinite(lo) && Number.isFinite(hi) && lo <= hi) out.set(part.slice(0, a), [lo, hi]);
  }
  return out;
}

function round(x: number, dir: (v: number) => number): string {
  if (x === 0) return '0';
  const unit = 10 ** (Math.floor(Math.log10(Math.abs(x))) - 3);
  return String(Number((dir(x / unit) * unit).toPrecision(4)));
}

/** One axis' place on the canvas and each run's height on it (NaN: no value). */
export interface AxisPixels {
  x: number;
  ys: readonly number[];
}

/**
 * The run whose line passes nearest to `at` (within `maxPx`, measured square to the line between the two axes either
 * side of the pointer), among those `accept` takes; null when none is that near.
 */
export function lineAt(
  axes: readonly AxisPixels[],
  at: { x: number; y: number },
  maxPx: number,
  accept: (run: number) => boolean,
): number | null {
  const j = axes.findIndex((a, k) => k + 1 < axes.length && a.x <= at.x && at.x <= axes[k + 1]!.x);
  if (j < 0) return null;
  const left = axes[j]!;
  const right = axes[j + 1]!;
  const dx = right.x - left.x;
  let best: number | null = null;
  let bestD = maxPx;
  left.ys.forEach((y0, k) => {
    const y1 = right.ys[k]!;
    if (Number.isNaN(y0) || Number.isNaN(y1) || !accept(k)) return;
    const slope = dx > 0 ? (y1 - y0) / dx : 0;
    const d = Math.abs(y0 + slope * (at.x - left.x) - at.y) / Math.sqrt(1 + slope * slope);
    if (d <= bestD) {
      bestD = d;
      best = k;
    }
  });
  return best;
}
