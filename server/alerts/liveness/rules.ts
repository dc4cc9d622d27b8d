// The liveness rules: alerts any training monitor should raise, judged from the run's status and the clock rather
// than from the values it pushes. run_hang: a `running` run pushed nothing for max(floor, k × its median interval
// between logged steps) (the process hangs); run_crashed: a run `disconnected` for longer than N minutes (its process
// died); run_ended: the run finished or failed (INFO, so a webhook lets the user walk away; an event, its alert
// opens and resolves at once). They are registered like
// the detectors (listed by the API, configured per run or server-wide, muted per alert), but LivenessWatch (watch.ts)
// opens and resolves their alerts on its clock tick and on status changes; their point detectors only learn
// (run_hang: the step interval) or do nothing.
import type { Run } from '../../../protocol/index.js';
import { medianInPlace, Ring } from '../stats.js';
import type { Detector, DetectorEnv, DetectorFactory, RuleSettings, StepValues } from '../types.js';
import { fmt, paramsOf } from '../detectors/common.js';

export const RUN_HANG = 'run_hang';
export const RUN_CRASHED = 'run_crashed';
export const RUN_ENDED = 'run_ended';
export const LIVENESS_RULES = [RUN_HANG, RUN_CRASHED, RUN_ENDED] as const;
export type LivenessRule = (typeof LIVENESS_RULES)[number];

const HANG_DEFAULTS = {
  enabled: true,
  for: 1,
  clear: 1,
  cooldown: 0,
  params: {
    /** The shortest silence that is a hang, in minutes (the issue's 5 minutes). */
    floorMinutes: 5,
    /** A silence longer than this many median step intervals is a hang (when that is longer than the floor). */
    intervals: 20,
    /** How many recent step intervals the median is taken over. */
    window: 64,
  },
} satisfies RuleSettings;

const CRASHED_DEFAULTS = {
  enabled: true,
  for: 1,
  clear: 1,
  cooldown: 0,
  params: {
    /** Minutes a run may stay `disconnected` (a trainer reconnecting after a network blip) before it counts as crashed. */
    minutes: 10,
  },
} satisfies RuleSettings;

const ENDED_DEFAULTS = {
  enabled: true,
  for: 1,
  clear: 1,
  cooldown: 0,
  params: {
    /** 1: alert when the run finished, as when it failed; 0: only when it failed. */
    finished: 1,
  },
} satisfies RuleSettings;

export type HangParams = (typeof HANG_DEFAULTS)['params'];
export type CrashedParams = (typeof CRASHED_DEFAULTS)['params'];
export type EndedParams = (typeof ENDED_DEFAULTS)['params'];

/**
 * run_hang's point detector: learns the run's step interval (wall time between consecutive logged steps, as the
 * trainer stamped them) on the server that watches the run. It never evaluates: silence has no points to observe.
 */
export class StepIntervals implements Detector {
  readonly rule = RUN_HANG;
  private readonly ring: Ring;
  private readonly scratch: Float64Array;
  private lastStep = -Infinity;
  private lastWall = Number.NaN;

  constructor(readonly params: Readonly<HangParams>) {
    this.ring = new Ring(Math.max(1, Math.floor(params.window)));
    this.scratch = new Float64Array(this.ring.capacity);
  }

  observe(point: StepValues): null {
    if (point.step <= this.lastStep) return null;
    const dt = point.wall - this.lastWall;
    if (Number.isFinite(dt) && dt >= 0) this.ring.push(dt);
    this.lastStep = point.step;
    this.lastWall = point.wall;
    return null;
  }

  rebaseline(): void {}

  /** The median interval in seconds; null before the first interval. */
  median(): number | null {
    const n = this.ring.copyTo(this.scratch);
    return n === 0 ? null : medianInPlace(this.scratch, n);
  }

  /** The silence that counts as a hang for this run now, in seconds. */
  threshold(): number {
    return hangThreshold(this.params, this.median());
  }
}

/** A point detector that does nothing (run_crashed and run_ended are judged from the status). */
const inert = (rule: string): Detector => ({ rule, observe: () => null, rebaseline: () => undefined });

export const runHang: DetectorFactory = {
  rule: RUN_HANG,
  description:
    'A running run pushed nothing for max(5 min, 20 × its median step interval): the training process hangs.',
  defaults: HANG_DEFAULTS,
  create: (env: DetectorEnv) => new StepIntervals(paramsOf(env, HANG_DEFAULTS)),
};

