// The alert state machine of one (run, rule, key): ok → pending → firing → resolved, driven by a detector's
// evaluations (docs/detectors.md §0, Prometheus `for` / `keep_firing_for`). Warm-up lives in the detectors;
// this machine adds persistence (`for`), hysteresis (`clear` evaluations of the stricter exit condition), cooldown
// after a remedy, and escalation of a firing alert's severity.
import type { Evaluation, RuleSettings, Severity } from './types.js';

export type AlertState = 'ok' | 'pending' | 'firing' | 'resolved';

export interface Transition {
  from: AlertState;
  to: AlertState;
  step: number;
  /** The step at which this alert's pending phase began (its firing step when `for` ≤ 1). */
  openedAt: number;
  /** The evaluation that caused the transition. */
  evaluation: Evaluation;
}

const RANK: Readonly<Record<Severity, number>> = { info: 0, warn: 1, critical: 2 };

/**
 * Counting rules: pending starts at the first evaluation whose `enter` holds; the alert fires at the evaluation where
 * `enter` has held `for` evaluations in a row (that first one included), so `for` 0 and 1 both fire at once, without a
 * pending transition. Firing resolves at the evaluation where `exit` has held `clear` evaluations in a row; an
 * evaluation with neither `enter` nor `exit` keeps it firing and restarts the exit count. A resolved alert behaves like
 * ok: the next `enter` opens a new alert. While firing, an `enter` evaluation with a higher severity than the alert's
 * is reported as firing → firing (escalation); the alert's severity never goes down.
 */
export class AlertStateMachine {
  private s: AlertState = 'ok';
  private enterCount = 0;
  private exitCount = 0;
  private opened = -1;
  private sev: Severity | null = null;
  private cooldownUntil = -Infinity;
  private readonly forCount: number;
  private readonly clearCount: number;

  constructor(settings: Pick<RuleSettings, 'for' | 'clear'>) {
    this.forCount = Math.max(1, Math.floor(settings.for));
    this.clearCount = Math.max(1, Math.floor(settings.clear));
  }

  /**
   * A machine already firing: an alert that was open when the server stopped, restored so it can still resolve (and
   * escalate above `severity` when given; without it, the first `enter` evaluation sets the severity silently).
   */
  static firing(
    settings: Pick<RuleSettings, 'for' | 'clear'>,
    openedAt = -1,
    severity: Severity | null = null,
  ): AlertStateMachine {
    const m = new AlertStateMachine(settings);
    m.s = 'firing';
    m.opened = openedAt;
    m.sev = severity;
    return m;
  }

  get state(): AlertState {
    return this.s;
  }

  /** The step the current (or last) alert opened at; null before any. */
  get openedAt(): number | null {
    return this.opened < 0 ? null : this.opened;
  }

  /** Severity of the firing alert (the highest seen while it fired); null unless firing (or restored without one). */
  get severity(): Severity | null {
    return this.s === 'firing' ? this.sev : null;
  }

  /** No new pending or firing alert before `untilStep` (after a remedy); a firing alert may still resolve. */
  startCooldown(untilStep: number): void {
    this.cooldownUntil = Math.max(this.cooldownUntil, untilStep);
  }

  inCooldown(step: number): boolean {
    return step < this.cooldownUntil;
  }

  feed(ev: Evaluation, step: number): Transition | null {
    const from = this.s;
    switch (this.s) {
      case 'ok':
      case 'resolved':
        if (!ev.enter || this.inCooldown(step)) return null;
        this.opened = step;
        this.enterCount = 1;
        if (this.enterCount >= this.forCount) return this.fire(from, ev, step);
        this.s = 'pending';
        return { from, to: 'pending', step, openedAt: this.opened, evaluation: ev };
      case 'pending':
        if (!ev.enter || this.inCooldown(step)) {
          this.s = 'ok';
          this.enterCount = 0;
          return { from, to: 'ok', step, openedAt: this.opened, evaluation: ev };
        }
        this.enterCount++;
        return this.enterCount >= this.forCount ? this.fire(from, ev, step) : null;
      case 'firing':
        if (ev.exit) {
          this.exitCount++;
          if (this.exitCount < this.clearCount) return null;
          this.s = 'resolved';
          this.exitCount = 0;
          this.enterCount = 0;
          return { from, to: 'resolved', step, openedAt: this.opened, evaluation: ev };
        }
        this.exitCount = 0;
        if (ev.enter && this.sev === null) this.sev = ev.severity;
        else if (ev.enter && this.sev !== null && RANK[ev.severity] > RANK[this.sev]) {
          this.sev = ev.severity;
          return { from, to: 'firing', step, openedAt: this.opened, evaluation: ev };
        }
        return null;
    }
  }

  private fire(from: AlertState, ev: Evaluation, step: number): Transition {
    this.s = 'firing';
    this.sev = ev.severity;
    this.exitCount = 0;
    return { from, to: 'firing', step, openedAt: this.opened, evaluation: ev };
  }
}
