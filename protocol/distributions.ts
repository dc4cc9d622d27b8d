// Distributions on the wire: histograms of a named quantity at a step (D's outputs on real and fake images, the
// encoder's μ and log σ², a layer's weights), sent next to points and read back per name over a step range.
import { Type, type Static } from 'typebox';
import { MAX_DISTRIBUTION_BUCKETS, MAX_DISTRIBUTIONS_PER_BATCH, MAX_WALL } from './limits.js';
import { MetricName } from './points.js';

/** One histogram record; its shape rules beyond the schema are in histogram.ts (`histogramProblem`). */
export const Distribution = Type.Object(
  {
    name: MetricName,
    step: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    /** Wall-clock seconds since the Unix epoch; the server's clock when absent. */
    wall: Type.Optional(Type.Number({ minimum: 0, maximum: MAX_WALL })),
    edges: Type.Array(Type.Number(), { maxItems: MAX_DISTRIBUTION_BUCKETS + 1 }),
    counts: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: MAX_DISTRIBUTION_BUCKETS }),
    /** Values that were NaN or ±Infinity and so are in no bucket. */
    nonFinite: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { additionalProperties: false },
);
export type Distribution = Static<typeof Distribution>;

export const DistributionBatch = Type.Array(Distribution, { minItems: 1, maxItems: MAX_DISTRIBUTIONS_PER_BATCH });

/** `POST /api/v1/runs/:id/distributions`. */
export const DistributionsBody = Type.Object({ distributions: DistributionBatch }, { additionalProperties: false });
export type DistributionsBody = Static<typeof DistributionsBody>;

/** `GET /api/v1/runs/:id/distributions?name=&from=&to=&max=`. */
export const DistributionsQuery = Type.Object(
  {
    name: MetricName,
    from: Type.Optional(Type.Integer({ minimum: 0 })),
    to: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Most records returned; longer ranges are downsampled (see `DistributionsResponse`). */
    max: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);
export type DistributionsQuery = Static<typeof DistributionsQuery>;

/** Records a GET returns when `max` is not given. */
export const DEFAULT_DISTRIBUTIONS_MAX = 500;

/**
 * One record of a read. When the range holds more records than `max`, consecutive records are merged into one over
 * [fromStep, toStep]: its edges span the merged records' overall min and max (extremes are never lost), its counts
 * are the sum of theirs rebinned onto those edges, and `step` is the last step merged. Unmerged: fromStep = toStep =
 * step and `merged` = 1.
 */
export interface DistributionRecord {
  step: number;
  fromStep: number;
  toStep: number;
  merged: number;
  wall: number;
  edges: number[];
  counts: number[];
  nonFinite: number;
}

export interface DistributionsResponse {
  name: string;
  /** Records stored in the asked range before any downsampling. */
  stored: number;
  downsampled: boolean;
  records: DistributionRecord[];
}

/** `GET /api/v1/runs/:id/distributions/names`: what a run has, for the dashboard's chart list. */
export interface DistributionNamesResponse {
  names: Array<{ name: string; records: number; firstStep: number; lastStep: number }>;
}
