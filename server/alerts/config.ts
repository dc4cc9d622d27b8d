// Alert settings: each rule's defaults, overridden by the server-wide configuration, overridden by the run's own.
import { gwError, type AlertConfig, type RuleOverride } from '../../protocol/index.js';
import type { DetectorFactory, RuleSettings } from './types.js';

/** How many times a remedy may be applied automatically per rule and run (detectors.md: at most two steps, etc.). */
export const DEFAULT_AUTO_APPLY_CAP = 2;

export function mergeSettings(base: RuleSettings, ...overrides: Array<RuleOverride | undefined>): RuleSettings {
  let s: RuleSettings = { ...base, params: { ...base.params } };
  for (const o of overrides) {
    if (!o) continue;
    s = {
      enabled: o.enabled ?? s.enabled,
      for: o.for ?? s.for,
      clear: o.clear ?? s.clear,
      cooldown: o.cooldown ?? s.cooldown,
      params: { ...s.params, ...(o.params ?? {}) },
    };
  }
  return s;
}

export function effectiveSettings(factory: DetectorFactory, server: AlertConfig, run: AlertConfig): RuleSettings {
  return mergeSettings(factory.defaults, server.rules?.[factory.rule], run.rules?.[factory.rule]);
}

/**
 * Refuses a configuration naming rules, or parameters of a rule, that do not exist (a typo would otherwise silently do
 * nothing). The schema (protocol/alerts.ts) has already refused parameter values that are not numbers.
 */
export function checkRules(config: AlertConfig, factories: readonly DetectorFactory[]): void {
  const known = factories.map((f) => f.rule);
  for (const rule of [...Object.keys(config.rules ?? {}), ...Object.keys(config.auto_apply_caps ?? {})]) {
    if (!known.includes(rule)) throw gwError('GW_ERR_UNKNOWN_RULE', rule, known.join(', '));
  }
  for (const factory of factories) {
    const params = Object.keys(factory.defaults.params);
    for (const param of Object.keys(config.rules?.[factory.rule]?.params ?? {})) {
      if (!params.includes(param)) throw gwError('GW_ERR_UNKNOWN_RULE_PARAM', factory.rule, param, params.join(', '));
    }
  }
}

export function autoApplyCap(rule: string, server: AlertConfig, run: AlertConfig): number {
  return run.auto_apply_caps?.[rule] ?? server.auto_apply_caps?.[rule] ?? DEFAULT_AUTO_APPLY_CAP;
}
