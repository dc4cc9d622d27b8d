// Specification of how a server prepares a batch of points for PostgreSQL (db/postgres/point-batch.ts): what
// gw_write_points then trusts without reading anything back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preparePointBatch } from '../../db/postgres/point-batch.js';

test('values land in the 16 slots of their block, per metric, the last write of a step written twice winning', () => {
  const b = preparePointBatch(
    [
      { step: 5, values: { a: 1, b: 10 } },
      { step: 3, values: { a: 2 } },
      { step: 5, wall: 7, values: { a: 3 } },
      { step: 17, values: { b: 'NaN' } },
    ],
    100,
  );
  assert.deepEqual(b.names, ['a', 'b']);
  const slots = (pairs: Array<[number, number]>): Array<number | null> => {
    const out = new Array<number | null>(16).fill(null);
    for (const [i, v] of pairs) out[i] = v;
    return out;
  };
  assert.deepEqual(
    b.blocks.flatMap((x) => (x.level === 1 ? [[x.metric, x.envelope.block, x.values, x.walls]] : [])),
    [
      [
        1,
        0,
        slots([
          [3, 2],
          [5, 3],
        ]),
        slots([
          [3, 100],
          [5, 7],
        ]),
      ],
      [2, 0, slots([[5, 10]]), slots([[5, 100]])],
      [2, 1, slots([[1, NaN]]), slots([[1, 100]])],
    ],
  );
  assert.equal(b.received, 5, 'every value received counts, as on SQLite');
  assert.equal(b.highestStep, 17);
});

test("each metric's step range and last value are the batch's own", () => {
  const b = preparePointBatch(
    [
      { step: 9, values: { a: 1 } },
      { step: 4, values: { a: 2, b: 5 } },
      { step: 9, values: { a: 'NaN' } },
    ],
    100,
  );
  assert.deepEqual(
    [b.firstStep, b.lastStep, b.lastValue],
    [
      [4, 4],
      [9, 4],
      [NaN, 5],
    ],
  );
});

test("each metric's extremes are its finite minimum and maximum at their earliest steps; null when none is finite", () => {
  const b = preparePointBatch(
    [
      { step: 0, values: { a: 4, n: 'NaN' } },
      { step: 1, values: { a: -1, n: 'Infinity' } },
      { step: 2, values: { a: 'Infinity' } },
      { step: 3, values: { a: -1 } },
      { step: 4, values: { a: 4 } },
    ],
    100,
  );
  assert.deepEqual(
    [b.minValue, b.minStep, b.maxValue, b.maxStep],
    [
      [-1, null],
      [1, null],
      [4, null],
      [0, null],
    ],
  );
});

test('each 16-step block the batch touches gets the envelope of its values there, walls included', () => {
  const b = preparePointBatch(
    [
      { step: 14, wall: 1, values: { a: 2 } },
      { step: 15, wall: 2, values: { a: 'NaN' } },
      { step: 16, values: { a: 5 } },
      { step: 40, wall: 3, values: { a: -3 } },
      { step: 41, wall: 4, values: { a: 7 } },
    ],
    9,
  );
  assert.deepEqual(
    b.blocks
      .filter((x) => x.level === 1)
      .map(({ metric, envelope: e }) => [
        metric,
        e.block,
        e.cnt,
        e.nonfinite,
        e.vmin,
        e.vmax,
        e.vsum,
        e.vlast,
        e.lastStep,
        e.wall,
      ]),
    [
      [1, 0, 1, 1, 2, 2, 2, 2, 15, 2],
      [1, 1, 1, 0, 5, 5, 5, 5, 16, 9],
      [1, 2, 2, 0, -3, 7, 4, 7, 41, 4],
    ],
  );
});

test('the batch also gets its envelope in each coarser block it touches (256, 4096 and 65536 steps)', () => {
  const b = preparePointBatch(
    [
      { step: 250, wall: 1, values: { a: 2 } },
      { step: 256, wall: 2, values: { a: 'Infinity' } },
      { step: 70_000, wall: 3, values: { a: -1 } },
    ],
    9,
  );
  assert.deepEqual(
    b.blocks
      .filter((x) => x.level > 1)
      .map(({ level, envelope: e }) => [level, e.block, e.cnt, e.nonfinite, e.vsum, e.lastStep]),
    [
      [2, 0, 1, 0, 2, 250],
      [2, 1, 0, 1, 0, 256],
      [2, 273, 1, 0, -1, 70_000],
      [3, 0, 1, 1, 2, 256],
      [3, 17, 1, 0, -1, 70_000],
      [4, 0, 1, 1, 2, 256],
      [4, 1, 1, 0, -1, 70_000],
    ],
  );
});
