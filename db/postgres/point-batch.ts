// A batch of points made ready for gw_write_points on the server, so the database does the least work per point: the
// values grouped by metric and laid out in the 16 slots of each level-1 block they fall in (the row that stores them,
// db/postgres/migrations 010), a step written twice keeping its last value (as an upsert would); each metric's
// extremes, step range and last value within the batch; and the envelope of every block it touches at each level,
// which the database stores as it is wherever the block held no points before, and merges with the stored one where
// the batch only appends to it. Work done here is done by whichever ganwatch
// server received the batch, so it scales with the servers; work done in SQL is shared by them all.
import { decodeValue, type Point } from '../../protocol/index.js';
import { BLOCK_FANOUT, LEVELS, addPoint, blockSize, emptyEnvelope, type Envelope } from '../blocks.js';

/** Per metric, index i of each array describing `names[i]`; per touched block, `metric` is 1-based for SQL. */
export interface PointBatch {
  names: string[];
  /** Every value the batch carried, a step written twice counted twice (what a write reports on either store). */
  received: number;
  /** The highest step of the batch. */
  highestStep: number;
  /** Per metric: the batch's first and last step, and its value at the last. */
  firstStep: number[];
  lastStep: number[];
  lastValue: number[];
  /** Per metric: its finite minimum and maximum in this batch, the earliest step of each; null when none is finite. */
  minStep: Array<number | null>;
  minValue: Array<number | null>;
  maxStep: Array<number | null>;
  maxValue: Array<number | null>;
  /**
   * Each block the batch touches at every level, level 1 first, then per metric in block order: the envelope of this
   * batch's values there, and at level 1 its 16 slots (slot i holds step block·16 + i; null where the batch wrote
   * nothing), as the block row stores them.
   */
  blocks: BatchBlock[];
}

export type Level1Block = {
  metric: number;
  level: 1;
  envelope: Envelope;
  values: Array<number | null>;
  walls: Array<number | null>;
};
export type BatchBlock = Level1Block | { metric: number; level: 2 | 3 | 4; envelope: Envelope };

type Column = { step: number[]; value: number[]; wall: number[]; ordered: boolean };

export function preparePointBatch(points: readonly Point[], serverWall: number): PointBatch {
  const columns = new Map<string, Column>();
  let highestStep = -1;
  let received = 0;
  for (const p of points) {
    const w = p.wall ?? serverWall;
    if (p.step > highestStep) highestStep = p.step;
    for (const name in p.values) {
      let c = columns.get(name);
      if (!c) columns.set(name, (c = { step: [], value: [], wall: [], ordered: true }));
      if (c.ordered && c.step.length > 0 && p.step <= c.step[c.step.length - 1]!) c.ordered = false;
      c.step.push(p.step);
      c.value.push(decodeValue(p.values[name]!));
      c.wall.push(w);
      received++;
    }
  }
  const batch: PointBatch = {
    names: [],
    received,
    highestStep,
    firstStep: [],
    lastStep: [],
    lastValue: [],
    minStep: [],
    minValue: [],
    maxStep: [],
    maxValue: [],
    blocks: [],
  };
  const byLevel: BatchBlock[][] = LEVEL_SIZES.map(() => []);
  for (const [name, column] of columns)
    addMetric(batch, byLevel, name, column.ordered ? column : lastWinsInStepOrder(column));
  for (const blocks of byLevel) for (const block of blocks) batch.blocks.push(block);
  return batch;
}

function addMetric(batch: PointBatch, byLevel: BatchBlock[][], name: string, c: Column): void {
  const metric = batch.names.push(name);
  const last = c.step.length - 1;
  batch.firstStep.push(c.step[0]!);
  batch.lastStep.push(c.step[last]!);
  batch.lastValue.push(c.value[last]!);
  let min: number | null = null;
  let max: number | null = null;
  let minStep: number | null = null;
  let maxStep: number | null = null;
  for (let i = 0; i < c.step.length; i++) {
    const [step, value, wall] = [c.step[i]!, c.value[i]!, c.wall[i]!];
    // Strict comparisons in step order keep the earliest step of a tie, as the summaries' rules ask.
    if (Number.isFinite(value)) {
      if (min === null || value < min) [min, minStep] = [value, step];
      if (max === null || value > max) [max, maxStep] = [value, step];
    }
    for (let l = 0; l < LEVEL_SIZES.length; l++) {
      const blocks = byLevel[l]!;
      const number = Math.floor(step / LEVEL_SIZES[l]!);
      let block = blocks[blocks.length - 1];
      if (block?.metric !== metric || block.envelope.block !== number)
        blocks.push((block = emptyBlock(metric, l + 1, number)));
      addPoint(block.envelope, step, value, wall);
      if (block.level === 1) {
        block.values[step % BLOCK_FANOUT] = value;
        block.walls[step % BLOCK_FANOUT] = wall;
      }
    }
  }
  batch.minStep.push(minStep);
  batch.minValue.push(min);
  batch.maxStep.push(maxStep);
  batch.maxValue.push(max);
}

/** The steps a block spans at levels 1..LEVELS. */
const LEVEL_SIZES = Array.from({ length: LEVELS }, (_, i) => blockSize(i + 1));

function emptyBlock(metric: number, level: number, block: number): BatchBlock {
  if (level !== 1) return { metric, level: level as 2 | 3 | 4, envelope: emptyEnvelope(block) };
  const empty = (): null[] => new Array<null>(BLOCK_FANOUT).fill(null);
  return { metric, level: 1, envelope: emptyEnvelope(block), values: empty(), walls: empty() };
}
/** A metric's values in step order, the last write of a step written twice winning. */
function lastWinsInStepOrder(c: Column): Column {
  const byStep = new Map<number, number>();
  for (let i = 0; i < c.step.length; i++) byStep.set(c.step[i]!, i);
  const order = [...byStep.values()].sort((a, b) => c.step[a]! - c.step[b]!);
  return {
    step: order.map((i) => c.step[i]!),
    value: order.map((i) => c.value[i]!),
    wall: order.map((i) => c.wall[i]!),
    ordered: true,
  };
}

/**
 * Level-1 blocks' slots as gw_write_points takes them: 16 values per block in one array with 0 where nothing was
 * written (an array without NULLs, so that SQL finds a block's slice without walking it), and per block the mask of the
 * slots written (bit i: slot i).
 */
export function slotColumns(
  blocks: ReadonlyArray<{ values: ReadonlyArray<number | null>; walls: ReadonlyArray<number | null> }>,
): {
  mask: number[];
  values: number[];
  walls: number[];
} {
  const out = { mask: [] as number[], values: [] as number[], walls: [] as number[] };
  for (const b of blocks) {
    let mask = 0;
    for (let i = 0; i < BLOCK_FANOUT; i++) {
      const v = b.values[i];
      if (v !== null && v !== undefined) mask |= 1 << i;
      out.values.push(v ?? 0);
      out.walls.push(b.walls[i] ?? 0);
    }
    out.mask.push(mask);
  }
  return out;
}
