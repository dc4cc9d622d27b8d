// The contract between the trainer and every dataset: paired batches as plain NHWC Float32Arrays in [-1, 1],
// plus the options every dataset understands and their checks. No tfjs here: the trainer makes the tensors.
import { gwError } from '../../protocol/errors.js';

/** One batch of pairs. `a` and `b` are NHWC (count × size × size × 3), values in [-1, 1]. */
export interface PairBatch {
  a: Float32Array;
  b: Float32Array;
  /** Class label per item (the synthetic set's palette index), or null when the dataset has no classes. */
  labels: Int32Array | null;
  count: number;
  size: number;
  channels: 3;
}

export interface PairDataset {
  readonly name: string;
  /** Side of every image in a batch (the crop size for aligned data). */
  readonly size: number;
  /** Number of classes `labels` take (0..numClasses-1), or null when the dataset has none. */
  readonly numClasses: number | null;
  readonly trainLength: number;
  readonly valLength: number;
  /** Training items `indices` (0..trainLength-1), augmented with draws from `rng` (uniform in [0, 1)). */
  trainBatch(indices: readonly number[], rng: () => number): Promise<PairBatch>;
  /** Validation items `indices` (0..valLength-1): deterministic, no augmentation. */
  valBatch(indices: readonly number[]): Promise<PairBatch>;
  /** What the run config records about the data (JSON-serialisable). */
  describe(): Record<string, unknown>;
}

export type Direction = 'AtoB' | 'BtoA';

export interface DatasetOptions {
  /** Side of the images the model sees, 32–256 (the crop size for aligned data). */
  size: number;
  /** Aligned data: side each half is resized to before the random crop. Default round(size × 1.125), as pix2pix's 286/256. */
  loadSize?: number;
  /** Aligned data: BtoA swaps the halves (B = left becomes the input). Default AtoB. */
  direction?: Direction;
  /** Aligned data: no random horizontal flip. */
  noFlip?: boolean;
  /** Synthetic data: which shapes the items hold. Default 0. */
  seed?: number;
  /** Synthetic data: number of palettes K, the classes (2–8). Default 4. */
  classes?: number;
  /** Synthetic data: number of training inputs. Default 1024. */
  trainCount?: number;
  /** Synthetic data: number of validation inputs. Default 64. */
  valCount?: number;
  /** Aligned data: memory budget of the decoded-image cache, in megabytes. Default 128. */
  cacheMegabytes?: number;
}

export const MIN_SIZE = 32;
export const MAX_SIZE = 256;

/** Checks the image size every dataset shares; throws GW_ERR_OPTION. */
export function checkSize(size: number): number {
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw gwError('GW_ERR_OPTION', `size must be an integer from ${MIN_SIZE} to ${MAX_SIZE}, got ${String(size)}`);
  }
  return size;
}

/** Checks a count option (items, classes) against its bounds; throws GW_ERR_OPTION. */
export function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw gwError('GW_ERR_OPTION', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Checks batch indices against a split's length, so a trainer bug fails loudly instead of reading past the end. */
export function checkIndices(indices: readonly number[], length: number, split: string): void {
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= length) {
      throw new RangeError(`${split} index ${String(i)} is outside 0..${length - 1}`);
    }
  }
}

/** An empty batch of `count` items of side `size`, ready to be filled. */
export function allocBatch(count: number, size: number, withLabels: boolean): PairBatch {
  const n = count * size * size * 3;
  return {
    a: new Float32Array(n),
    b: new Float32Array(n),
    labels: withLabels ? new Int32Array(count) : null,
    count,
    size,
    channels: 3,
  };
}
