// Reading metrics back: per-metric summaries, and series as raw points or min/max/mean/last buckets.
import { Type, type Static } from 'typebox';
import { MAX_BUCKETS, METRIC_NAME_PATTERN } from './limits.js';
import { WireValue } from './values.js';

export const MetricSummary = Type.Object({
  name: Type.String(),
  count: Type.Integer(),
  first_step: Type.Integer(),
  last_step: Type.Integer(),
  last_value: WireValue,
  /** Over the finite values; null when there are none. */
  min: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Union([Type.Number(), Type.Null()]),
  nonfinite: Type.Integer(),
});
export type MetricSummary = Static<typeof MetricSummary>;

/** Buckets a series request gets when it does not say. */
export const DEFAULT_BUCKETS = 1000;

export const SeriesQuery = Type.Object(
  {
    metric: Type.String({ pattern: METRIC_NAME_PATTERN }),
    buckets: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_BUCKETS, default: DEFAULT_BUCKETS })),
    from: Type.Optional(Type.Integer({ minimum: 0 })),
    to: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type SeriesQuery = Static<typeof SeriesQuery>;

/** One stored point: step, value, wall time (seconds). */
export const RawPoint = Type.Tuple([Type.Integer(), WireValue, Type.Number()]);
export type RawPoint = Static<typeof RawPoint>;

/** The envelope of the points in steps [start, end]: min/max/mean/last over finite values, plus how many were not finite. */
export const Bucket = Type.Object({
  start: Type.Integer(),
  end: Type.Integer(),
  min: Type.Union([Type.Number(), Type.Null()]),
  max: Type.Union([Type.Number(), Type.Null()]),
  mean: Type.Union([Type.Number(), Type.Null()]),
  last: Type.Union([Type.Number(), Type.Null()]),
  count: Type.Integer(),
  nonfinite: Type.Integer(),
  /** Wall time of the bucket's last point. */
  wall: Type.Number(),
});
export type Bucket = Static<typeof Bucket>;

export const SeriesResponse = Type.Union([
  Type.Object({ metric: Type.String(), mode: Type.Literal('raw'), points: Type.Array(RawPoint) }),
  Type.Object({ metric: Type.String(), mode: Type.Literal('buckets'), buckets: Type.Array(Bucket) }),
]);
export type SeriesResponse = Static<typeof SeriesResponse>;

export const ExportQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('csv'), Type.Literal('json')], { default: 'json' })) },
  { additionalProperties: false },
);
export type ExportQuery = Static<typeof ExportQuery>;
