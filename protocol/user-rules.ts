// User rules: threshold alerts people define on any metric ("val/fid > 40 for 10 minutes"), server-wide or for one run,
// raised by the alert engine under the rule name `user_threshold` with the same state machine, webhooks and muting.
// Schema-free, so the web bundle can import its values; the request schemas are in user-rule-schemas.ts.
import { MAX_METRIC_NAME_CHARS } from './limits.js';

/** The comparisons a user rule may make: `value OP threshold`. */
export const USER_RULE_COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type UserRuleComparison = (typeof USER_RULE_COMPARISONS)[number];

/** The alert rule name every user rule's alerts carry; the alert's key is `<user rule id>:<metric>`. */
export const USER_RULE_ALERT = 'user_threshold';

/**
 * A metric name, or a pattern where `*` stands for any characters (e.g. `loss/*`): letters, digits, `_ . / -` and `*`.
 * Checked by the server (GW_ERR_USER_RULE_METRIC) rather than by the schema, so the error can say what is wrong.
 */
export const USER_RULE_METRIC_PATTERN = `^[A-Za-z0-9_./*-]{1,${MAX_METRIC_NAME_CHARS}}$`;

export interface UserRule {
  id: number;
  /** The run it watches, or null for every run (server-wide). */
  run: string | null;
  name: string;
  metric: string;
  comparison: UserRuleComparison;
  value: number;
  /** How long the condition must hold before the alert fires: over this many steps, or this many minutes. */
  for: { steps: number } | { minutes: number };
  severity: 'info' | 'warn' | 'critical';
  enabled: boolean;
  created_at: number;
  updated_at: number;
}

/** A checked rule as the store keeps it (the body with its defaults filled in). */
export type UserRuleSpec = Omit<UserRule, 'id' | 'run' | 'created_at' | 'updated_at'>;
