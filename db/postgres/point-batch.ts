// A batch of points made ready for gw_write_points on the server, so the database does the least work per point: the
// values grouped by metric, in step order, a step written twice keeping its last value (as the upsert would); each
// metric's extremes within the batch; and the level-1 envelope of every 16-step block the batch touches, which the
// database stores as it is wherever the block held no points before. Work done here is done by whichever ganwatch
// server received the batch, so it scales with the servers; work done in SQL is shared by them all.
import { decodeValue, type Point } from '../../protocol/index.js';
import { BLOCK_FANOUT, addPoint, emptyEnvelope, type Envelope } from '../blocks.js';

/** Parallel arrays, 1-based for SQL: value i is metric `metric[i]` (an index into `names`) at `step[i]`. */
export interface PointBatch {
  names: string[];
  metric: number[];
  step: number[];
  value: number[];
  wall: number[];
  /** Every value the batch carried, a step written twice counted twice (what a write reports on either store). */
  received: number;
  /** The highest step of the batch. */
  highestStep: number;
  /** Per metric (index into names): where its values start in the arrays (1-based) and how many there are. */
  first: number[];
  count: number[];
  /** Per metric: its finite minimum and maximum in this batch, the earliest step of each; null when none is finite. */
  minStep: Array<number | null>;
  minValue: Array<number | null>;
  maxStep: Array<number | null>;
  maxValue: Array<number | null>;
  /** The level-1 envelope of each touched block, per metric, from this batch's values alone. */
  blocks: Array<{ metric: number; envelope: Envelope }>;
}

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
    metric: [],
    step: [],
    value: [],
    wall: [],
    received,
    highestStep,
    first: [],
    count: [],
    minStep: [],
    minValue: [],
    maxStep: [],
    maxValue: [],
    blocks: [],
  };
  for (const [name, column] of columns) addMetric(batch, name, column.ordered ? column : lastWinsInStepOrder(column));
  return batch;
}

function addMetric(batch: PointBatch, name: string, c: Column): void {
  const metric = batch.names.push(name);
  batch.first.push(batch.step.length + 1);
  batch.count.push(c.step.length);
  let min: number | null = null;
  let max: number | null = null;
  let minStep: number | null = null;
  let maxStep: number | null = null;
  let envelope: Envelope | null = null;
  for (let i = 0; i < c.step.length; i++) {
    const [step, value, wall] = [c.step[i]!, c.value[i]!, c.wall[i]!];
    batch.metric.push(metric);
    batch.step.push(step);
    batch.value.push(value);
    batch.wall.push(wall);
    // Strict comparisons in step order keep the earliest step of a tie, as the summaries' rules ask.
    if (Number.isFinite(value)) {
      if (min === null || value < min) [min, minStep] = [value, step];
      if (max === null || value > max) [max, maxStep] = [value, step];
    }
    const block = Math.floor(step / BLOCK_FANOUT);
    if (envelope?.block !== block) batch.blocks.push({ metric, envelope: (envelope = emptyEnvelope(block)) });
    addPoint(envelope, step, value, wall);
  }
  batch.minStep.push(minStep);
  batch.minValue.push(min);
  batch.maxStep.push(maxStep);
  batch.maxValue.push(max);
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
