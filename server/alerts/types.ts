// The contract between detectors and the alert engine. A detector turns a run's stream of points into evaluations;
// the engine owns the state machine (pending → firing → resolved), warm-up, hysteresis counts, cooldown and delivery.
import type { ControlCommand, Histogram, UserRule } from '../../protocol/index.js';

export type Severity = 'info' | 'warn' | 'critical';

/** One step of one run as detectors see it: decoded numbers (NaN and ±Infinity included). */
export interface StepValues {
  step: number;
  wall: number;
  values: ReadonlyMap<string, number>;
}

/** What a detector concluded at one evaluation, for one key (e.g. 'D' or 'D2', or a metric name). */
export interface Evaluation {
  /** Distinguishes independent alerts of one rule in one run (e.g. 'D' vs 'D2'); '' when there is only one. */
  key: string;
  /** The enter condition holds now. */
  enter: boolean;
  /** The (stricter) exit condition holds now. An alert resolves only after `exit` held `clear` evaluations in a row. */
  exit: boolean;
  severity: Severity;
  /** One line for people, e.g. "Discriminator D dominates: accuracy 0.97 ≥ 0.95 and D loss 0.04 ≤ 0.1 for 500 steps". */
  message: string;
  /** The numbers that tripped it (or that it watched), for the alert's evidence. */
  evidence: Record<string, number | string | boolean | null>;
  /** The seed's remedy in words, and the concrete command that applies it (null when there is nothing to apply). */
  remedy: { text: string; action: ControlCommand | null } | null;
}

/** One histogram a run sent (a distribution, protocol/distributions.ts), as a detector that reads it sees it. */
export interface StepHistogram {
  name: string;
  step: number;
  histogram: Histogram;
}

/** A marker on a curve (change points): stored and shown, never an alert. */
export interface Marker {
  metric: string;
  step: number;
  /** Where the change began (the CUSUM's last reset), when known. */
  changeAt: number | null;
  direction: 'up' | 'down' | 'nonfinite';
  evidence: Record<string, number | string>;
}

export interface DetectorOutput {
  evaluations: Evaluation[];
  markers?: Marker[];
}

/** A rule's parameters: named numbers (windows in points, thresholds), each declared with its default by the rule. */
export type RuleParams = Record<string, number>;

/**
 * Per-rule settings; defaults live with each detector, which declares them `satisfies RuleSettings` so that its own
 * parameter names are a type (paramsOf returns them typed: a misspelt name does not compile).
 */
export interface RuleSettings<P extends RuleParams = RuleParams> {
  enabled: boolean;
  /** Consecutive evaluations the enter condition must hold before pending becomes firing (0 = fire at once). */
  for: number;
  /** Consecutive evaluations the exit condition must hold before firing becomes resolved. */
  clear: number;
  /** Points after a remedy was applied during which the rule stays quiet and re-learns its baselines. */
  cooldown: number;
  /** Detector-specific thresholds and windows (documented in each detector). */
  params: P;
}

/** What a detector is told about the run besides its points. */
export interface DetectorEnv {
  /** Settings of this rule for this run (defaults merged with server-wide and per-run overrides). */
  settings: RuleSettings;
  /** The user rules that apply to the run (its own and the server-wide ones); read by `user_threshold` only. */
  userRules?: readonly UserRule[];
}

/**
 * Why a detector is told to re-learn: the trainer's pushed lr changed by more than 25% ('lr'), a λ changed ('lambda',
 * also when an lr changed with it), or this rule's own remedy was just applied ('remedy').
 */
export type RebaselineCause = 'lr' | 'lambda' | 'remedy';

/**
 * A detector: a small stateful object per (run, rule). `observe` is called for every ingested step of the run, in
 * step order as the trainer sends them; it must cost O(1) or O(window) and return the evaluations it made at this
 * step (most detectors evaluate every k points, so usually an empty list).
 */
export interface Detector {
  readonly rule: string;
  observe(point: StepValues): DetectorOutput | null;
  /** Forget baselines and re-learn (after an lr or λ change, or a remedy); `cause` says which. */
  rebaseline(step: number, cause: RebaselineCause): void;
  /** The distributions it reads (exact names): the engine hands it these, and only these, in observeDistribution. */
  readonly distributionNames?: readonly string[];
  /**
   * A histogram of one of `distributionNames`, as the run sends them (every K steps, apart from its points; after an
   * engine restart the stored ones are replayed after the points). It only updates state: evaluations stay in observe.
   */
  observeDistribution?(d: StepHistogram): void;
}

export interface DetectorFactory {
  readonly rule: string;
  /** A short description for the README and the API. */
  readonly description: string;
  readonly defaults: RuleSettings;
  create(env: DetectorEnv): Detector;
}
