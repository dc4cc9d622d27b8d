// Which pushed hyperparameters make the detectors re-learn their baselines. A λ change, or an lr change of more than
// 25%, means "the trainer's hyperparameters changed"; smaller lr changes are a schedule's per-epoch decay steps, and
// re-learning on each would blind the detectors for the whole decay phase.
import { METRIC_PREFIX } from '../../protocol/index.js';
import type { RebaselineCause } from './types.js';

const LR_REBASELINE_RATIO = 0.25;

/** One run's reference values of its pushed lr/* and lambda/*. */
export class ControlWatch {
  private readonly reference = new Map<string, number>();

  /**
   * Notes one pushed metric; true when it is an lr/* or lambda/* that changed significantly from its reference. The
   * reference moves only on such a change, so decay steps add up.
   */
  see(name: string, value: number): boolean {
    const lr = name.startsWith(METRIC_PREFIX.lr);
    if (!lr && !name.startsWith(METRIC_PREFIX.lambda)) return false;
    const before = this.reference.get(name);
    if (before === undefined) {
      this.reference.set(name, value);
      return false;
    }
    if (before === value) return false;
    if (lr && before > 0 && !(Math.abs(value / before - 1) > LR_REBASELINE_RATIO)) return false;
    this.reference.set(name, value);
    return true;
  }
}

/** The cause of a re-baseline once `name` changed (ControlWatch.see was true), given the cause so far in the point. */
export function changeCause(name: string, before: RebaselineCause | null): RebaselineCause {
  return before === 'lambda' || name.startsWith(METRIC_PREFIX.lambda) ? 'lambda' : 'lr';
}
