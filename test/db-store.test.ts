// Specification of the store itself: migrations, WAL, and the block index staying exact under overwrites.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { listMigrations } from '../db/migrate.js';
import { Store } from '../db/store.js';
import { tempDir } from './support/server.js';

test('migrations run once at start-up and record the schema version in user_version', () => {
  const path = join(tempDir(), 'm.db');
  const latest = Math.max(...listMigrations().map((m) => m.version));
  const a = Store.open(path);
  assert.equal(a.db.pragma('user_version', { simple: true }), latest);
  assert.equal(a.db.pragma('journal_mode', { simple: true }), 'wal');
  a.runs.create({ name: 'kept' });
  a.close();
  const b = Store.open(path); // re-opening must not re-apply (it would fail on CREATE TABLE)
  assert.equal(b.runs.list().length, 1);
  assert.equal(b.integrityCheck(), 'ok');
  b.close();
});

test('overwriting points keeps every level of block envelopes exact', () => {
  const store = Store.open(join(tempDir(), 'b.db'));
  const run = store.runs.create({ name: 'b' });
  const { rid } = store.runs.ref(run.id)!;
  store.points.write(
    rid,
    Array.from({ length: 70_000 }, (_, i) => ({ step: i, values: { v: 1 } })),
  );
  store.points.write(rid, [{ step: 66_000, values: { v: 500 } }]); // raise a max
  store.points.write(rid, [{ step: 66_000, values: { v: 2 } }]); // and lower it again: the old max must go
  store.points.write(rid, [{ step: 123, values: { v: 'NaN' } }]);
  const [m] = store.series.summaries(rid);
  assert.deepEqual([m!.count, m!.max, m!.nonfinite], [70_000, 2, 1]);
  const mid = store.series.metricId(rid, 'v')!;
  const s = store.series.read(mid, 10);
  assert.equal(s.mode, 'buckets');
  if (s.mode === 'buckets') assert.equal(Math.max(...s.buckets.map((b) => b.max ?? 0)), 2);
  store.close();
});

test('a batch is atomic: a failure part-way stores nothing', () => {
  const store = Store.open(join(tempDir(), 'a.db'));
  const run = store.runs.create({ name: 'a' });
  const { rid } = store.runs.ref(run.id)!;
  // The second point's wall time cannot be bound (validation normally stops this earlier), so the write fails mid-batch.
  const bad = [
    { step: 0, values: { v: 1 } },
    { step: 1, wall: {} as never, values: { v: 2 } },
  ];
  assert.throws(() => store.points.write(rid, bad));
  assert.deepEqual(store.series.summaries(rid), []);
  store.points.write(rid, [{ step: 0, values: { v: 1 } }]);
  assert.equal(store.series.summaries(rid)[0]!.count, 1);
  store.close();
});

test('a step written twice in one batch keeps the last value, in the points and in the envelopes', () => {
  const store = Store.open(join(tempDir(), 'd.db'));
  const run = store.runs.create({ name: 'd' });
  const { rid } = store.runs.ref(run.id)!;
  store.points.write(rid, [
    { step: 5, values: { v: 100 } },
    { step: 3, values: { v: 1 } },
    { step: 5, values: { v: 2 } },
  ]);
  const [m] = store.series.summaries(rid);
  assert.deepEqual([m!.count, m!.max, m!.last_value], [2, 2, 2]);
  store.close();
});
