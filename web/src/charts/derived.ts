// Derived curves (e.g. G loss ÷ D loss): combines input series at matching steps (raw) or matching buckets.
import type { SeriesBuffer, Entry } from './series-buffer.js';
import { bucketGrid } from '../../../protocol/bucket-grid.js';

/**
 * Raw inputs are joined step by step. When any input is bucketed, every input is grouped onto one grid (the
 * coarsest input's) and joined bucket by bucket, combining the bucket means. Entries carry only a mean: a ratio of
 * envelopes has no exact min/max, so derived charts draw no band.
 */
export function deriveEntries(
  inputs: readonly SeriesBuffer[],
  combine: (values: readonly number[]) => number,
  budget: number,
): { entries: Entry[]; raw: boolean } {
  if (inputs.length === 0 || inputs.some((b) => b.entries.length === 0)) return { entries: [], raw: true };
  if (inputs.every((b) => b.raw)) {
    const maps = inputs.slice(1).map((b) => new Map(b.entries.map((e) => [e.start, e])));
    const out: Entry[] = [];
    for (const e of inputs[0]!.entries) {
      const values = [e.mean];
      let wall = e.wall;
      for (const m of maps) {
        const other = m.get(e.start);
        values.push(other ? other.mean : null);
        if (other) wall = Math.max(wall, other.wall);
      }
      if (values.some((v) => v === null)) continue;
      const v = combine(values as number[]);
      if (!Number.isFinite(v)) continue;
      out.push({ start: e.start, end: e.start, min: v, max: v, mean: v, last: v, count: 1, nonfinite: 0, wall });
    }
    return { entries: out, raw: true };
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (const b of inputs) {
    lo = Math.min(lo, b.firstStep!);
    hi = Math.max(hi, b.lastStep!);
  }
  const { width, origin } = bucketGrid(lo, hi, budget);
  const grouped = inputs.map((b) => {
    const m = new Map<number, { sum: number; count: number; wall: number; start: number; end: number }>();
    for (const e of b.entries) {
      if (e.mean === null || e.count === 0) continue;
      const i = Math.floor((e.start - origin) / width);
      const g = m.get(i);
      if (g) {
        g.sum += e.mean * e.count;
        g.count += e.count;
        g.wall = Math.max(g.wall, e.wall);
        g.end = Math.max(g.end, e.end);
      } else m.set(i, { sum: e.mean * e.count, count: e.count, wall: e.wall, start: e.start, end: e.end });
    }
    return m;
  });
  const out: Entry[] = [];
  for (const [i, first] of [...grouped[0]!.entries()].sort((a, b) => a[0] - b[0])) {
    const parts = grouped.map((m) => m.get(i));
    if (parts.some((p) => !p)) continue;
    const v = combine(parts.map((p) => p!.sum / p!.count));
    if (!Number.isFinite(v)) continue;
    const count = Math.min(...parts.map((p) => p!.count));
    const wall = Math.max(...parts.map((p) => p!.wall));
    out.push({
      start: first.start,
      end: Math.max(...parts.map((p) => p!.end)),
      min: v,
      max: v,
      mean: v,
      last: v,
      count,
      nonfinite: 0,
      wall,
    });
  }
  return { entries: out, raw: false };
}