export const runCrashed: DetectorFactory = {
  rule: RUN_CRASHED,
  description: 'A run stayed disconnected for more than 10 minutes: its process crashed or lost the server for good.',
  defaults: CRASHED_DEFAULTS,
  create: () => inert(RUN_CRASHED),
};

export const runEnded: DetectorFactory = {
  rule: RUN_ENDED,
  description: 'The run finished or failed (INFO, with a webhook, so nobody needs to watch it end).',
  defaults: ENDED_DEFAULTS,
  create: () => inert(RUN_ENDED),
};

export const LIVENESS_FACTORIES: readonly DetectorFactory[] = [runHang, runCrashed, runEnded];

/** What a liveness rule concluded about a run now: open (with the alert's words), or not (the alert, if any, resolves). */
export type Verdict =
  | {
      enter: true;
      severity: 'info' | 'warn' | 'critical';
      message: string;
      evidence: Record<string, number | string | null>;
    }
  | { enter: false; evidence: Record<string, number | string | null> };

/** The silence after which a running run counts as hung, in seconds: max(floor, k × median interval). */
export function hangThreshold(params: Readonly<HangParams>, medianInterval: number | null): number {
  return Math.max(params.floorMinutes * 60, params.intervals * (medianInterval ?? 0));
}

/**
 * run_hang at `nowMs`: a run that is `running` and whose last push (the store's last_seen_at, the same on every
 * server) is older than the threshold. A run that never pushed is not judged (it may still be loading its data).
 */
export function hangVerdict(
  run: Pick<Run, 'status' | 'last_seen_at' | 'last_step'>,
  nowMs: number,
  params: Readonly<HangParams>,
  medianInterval: number | null,
): Verdict {
  const threshold = hangThreshold(params, medianInterval);
  if (run.status !== 'running' || run.last_seen_at === null) return { enter: false, evidence: { status: run.status } };
  const silence = nowMs / 1000 - run.last_seen_at;
  const evidence = {
    silent_s: Math.round(silence * 10) / 10,
    threshold_s: Math.round(threshold * 10) / 10,
    median_interval_s: medianInterval === null ? null : Number(medianInterval.toPrecision(4)),
    last_step: run.last_step,
  };
  if (silence <= threshold) return { enter: false, evidence };
  return {
    enter: true,
    severity: 'critical',
    message: `No data for ${duration(silence)} while running (threshold ${duration(threshold)}${
      medianInterval === null ? '' : `, ${fmt(params.intervals)} × the median step interval ${fmt(medianInterval)} s`
    }): the training process seems to hang after step ${run.last_step ?? '?'}`,
    evidence,
  };
}

/** run_crashed at `nowMs`: `disconnected` for longer than `minutes` (since the status changed: updated_at). */
export function crashedVerdict(
  run: Pick<Run, 'status' | 'updated_at' | 'last_step'>,
  nowMs: number,
  params: Readonly<CrashedParams>,
): Verdict {
  if (run.status !== 'disconnected') return { enter: false, evidence: { status: run.status } };
  const gone = nowMs / 1000 - run.updated_at;
  const evidence = {
    disconnected_s: Math.round(gone * 10) / 10,
    after_s: params.minutes * 60,
    last_step: run.last_step,
  };
  if (gone <= params.minutes * 60) return { enter: false, evidence };
  return {
    enter: true,
    severity: 'critical',
    message: `Disconnected for ${duration(gone)} after step ${run.last_step ?? '?'}: the training process crashed or cannot reach the server`,
    evidence,
  };
}

/** run_ended on a status change: failed, or finished (unless `finished` is 0). */
export function endedVerdict(run: Pick<Run, 'status' | 'last_step'>, params: Readonly<EndedParams>): Verdict {
  const ended = run.status === 'failed' || (run.status === 'finished' && params.finished !== 0);
  if (!ended) return { enter: false, evidence: { status: run.status } };
  return {
    enter: true,
    severity: 'info',
    message: `The run ${run.status} at step ${run.last_step ?? '?'}`,
    evidence: { status: run.status, last_step: run.last_step },
  };
}

/** "42 s", "7.5 min", "2.1 h". */
export function duration(seconds: number): string {
  if (seconds < 120) return `${fmt(Math.round(seconds * 10) / 10)} s`;
  if (seconds < 7200) return `${fmt(Math.round(seconds / 6) / 10)} min`;
  return `${fmt(Math.round(seconds / 360) / 10)} h`;
}

export { HANG_DEFAULTS, CRASHED_DEFAULTS, ENDED_DEFAULTS };
