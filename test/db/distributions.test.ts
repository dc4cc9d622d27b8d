// Specification of the distributions repository, on SQLite and (npm run test:pg) on PostgreSQL: records come back
// exactly as written (equal-width edges packed to their min and max, other edges and huge counts kept), one row per
// (run, name, step) with the later write winning, ranged and downsampled reads that keep the extremes and totals,
// names, paged export, and deletion with the run.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Store } from '../../db/store.js';
import { openTestStore } from '../../harness/store.js';
import { histogramOf, histogramTotal, type Distribution } from '../../protocol/index.js';

let store: Store;
before(async () => {
  store = await openTestStore();
});
after(async () => {
  await store.close();
});

async function newRun(name: string): Promise<{ rid: number; id: string }> {
  const run = await store.runs.create({ name });
  return (await store.runs.ref(run.id))!;
}

/** Step s of a quantity drifting upwards, with a spike of one value at step 777. */
function record(name: string, step: number): Distribution {
  const values = Array.from({ length: 200 }, (_, i) => Math.sin(i * 1.3 + step) + step / 100);
  if (step === 777) values.push(1e6);
  return { name, step, wall: 1.7e9 + step, ...histogramOf(values, 64) };
}

test('records come back exactly as written, whatever their edges and counts', async () => {
  const run = await newRun('exact');
  const odd: Distribution[] = [
    { name: 'a', step: 1, wall: 5, ...histogramOf([0.1, 0.2, 0.7, 1 / 3, Math.PI], 7) },
    { name: 'a', step: 2, wall: 6, edges: [-3, -1, 0.25, 10], counts: [1, 0, 2], nonFinite: 4 },
    { name: 'a', step: 3, wall: 7, edges: [2, 2], counts: [9], nonFinite: 0 },
    { name: 'a', step: 4, wall: 8, edges: [], counts: [], nonFinite: 3 },
    { name: 'a', step: 5, wall: 9, edges: [0, 1, 2], counts: [2 ** 40, 1], nonFinite: 0 },
  ];
  assert.equal(await store.distributions.write(run, odd), 5);
  const read = await store.distributions.read(run.rid, 'a', 100);
  assert.deepEqual([read.stored, read.downsampled], [5, false]);
  assert.deepEqual(
    read.records.map((r) => ({
      name: 'a',
      step: r.step,
      wall: r.wall,
      edges: r.edges,
      counts: r.counts,
      nonFinite: r.nonFinite,
    })),
    odd,
  );
  assert.equal(await store.check(), 'ok');
});

test('a later record of the same name and step replaces the earlier one, also within one batch', async () => {
  const run = await newRun('upsert');
  await store.distributions.write(run, [record('w', 1), record('w', 2)]);
  const again = { ...record('w', 2), counts: new Array<number>(64).fill(1) };
  assert.equal(await store.distributions.write(run, [{ ...again, counts: new Array<number>(64).fill(9) }, again]), 1);
  const read = await store.distributions.read(run.rid, 'w', 100);
  assert.equal(read.stored, 2);
  assert.deepEqual(read.records[1]!.counts, again.counts);
  // Without a wall time the server's is used.
  await store.distributions.write(run, [{ name: 'w', step: 3, edges: [0, 1], counts: [1] }], 12345);
  assert.equal((await store.distributions.read(run.rid, 'w', 100, 3, 3)).records[0]!.wall, 12345);
});

test('a range read is inclusive; a long range is merged down to max records keeping min, max and totals', async () => {
  const run = await newRun('long');
  const all = Array.from({ length: 1000 }, (_, s) => record('D/out', s));
  for (let i = 0; i < all.length; i += 250) await store.distributions.write(run, all.slice(i, i + 250));
  await store.distributions.write(run, [record('other', 3)]);

  const range = await store.distributions.read(run.rid, 'D/out', 1000, 100, 199);
  assert.deepEqual([range.stored, range.downsampled, range.records.length], [100, false, 100]);
  assert.deepEqual([range.records[0]!.step, range.records[99]!.step], [100, 199]);

  const down = await store.distributions.read(run.rid, 'D/out', 7);
  assert.deepEqual([down.stored, down.downsampled, down.records.length], [1000, true, 7]);
  assert.equal(
    down.records.reduce((n, r) => n + r.merged, 0),
    1000,
  );
  assert.deepEqual([down.records[0]!.fromStep, down.records[6]!.toStep], [0, 999]);
  for (let i = 0; i < down.records.length; i++) {
    const r = down.records[i]!;
    const parts = all.filter((d) => d.step >= r.fromStep && d.step <= r.toStep);
    assert.equal(parts.length, r.merged);
    assert.equal(r.step, r.toStep);
    if (i > 0) assert.equal(r.fromStep, down.records[i - 1]!.toStep + 1, 'groups are consecutive');
    assert.equal(r.edges[0], Math.min(...parts.map((d) => d.edges[0]!)), 'min kept');
    assert.equal(r.edges[r.edges.length - 1], Math.max(...parts.map((d) => d.edges[d.edges.length - 1]!)), 'max kept');
    assert.equal(histogramTotal(r), parts.length * 200 + (r.fromStep <= 777 && 777 <= r.toStep ? 1 : 0));
  }
  const spike = down.records.find((r) => r.fromStep <= 777 && 777 <= r.toStep)!;
  assert.equal(spike.edges[spike.edges.length - 1], 1e6);
  assert.equal(spike.counts[spike.counts.length - 1], 1, 'the spike keeps its own bucket');

  assert.deepEqual(await store.distributions.names(run.rid), [
    { name: 'D/out', records: 1000, firstStep: 0, lastStep: 999 },
    { name: 'other', records: 1, firstStep: 3, lastStep: 3 },
  ]);
  assert.deepEqual(await store.distributions.read(run.rid, 'none', 10), {
    name: 'none',
    stored: 0,
    downsampled: false,
    records: [],
  });
});

test('the export pages through every record, name by name in step order', async () => {
  const run = await newRun('export');
  const written = [
    ...Array.from({ length: 30 }, (_, s) => record('b', s)),
    ...Array.from({ length: 20 }, (_, s) => record('a', s)),
  ];
  await store.distributions.write(run, written);
  const pages: Distribution[][] = [];
  for await (const page of store.distributions.exportRun(run.rid, 7)) pages.push(page);
  assert.equal(pages.length, 8);
  const expected = [...written.slice(30), ...written.slice(0, 30)].map((d) => ({ ...d, nonFinite: d.nonFinite ?? 0 }));
  assert.deepEqual(pages.flat(), expected);
});

test('deleting a run deletes its distributions; writing to a deleted run is GW_ERR_RUN_NOT_FOUND', async () => {
  const run = await newRun('gone');
  await store.distributions.write(run, [record('x', 1)]);
  assert.equal(await store.runs.delete(run.id), true);
  assert.deepEqual(await store.distributions.names(run.rid), []);
  await assert.rejects(store.distributions.write(run, [record('x', 2)]), { code: 'GW_ERR_RUN_NOT_FOUND' });
});
