// Runs: one training run, its status and its descriptive fields.
import { Type, type Static } from 'typebox';
import type { WireValue } from './wire.js';
import { AlertConfig } from './alerts.js';
import { MAX_NOTES_CHARS, MAX_SYSTEM_GPUS, RUN_ID_PATTERN } from './limits.js';
import { RUN_STATUSES } from './run-statuses.js';
import { MAX_QUERY_CHARS } from './run-query.js';

export { RUN_STATUSES };
export const RunStatus = Type.Union([
  Type.Literal('running'),
  Type.Literal('paused'),
  Type.Literal('finished'),
  Type.Literal('failed'),
  Type.Literal('disconnected'),
]);
export type RunStatus = (typeof RUN_STATUSES)[number];

export const RunId = Type.String({ pattern: RUN_ID_PATTERN });
export const RunName = Type.String({ minLength: 1, maxLength: 200 });
export const Tag = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]+$' });
export const Tags = Type.Array(Tag, { maxItems: 64, uniqueItems: true });
export const Notes = Type.String({ maxLength: MAX_NOTES_CHARS });
/** Free-form configuration (hyperparameters, flags): a JSON object. */
// TypeBox turns a string-keyed Record into patternProperties and drops the key limit: propertyNames keeps it.
export const RunConfig = Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
  maxProperties: 2000,
  propertyNames: { maxLength: 200 },
});
export const ForkStep = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const ShortText = Type.String({ maxLength: 200 });
/**
 * The machine the run trains on, as its client found it at the start: CPU model, logical cores, OS and architecture,
 * and the GPUs nvidia-smi lists (absent when it was not asked). Closed and bounded (at most about 13,500 characters).
 */
export const RunSystem = Type.Object(
  {
    cpu: Type.Optional(ShortText),
    cores: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    platform: Type.Optional(ShortText),
    gpus: Type.Optional(Type.Array(ShortText, { maxItems: MAX_SYSTEM_GPUS })),
  },
  { additionalProperties: false },
);
export type RunSystem = Static<typeof RunSystem>;

export const Run = Type.Object({
  id: Type.String(),
  name: Type.String(),
  status: RunStatus,
  config: RunConfig,
  tags: Type.Array(Type.String()),
  notes: Type.String(),
  backend: Type.Union([Type.String(), Type.Null()]),
  device: Type.Union([Type.String(), Type.Null()]),
  host: Type.Union([Type.String(), Type.Null()]),
  system: Type.Union([RunSystem, Type.Null()]),
  created_at: Type.Number(),
  updated_at: Type.Number(),
  finished_at: Type.Union([Type.Number(), Type.Null()]),
  last_step: Type.Union([Type.Integer(), Type.Null()]),
  last_seen_at: Type.Union([Type.Number(), Type.Null()]),
  /** Lineage: the run this one was forked from (a rollback, a --fork), and the parent's step it continues after. */
  parent_id: Type.Union([Type.String(), Type.Null()]),
  fork_step: Type.Union([Type.Integer(), Type.Null()]),
});
export type Run = Static<typeof Run>;

export const CreateRunBody = Type.Object(
  {
    name: RunName,
    config: Type.Optional(RunConfig),
    tags: Type.Optional(Tags),
    notes: Type.Optional(Notes),
    backend: Type.Optional(ShortText),
    device: Type.Optional(ShortText),
    host: Type.Optional(ShortText),
    system: Type.Optional(RunSystem),
    /** Alert settings for this run (rule overrides, auto_apply); changeable later at /runs/:id/alerts/config. */
    alerts: Type.Optional(AlertConfig),
    /** A fork: the parent run (it must exist) and its step this run continues after; both or neither. */
    parent_id: Type.Optional(RunId),
    fork_step: Type.Optional(ForkStep),
  },
  { additionalProperties: false },
);
export type CreateRunBody = Static<typeof CreateRunBody>;

export const PatchRunBody = Type.Object(
  {
    name: Type.Optional(RunName),
    tags: Type.Optional(Tags),
    notes: Type.Optional(Notes),
    status: Type.Optional(RunStatus),
    config: Type.Optional(RunConfig),
    backend: Type.Optional(ShortText),
    device: Type.Optional(ShortText),
    host: Type.Optional(ShortText),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type PatchRunBody = Static<typeof PatchRunBody>;

/** Most runs one page of GET /runs holds. */
export const MAX_RUNS_PAGE = 10_000;

export const ListRunsQuery = Type.Object(
  {
    status: Type.Optional(RunStatus),
    tag: Type.Optional(Tag),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** The runs forked from this one. */
    parent: Type.Optional(RunId),
    /** The runs table (protocol/run-query.ts): a filter expression, sort keys, metric columns, a page. */
    q: Type.Optional(Type.String({ maxLength: MAX_QUERY_CHARS })),
    sort: Type.Optional(Type.String({ maxLength: MAX_QUERY_CHARS })),
    columns: Type.Optional(Type.String({ maxLength: MAX_QUERY_CHARS })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RUNS_PAGE })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListRunsQuery = Static<typeof ListRunsQuery>;

/** A metric column's value in a run's row: the value and the step it was reached at (null: the run lacks it). */
export interface RunColumnValue {
  value: WireValue;
  step: number;
}

/** A run as the runs table lists it (GET /runs with q, sort, columns, limit or cursor). */
export type RunRow = Run & {
  /** Firing alerts of the run. */
  open_alerts: number;
  /** The requested metric columns, keyed by fieldKey() (e.g. "best(val/fid)"). */
  columns: Record<string, RunColumnValue | null>;
};

export const RunParams = Type.Object({ id: RunId }, { additionalProperties: false });
export type RunParams = Static<typeof RunParams>;
