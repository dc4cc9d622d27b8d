// Template for a new alert rule (like pytorch-CycleGAN-and-pix2pix's template_model.py): a real, minimal detector,
// NOT registered in ../registry.ts, so no live rule comes from this file. test/alerts/template.test.ts copies it,
// renames its rule and registers the copy, which proves the steps below give a working rule.
//
// What it watches: posterior collapse of the encoder (docs/detectors.md §3 M3): the KL term per latent dimension,
// KL_dim = loss/KL / ((B/2)·nz) (the trainer pushes the reference's sum over half a batch × nz), falls below 0.01 nats,
// meaning E ignores its input. The doc says M3 should never alert alone; that is why a copy starts disabled and INFO
// only, and why it makes a good template. Fires once the EWMA of KL_dim has been below `enterBelow` for `for`
// evaluations (every `evalEvery` points after `warmup`); resolves once it has been above `exitAbove` for `clear` ones.
//
// How to add a rule:
//   1. Copy this file to server/alerts/detectors/<rule-name>.ts (one rule per module, named for what it detects).
//   2. Choose a rule name (snake_case, stable: it is stored with every alert) for RULE, rename the class, the
//      exported factory and its description, and write its DEFAULTS: `for` and `clear` count evaluations (not points),
//      `cooldown` counts points, `params` are numbers only (windows in points, thresholds; document each one).
//      Declare them `satisfies RuleSettings` (not `: RuleSettings`, which would forget
//      the names) and read them with paramsOf(env, DEFAULTS): partial overrides work, and the result is typed, so a
//      misspelt parameter does not compile. Settings naming a parameter the rule does not declare are refused.
//   3. In observe(): read metrics with finite(point, name) (NaN/±Infinity are divergence's business), keep O(1) or
//      O(window) state (../stats.ts has rings, EWMAs, block means, median/MAD, Mann-Kendall, periodogram;
//      common.ts has FrozenBaseline, a series' baseline window after W0), stay silent during your warm-up and
//      after rebaseline() for the relearn time, and return evaluations only every k points.
//      An evaluation says `enter` (the condition holds now) and `exit` (the stricter condition that clears it; make it
//      stricter than !enter, or the alert flaps), with a one-line message, evidence numbers, and the remedy text plus
//      the ControlCommand that applies it (or null). Remedies other rules offer are in common.ts (LOWER_LR_D,
//      LambdaStep for a λ step with a cap); use them rather than writing the command again.
//      To read histograms too (protocol/distributions.ts), list their exact names in `distributionNames` and take
//      them in observeDistribution(): keep the latest (or a window), and use them at observe()'s evaluations, ignoring
//      stale ones; d-overpowering.ts does this with D's verdicts (detector-harness's `histograms` option feeds them).
//   4. rebaseline(step): forget level-dependent baselines (an lr or λ just changed) and be quiet for `relearn` points
//      (default RELEARN_POINTS).
//   5. Register the factory in ../registry.ts (DETECTOR_FACTORIES; its place is the order of the API listing), add the
//      rule name to ALERT_RULE_NAMES in protocol/metric-names.ts at the same place, and name the rule in the `readBy`
//      of every metric it reads there (test/alerts/metric-names.test.ts checks all three agree, and the README's table).
//   6. Add a must-fire stream, a must-not-fire stream and a resolving stream to test/alerts/detectors.test.ts
//      (test/support/detector-harness.ts runs a detector with the state machine), describe the rule in
//      docs/detectors.md and in the README's rule table.
import { METRIC } from '../../../protocol/index.js';
import { Ewma } from '../stats.js';
import type { Detector, DetectorEnv, DetectorFactory, DetectorOutput, RuleSettings, StepValues } from '../types.js';
import { evaluation, finite, fmt, num, paramsOf, RELEARN_POINTS } from './common.js';

const RULE = 'template_kl_collapse';

const DEFAULTS = {
  enabled: false,
  for: 4,
  clear: 4,
  cooldown: 2000,
  params: {
    /** Silent for this many points (W0). */
    warmup: 1000,
    /** EWMA span of KL_dim, in points. */
    span: 200,
    /** (B/2)·nz: the number of terms loss/KL sums (batch 16, nz 8 → 64). */
    terms: 64,
    /** Enter below this KL per dimension (nats); exit above `exitAbove`. */
    enterBelow: 0.01,
    exitAbove: 0.02,
    evalEvery: 25,
    relearn: RELEARN_POINTS,
  },
} satisfies RuleSettings;

/** The rule's parameters, by name. */
type Params = (typeof DEFAULTS)['params'];

class TemplateKlCollapse implements Detector {
  readonly rule = RULE;
  private readonly p: Readonly<Params>;
  private readonly kl: Ewma;
  private n = 0;
  private quietUntil = 0;

  constructor(env: DetectorEnv) {
    this.p = paramsOf(env, DEFAULTS);
    this.kl = new Ewma(this.p.span);
  }

  rebaseline(_step: number): void {
    this.kl.reset();
    this.quietUntil = this.n + this.p.relearn;
  }

  observe(point: StepValues): DetectorOutput | null {
    const kl = finite(point, METRIC.lossKl);
    if (kl === undefined) return null;
    const n = ++this.n;
    const p = this.p;
    const perDim = this.kl.push(kl / p.terms);
    if (n <= p.warmup || n <= this.quietUntil || n % p.evalEvery !== 0) return null;
    const enter = perDim < p.enterBelow;
    return {
      evaluations: [
        evaluation(
          '',
          enter,
          perDim > p.exitAbove,
          'info',
          enter
            ? `Encoder posterior collapse: KL per dimension ${fmt(perDim)} < ${fmt(p.enterBelow)} nats (E ignores B)`
            : `KL per dimension ${fmt(perDim)} nats`,
          { kl_per_dim: num(perDim), terms: p.terms },
          enter
            ? {
                text: 'The encoder ignores its input (KL ≈ 0): lower lambda_kl, e.g. ×0.5.',
                action: { action: 'scale_lambda', args: { name: 'kl', factor: 0.5 } },
              }
            : null,
        ),
      ],
    };
  }
}

export const templateKlCollapse: DetectorFactory = {
  rule: RULE,
  description:
    'Template rule (unregistered; disabled by default): encoder posterior collapse, KL per latent dimension below 0.01 nats. INFO only.',
  defaults: DEFAULTS,
  create: (env) => new TemplateKlCollapse(env),
};
