// Histograms as the wire wants them, checked before they can spoil a batch, and the buffer that makes distributions
// frames of them (spooled, acknowledged and resent exactly like point frames; the server upserts by run, name, step).
import {
  DEFAULT_HISTOGRAM_BUCKETS,
  MAX_BODY_BYTES,
  MAX_DISTRIBUTION_BUCKETS,
  MAX_DISTRIBUTIONS_PER_BATCH,
  MAX_WALL,
  METRIC_NAME_PATTERN,
  gwError,
  histogramOf,
  histogramProblem,
  type Distribution,
} from '../../protocol/index.js';
import { isCount } from './points.js';

const FRAME_ENVELOPE_BYTES = 64;
const METRIC_NAME = new RegExp(METRIC_NAME_PATTERN);

function inputError(detail: string): Error {
  return gwError('GW_ERR_MONITOR_INPUT', detail);
}

/** The record of `values` bucketed into `buckets` equal-width buckets (NaN and ±Infinity counted apart). */
export function histogramRecord(
  name: string,
  values: ArrayLike<number>,
  step: number,
  buckets = DEFAULT_HISTOGRAM_BUCKETS,
  wall?: number,
): Distribution {
  if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > MAX_DISTRIBUTION_BUCKETS) {
    throw inputError(`buckets must be an integer from 1 to ${MAX_DISTRIBUTION_BUCKETS}, got ${buckets}`);
  }
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number') {
    throw inputError(`histogram '${name}' needs an array of numbers`);
  }
  for (let i = 0; i < values.length; i++) {
    if (typeof values[i] !== 'number') throw inputError(`histogram '${name}': value ${i} is not a number`);
  }
  const h = histogramOf(values, buckets);
  return { name, step, ...(wall === undefined ? {} : { wall }), ...h };
}

/**
 * One record as JSON text. Throws GW_ERR_MONITOR_INPUT for anything the server would refuse: a bad name, step or
 * wall time, or a histogram whose edges and counts do not fit together (see protocol/histogram.ts).
 */
export function encodeDistribution(record: Distribution): string {
  const { name, step } = record;
  if (typeof name !== 'string' || !METRIC_NAME.test(name)) {
    throw inputError(`distribution name '${String(name)}' must match ${METRIC_NAME_PATTERN}`);
  }
  if (!isCount(step)) throw inputError(`step must be a non-negative integer, got ${step}`);
  const wall = record.wall ?? Date.now() / 1000;
  if (!Number.isFinite(wall) || wall < 0 || wall > MAX_WALL) {
    throw inputError(`wall must be seconds since the Unix epoch, got ${record.wall}`);
  }
  if (!Array.isArray(record.edges) || !Array.isArray(record.counts)) {
    throw inputError(`distribution '${name}' needs edges and counts arrays`);
  }
  if (record.counts.length > MAX_DISTRIBUTION_BUCKETS) {
    throw inputError(
      `distribution '${name}' has ${record.counts.length} buckets; the limit is ${MAX_DISTRIBUTION_BUCKETS}`,
    );
  }
  const nonFinite = record.nonFinite ?? 0;
  if (!isCount(nonFinite)) throw inputError(`distribution '${name}': nonFinite must be a non-negative integer`);
  const problem = histogramProblem({ edges: record.edges, counts: record.counts, nonFinite });
  if (problem !== null) throw inputError(`distribution '${name}' at step ${step} ${problem}`);
  return JSON.stringify({ name, step, wall, edges: record.edges, counts: record.counts, nonFinite });
}

export class DistributionBuffer {
  private records: string[] = [];
  private bytes = 0;

  get count(): number {
    return this.records.length;
  }

  get full(): boolean {
    return this.records.length >= MAX_DISTRIBUTIONS_PER_BATCH;
  }

  /** Whether `record` still fits in the current batch's frame (the server's body limit). */
  fits(record: string): boolean {
    return this.bytes + record.length + 1 + FRAME_ENVELOPE_BYTES <= MAX_BODY_BYTES;
  }

  add(record: string): void {
    this.records.push(record);
    this.bytes += record.length + 1;
  }

  /** Empties the buffer into the text of distributions frame `seq`. */
  frame(seq: number): { text: string; count: number } {
    const count = this.records.length;
    const text = `{"type":"distributions","seq":${seq},"distributions":[${this.records.join(',')}]}`;
    this.records = [];
    this.bytes = 0;
    return { text, count };
  }
}
