// One metric's data as a chart holds it: raw points, or min/max/mean/last buckets on the server's bucket grid,
// with live points folded in so a live run and the same run reloaded later draw the same envelopes.
import type { Bucket, SeriesResponse } from '../../../protocol/index.js';
import { bucketGrid } from '../../../protocol/bucket-grid.js';
import { decodeValue, type WireValue } from '../../../protocol/wire.js';

/** A raw point (start === end, count 1, or nonfinite 1) or a bucket's envelope over steps [start, end]. */
export interface Entry {
  start: number;
  end: number;
  /** Over the finite values; null when the entry has none. */
  min: number | null;
  max: number | null;
  mean: number | null;
  last: number | null;
  count: number;
  nonfinite: number;
  /** Wall time (seconds) of the entry's last point. */
  wall: number;
  /** A raw point that is not finite: which value it was. */
  bad?: 'NaN' | 'Infinity' | '-Infinity';
}

export type AppendResult = 'ok' | 'ignored' | 'stale' | 'overflow';

function rawEntry(step: number, value: WireValue, wall: number): Entry {
  const v = decodeValue(value);
  if (Number.isFinite(v))
    return { start: step, end: step, min: v, max: v, mean: v, last: v, count: 1, nonfinite: 0, wall };
  const bad = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return { start: step, end: step, min: null, max: null, mean: null, last: null, count: 0, nonfinite: 1, wall, bad };
}

function fromBucket(b: Bucket): Entry {
  return {
    start: b.start,
    end: b.end,
    min: b.min,
    max: b.max,
    mean: b.mean,
    last: b.last,
    count: b.count,
    nonfinite: b.nonfinite,
    wall: b.wall,
  };
}

/** Adds entry `e` (raw or bucket) into bucket `into`. */
function fold(into: Entry, e: Entry): void {
  if (e.count > 0) {
    into.min = into.min === null ? e.min : Math.min(into.min, e.min!);
    into.max = into.max === null ? e.max : Math.max(into.max, e.max!);
    into.mean = into.mean === null ? e.mean : (into.mean * into.count + e.mean! * e.count) / (into.count + e.count);
    into.last = e.last;
    into.count += e.count;
  }
  into.nonfinite += e.nonfinite;
  into.end = Math.max(into.end, e.end);
  into.start = Math.min(into.start, e.start);
  into.wall = Math.max(into.wall, e.wall);
  delete into.bad;
}

function emptyLike(e: Entry, start: number): Entry {
  return { start, end: start, min: null, max: null, mean: null, last: null, count: 0, nonfinite: 0, wall: e.wall };
}

export class SeriesBuffer {
  entries: Entry[] = [];
  /** True while entries are raw points (one per step). */
  raw = true;
  private width = 1;
  private origin = 0;

  /** `from`/`to` bound the step window this buffer covers (null: open); live points outside it are ignored. */
  constructor(
    readonly budget: number,
    readonly from: number | null = null,
    readonly to: number | null = null,
  ) {}

  static fromResponse(
    res: SeriesResponse,
    budget: number,
    from: number | null = null,
    to: number | null = null,
  ): SeriesBuffer {
    const buf = new SeriesBuffer(budget, from, to);
    if (res.mode === 'raw') {
      buf.entries = res.points.map(([s, v, w]) => rawEntry(s, v, w));
    } else {
      buf.raw = false;
      buf.entries = res.buckets.map(fromBucket);
      const first = buf.entries[0];
      if (first) {
        const grid = bucketGrid(first.start, buf.entries[buf.entries.length - 1]!.end, budget);
        buf.width = grid.width;
        buf.origin = grid.origin;
      }
    }
    return buf;
  }

  get lastStep(): number | null {
    return this.entries.length ? this.entries[this.entries.length - 1]!.end : null;
  }

  get firstStep(): number | null {
    return this.entries.length ? this.entries[0]!.start : null;
  }

  /**
   * Folds in a live point. 'stale' means the point rewrote or preceded stored buckets (re-query to be exact);
   * 'overflow' means the buffer holds more buckets than its budget (re-query for a coarser grid).
   */
  append(step: number, value: WireValue, wall: number): AppendResult {
    if ((this.from !== null && step < this.from) || (this.to !== null && step > this.to)) return 'ignored';
    const e = rawEntry(step, value, wall);
    const last = this.entries[this.entries.length - 1];
    if (this.raw) {
      if (!last || step > last.start) this.entries.push(e);
      else this.insertRaw(e);
      if (this.entries.length > this.budget) this.rebucket();
      return 'ok';
    }
    if (!last) {
      this.entries.push(e);
      return 'ok';
    }
    if (step <= last.end) {
      if (step >= last.start) fold(last, e);
      return 'stale';
    }
    const index = Math.floor((step - this.origin) / this.width);
    const lastIndex = Math.floor((last.end - this.origin) / this.width);
    if (index === lastIndex) fold(last, e);
    else {
      const bucket = emptyLike(e, step);
      fold(bucket, e);
      this.entries.push(bucket);
    }
    if (this.entries.length > 2 * this.budget) this.mergePairs();
    return this.entries.length > this.budget ? 'overflow' : 'ok';
  }

  private insertRaw(e: Entry): void {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.start < e.start) lo = mid + 1;
      else hi = mid;
    }
    if (this.entries[lo]?.start === e.start) this.entries[lo] = e;
    else this.entries.splice(lo, 0, e);
  }

  /** Raw points over budget become buckets on exactly the grid the server would use for them. */
  private rebucket(): void {
    const lo = this.entries[0]!.start;
    const hi = this.entries[this.entries.length - 1]!.end;
    const grid = bucketGrid(lo, hi, this.budget);
    this.width = grid.width;
    this.origin = grid.origin;
    this.raw = false;
    this.regroup();
  }

  /** A stop-gap while a re-query is on its way: halves the number of buckets. */
  private mergePairs(): void {
    this.width *= 2;
    this.regroup();
  }

  private regroup(): void {
    const out: Entry[] = [];
    let currentIndex = Number.NaN;
    for (const e of this.entries) {
      const index = Math.floor((e.start - this.origin) / this.width);
      if (index !== currentIndex) {
        out.push(emptyLike(e, e.start));
        currentIndex = index;
      }
      fold(out[out.length - 1]!, e);
    }
    this.entries = out;
  }
}
