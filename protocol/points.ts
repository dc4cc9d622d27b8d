// Metric points: one step of a run, with any number of named values.
import { Type, type Static } from 'typebox';
import { MAX_POINTS_PER_BATCH, MAX_VALUES_PER_POINT, MAX_WALL, METRIC_NAME_PATTERN } from './limits.js';
import { WireValue } from './values.js';

export const MetricName = Type.String({ pattern: METRIC_NAME_PATTERN });

export const Point = Type.Object(
  {
    step: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /** Wall-clock time in seconds since the Unix epoch; the server's clock when absent. */
    wall: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_WALL })),
    values: Type.Record(Type.String({ pattern: METRIC_NAME_PATTERN }), WireValue, {
      minProperties: 1,
      maxProperties: MAX_VALUES_PER_POINT,
      // Without this, names that do not match the pattern would be let through unchecked.
      additionalProperties: false,
    }),
  },
  { additionalProperties: false },
);
export type Point = Static<typeof Point>;

export const PointBatch = Type.Array(Point, { minItems: 1, maxItems: MAX_POINTS_PER_BATCH });

export const PointsBody = Type.Object({ points: PointBatch }, { additionalProperties: false });
export type PointsBody = Static<typeof PointsBody>;
