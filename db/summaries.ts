// Run summaries: per metric, the last value and the finite minimum and maximum with the step of each, brought up to
// date by every write from the write's own values (SQLite in db/sqlite/summaries.ts; PostgreSQL in SQL with the same
// rules, db/postgres/migrations/004). Rules: `last` is the value at the highest step (NaN included); min and max count
// finite values only, and a tie keeps the earliest step. Overwriting the step that held the minimum (or maximum) with
// a worse value asks the block envelopes where the extreme now is, so no write ever scans a metric's points.
import type { WrittenPoint } from './blocks.js';

export interface Summary {
  lastStep: number | null;
  /** null: NaN (SQLite stores NaN as NULL). */
  lastValue: number | null;
  minValue: number | null;
  minStep: number | null;
  maxValue: number | null;
  maxStep: number | null;
}

/** What a write leaves to look up: the extremes whose old step was overwritten with a worse value. */
export interface SummaryUpdate {
  summary: Summary;
  staleMin: boolean;
  staleMax: boolean;
}

const finite = (v: number | null): v is number => v !== null && Number.isFinite(v);

/** The summary after `written` (one metric's values of one write, in write order: a step written twice keeps the last). */
export function extendSummary(old: Summary, written: readonly WrittenPoint[]): SummaryUpdate {
  const byStep = new Map<number, number | null>();
  for (const [step, value] of written) byStep.set(step, value === null || Number.isNaN(value) ? null : value);
  const s: Summary = { ...old };
  let staleMin = false;
  let staleMax = false;
  if (s.minStep !== null && byStep.has(s.minStep)) {
    const v = byStep.get(s.minStep)!;
    if (finite(v) && v <= s.minValue!) s.minValue = v;
    else staleMin = true;
  }
  if (s.maxStep !== null && byStep.has(s.maxStep)) {
    const v = byStep.get(s.maxStep)!;
    if (finite(v) && v >= s.maxValue!) s.maxValue = v;
    else staleMax = true;
  }
  for (const [step, v] of byStep) {
    if (s.lastStep === null || step >= s.lastStep) {
      s.lastStep = step;
      s.lastValue = v;
    }
    if (!finite(v)) continue;
    if (!staleMin && (s.minValue === null || v < s.minValue || (v === s.minValue && step < s.minStep!))) {
      s.minValue = v;
      s.minStep = step;
    }
    if (!staleMax && (s.maxValue === null || v > s.maxValue || (v === s.maxValue && step < s.maxStep!))) {
      s.maxValue = v;
      s.maxStep = step;
    }
  }
  return { summary: s, staleMin, staleMax };
}
