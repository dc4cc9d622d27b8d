// The row shape both stores keep user rules in (migrations sqlite/006, postgres/005) and its mapping to the API's
// UserRule: the duration is two columns (unit, count), the run its public id (null for server-wide rules).
import type { UserRule, UserRuleComparison, UserRuleSpec } from '../protocol/index.js';

export interface UserRuleRow {
  id: number | string;
  run: string | null;
  name: string;
  metric: string;
  comparison: string;
  value: number;
  for_unit: 'steps' | 'minutes';
  for_count: number;
  severity: UserRule['severity'];
  enabled: boolean | number;
  created_at: number;
  updated_at: number;
}

/** Column list of a user rule joined with its run's public id (tables aliased u and r). */
export const USER_RULE_COLUMNS =
  'u.id, r.id AS run, u.name, u.metric, u.comparison, u.value, u.for_unit, u.for_count, u.severity, u.enabled, u.created_at, u.updated_at';

export const USER_RULE_FROM = 'user_rules u LEFT JOIN runs r ON r.rid = u.rid';

export function toUserRule(row: UserRuleRow): UserRule {
  return {
    id: Number(row.id),
    run: row.run,
    name: row.name,
    metric: row.metric,
    // Written only after checkUserRule (server/alerts/user-rules.ts) accepted it.
    comparison: row.comparison as UserRuleComparison,
    value: row.value,
    for: row.for_unit === 'steps' ? { steps: row.for_count } : { minutes: row.for_count },
    severity: row.severity,
    enabled: row.enabled === true || row.enabled === 1,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The spec's duration as (unit, count). */
export function durationColumns(spec: UserRuleSpec): { unit: 'steps' | 'minutes'; count: number } {
  return 'steps' in spec.for ? { unit: 'steps', count: spec.for.steps } : { unit: 'minutes', count: spec.for.minutes };
}
