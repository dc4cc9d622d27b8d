// User rules (protocol/user-rules.ts): thresholds people define on any metric, server-wide or per run. This module
// checks a rule before it is stored and holds the `user_threshold` detector, which evaluates every enabled rule that
// applies to the run, one alert key per (rule, metric): `enter` once the condition has held over `for` steps or
// minutes (of the trainer's wall time), `exit` at the first value where it does not hold. The engine's state machine,
// store, webhooks and muting do the rest, as for every other rule.
import {
  gwError,
  USER_RULE_ALERT,
  USER_RULE_COMPARISONS,
  USER_RULE_METRIC_PATTERN,
  type UserRule,
  type UserRuleBody,
  type UserRuleComparison,
  type UserRuleSpec,
} from '../../protocol/index.js';
import { evaluation, fmt, num, paramsOf } from './detectors/common.js';
import type { Detector, DetectorFactory, DetectorOutput, Evaluation, RuleSettings, StepValues } from './types.js';

const METRIC_RE = new RegExp(USER_RULE_METRIC_PATTERN);

/** A body checked and completed with its defaults; GW_ERR_USER_RULE_METRIC or _COMPARISON when it cannot be a rule. */
export function checkUserRule(body: UserRuleBody): UserRuleSpec {
  if (!METRIC_RE.test(body.metric)) throw gwError('GW_ERR_USER_RULE_METRIC', body.metric);
  if (!(USER_RULE_COMPARISONS as readonly string[]).includes(body.comparison))
    throw gwError('GW_ERR_USER_RULE_COMPARISON', body.comparison, USER_RULE_COMPARISONS.join(' '));
  const comparison = body.comparison as UserRuleComparison;
  return {
    name: body.name ?? `${body.metric} ${comparison} ${body.value}`,
    metric: body.metric,
    comparison,
    value: body.value,
    for: body.for ?? { steps: 1 },
    severity: body.severity ?? 'warn',
    enabled: body.enabled ?? true,
  };
}

export function compare(x: number, comparison: UserRuleComparison, value: number): boolean {
  switch (comparison) {
    case '>':
      return x > value;
    case '>=':
      return x >= value;
    case '<':
      return x < value;
    case '<=':
      return x <= value;
    case '==':
      return x === value;
    case '!=':
      return x !== value;
  }
}

/** The metric names a rule's `metric` matches: itself, or the glob with `*` as any characters. */
export function metricMatcher(pattern: string): (name: string) => boolean {
  if (!pattern.includes('*')) return (name) => name === pattern;
  const re = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&').replace(/\*/g, '.*')}$`);
  return (name) => re.test(name);
}

interface Compiled {
  rule: UserRule;
  matches: (name: string) => boolean;
  /** The metrics judged so far (at most maxMetrics). */
  metrics: Set<string>;
}

/** Where the condition of one key began to hold. */
interface Held {
  step: number;
  wall: number;
}

class UserThreshold implements Detector {
  readonly rule = USER_RULE_ALERT;
  private readonly rules: Compiled[];
  private readonly held = new Map<string, Held>();

  constructor(
    rules: readonly UserRule[],
    private readonly maxMetrics: number,
  ) {
    this.rules = rules
      .filter((r) => r.enabled)
      .map((rule) => ({ rule, matches: metricMatcher(rule.metric), metrics: new Set<string>() }));
  }

  /** A threshold means the same after an lr change: nothing to re-learn. */
  rebaseline(): void {}

  observe(point: StepValues): DetectorOutput | null {
    if (this.rules.length === 0) return null;
    let out: Evaluation[] | null = null;
    for (const c of this.rules) {
      for (const [name, x] of point.values) {
        if (!c.metrics.has(name)) {
          if (c.metrics.size >= this.maxMetrics || !c.matches(name)) continue;
          c.metrics.add(name);
        }
        (out ??= []).push(this.evaluate(c.rule, name, x, point));
      }
    }
    return out && { evaluations: out };
  }

  private evaluate(rule: UserRule, metric: string, x: number, point: StepValues): Evaluation {
    const key = `${rule.id}:${metric}`;
    const holds = !Number.isNaN(x) && compare(x, rule.comparison, rule.value);
    if (!holds) this.held.delete(key);
    let since = this.held.get(key);
    if (holds && !since) this.held.set(key, (since = { step: point.step, wall: point.wall }));
    const span =
      'steps' in rule.for
        ? { met: since !== undefined && point.step - since.step + 1 >= rule.for.steps, text: `${rule.for.steps} steps` }
        : {
            met: since !== undefined && point.wall - since.wall >= rule.for.minutes * 60,
            text: `${fmt(rule.for.minutes)} min`,
          };
    const condition = `${metric} ${rule.comparison} ${fmt(rule.value)}`;
    return evaluation(
      key,
      span.met,
      !holds,
      rule.severity,
      span.met
        ? `${rule.name}: ${condition} for ${span.text} (now ${fmt(x)}, since step ${since!.step})`
        : `${rule.name}: ${metric} = ${fmt(x)}`,
      {
        user_rule: rule.id,
        metric,
        value: num(x),
        threshold: rule.value,
        comparison: rule.comparison,
        since_step: since?.step ?? null,
      },
      null,
    );
  }
}

const DEFAULTS = {
  enabled: true,
  for: 1,
  clear: 1,
  cooldown: 0,
  params: {
    /** Most metrics one rule's pattern is evaluated on per run (each is an alert key); names beyond are not judged. */
    maxMetrics: 100,
  },
} satisfies RuleSettings;

export const userThreshold: DetectorFactory = {
  rule: USER_RULE_ALERT,
  description:
    'Thresholds users define on any metric (metric, comparison, value, for N steps or minutes), server-wide or per run.',
  defaults: DEFAULTS,
  create: (env) => new UserThreshold(env.userRules ?? [], paramsOf(env, DEFAULTS).maxMetrics),
};
