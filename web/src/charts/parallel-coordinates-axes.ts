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
