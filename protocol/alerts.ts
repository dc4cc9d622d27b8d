// Alerts: what the detectors raised, their evidence and remedies; per-run and server-wide alert settings; markers.
import { Type, type Static } from 'typebox';
import { ControlCommand, type Control } from './controls.js';
import { METRIC_NAME_PATTERN, RUN_ID_PATTERN } from './limits.js';

export const ALERT_STATES = ['firing', 'resolved'] as const;
export type AlertState = (typeof ALERT_STATES)[number];
export type AlertSeverity = 'info' | 'warn' | 'critical';

export interface Alert {
  id: number;
  run: string;
  rule: string;
  /** Separates independent alerts of one rule in one run, e.g. 'D' and 'D2'; '' when there is one. */
  key: string;
  severity: AlertSeverity;
  state: AlertState;
  /** The step at which the condition began (pending), and the step it resolved. */
  step_opened: number | null;
  step_closed: number | null;
  message: string;
  evidence: Record<string, unknown>;
  remedy: { text: string; action: ControlCommand | null } | null;
  acknowledged: boolean;
  muted: boolean;
  /** The control sent when the remedy was applied, with its result. */
  control: Control | null;
  created_at: number;
  updated_at: number;
  firing_at: number | null;
  resolved_at: number | null;
}

const RuleName = Type.String({ pattern: '^[a-z0-9_]{1,64}$' });

export const AlertsQuery = Type.Object(
  {
    run: Type.Optional(Type.String({ pattern: RUN_ID_PATTERN })),
    state: Type.Optional(Type.Union([Type.Literal('firing'), Type.Literal('resolved')])),
    rule: Type.Optional(RuleName),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 500 })),
  },
  { additionalProperties: false },
);
export type AlertsQuery = Static<typeof AlertsQuery>;

export const AlertParams = Type.Object({ id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
export type AlertParams = Static<typeof AlertParams>;

export const MuteBody = Type.Object({ muted: Type.Boolean() }, { additionalProperties: false });
export type MuteBody = Static<typeof MuteBody>;

/** Overrides for one rule; anything left out keeps the default. */
export const RuleOverride = Type.Object(
  {
    enabled: Type.Optional(Type.Boolean()),
    for: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    clear: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    cooldown: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000 })),
    params: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_]{1,64}$' }), Type.Number(), { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type RuleOverride = Static<typeof RuleOverride>;

export const AlertConfig = Type.Object(
  {
    rules: Type.Optional(Type.Record(RuleName, RuleOverride, { additionalProperties: false })),
    /** Apply remedies without a click (opt-in), at most `auto_apply_caps[rule]` times per rule in the run. */
    auto_apply: Type.Optional(Type.Boolean()),
    auto_apply_caps: Type.Optional(
      Type.Record(RuleName, Type.Integer({ minimum: 0, maximum: 100 }), { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type AlertConfig = Static<typeof AlertConfig>;

export interface MarkerRecord {
  id: number;
  run: string;
  metric: string;
  step: number;
  change_at: number | null;
  kind: string;
  evidence: Record<string, unknown>;
  created_at: number;
}

export const MarkersQuery = Type.Object(
  { metric: Type.Optional(Type.String({ pattern: METRIC_NAME_PATTERN })) },
  { additionalProperties: false },
);
export type MarkersQuery = Static<typeof MarkersQuery>;

export { ControlCommand };
