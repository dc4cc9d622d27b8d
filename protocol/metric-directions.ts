// Which way is better for each metric: what `best(metric)` picks (the minimum or the maximum a run reached). No schema
// library here, so the web bundle imports it too. Names not listed are losses and errors: lower is better
// (D_real_acc and D_fake_acc too: a discriminator that wins every patch is a failure, not a success).
import { METRIC } from './metric-names.js';

export type MetricDirection = 'lower' | 'higher';

/** Metrics where a higher value is better; every other name is lower-is-better (losses, errors, FID). */
const HIGHER_IS_BETTER: ReadonlySet<string> = new Set<string>([
  METRIC.valSsim,
  METRIC.valDiversity,
  METRIC.valModeCoverage,
  METRIC.valLatentSilhouette,
  METRIC.valLatentFisher,
  METRIC.perfImagesPerS,
]);

export function metricDirection(name: string): MetricDirection {
  return HIGHER_IS_BETTER.has(name) ? 'higher' : 'lower';
}

/** Every name declared higher-is-better (for the README and tests). */
export const HIGHER_IS_BETTER_METRICS: readonly string[] = [...HIGHER_IS_BETTER];
