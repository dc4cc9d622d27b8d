// Specification of how a server prepares a batch of points for PostgreSQL (db/postgres/point-batch.ts): what
// gw_write_points then trusts without reading anything back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { preparePointBatch } from '../../db/postgres/point-batch.js';

test('values come grouped by metric in step order, the last write of a step written twice winning', () => {
  const b = preparePointBatch(
    [
      { step: 5, values: { a: 1, b: 10 } },
      { step: 3, values: { a: 2 } },
      { step: 5, values: { a: 3 } },
      { step: 6, values: { b: 'NaN' } },
    ],
    100,
  );
  assert.deepEqual(b.names, ['a', 'b']);
  assert.deepEqual(b.metric, [1, 1, 2, 2]);
  assert.deepEqual(b.step, [3, 5, 5, 6]);
  assert.deepEqual(b.value, [2, 3, 10, NaN]);
  assert.deepEqual(
    [b.first, b.count],
    [
      [1, 3],
      [2, 2],
    ],
  );
  assert.equal(b.received, 5, 'every value received counts, as on SQLite');
  assert.equal(b.highestStep, 6);
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
    b.blocks.map(({ metric, envelope: e }) => [
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
