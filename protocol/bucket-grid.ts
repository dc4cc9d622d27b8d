// The bucket grid of a series read: where buckets start and how wide they are. It is part of the contract between the
// server, which assembles buckets from exact block envelopes, and the browser, which must put live points into the
// same buckets as the history it read. Plain functions, no schema library, so the web bundle can import it.

/** Block envelopes are kept for blocks of 16^L steps, L = 1..LEVELS (16, 256, 4096, 65536 steps). */
export const BLOCK_BITS = 4;
export const BLOCK_FANOUT = 1 << BLOCK_BITS; // 16
export const LEVELS = 4;

export function blockSize(level: number): number {
  return BLOCK_FANOUT ** level;
}

export interface BucketGrid {
  /** The largest block level whose blocks fit in a bucket (0: single steps). */
  level: number;
  /** Bucket width in steps: a whole multiple of that level's block size. */
  width: number;
  /** The step where bucket 0 starts: [lo] rounded down to a block boundary. */
  origin: number;
}

/** The grid for at most `budget` buckets over the steps [lo, hi]. */
export function bucketGrid(lo: number, hi: number, budget: number): BucketGrid {
  const even = Math.ceil((hi - lo + 1) / budget);
  let level = 0;
  while (level < LEVELS && blockSize(level + 1) <= even) level++;
  const size = blockSize(level);
  return { level, width: Math.ceil(even / size) * size, origin: Math.floor(lo / size) * size };
}
