// The validation grid's inputs and z are a function of the run's dataset and seed only: two runs with the same
// dataset and seed show the same inputs and z in their grids whatever happened before (training steps, other draws
// from the RNG streams), the meta says so with fingerprints, and the meta's layout finds every cell of the PNG.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { PNG } from 'pngjs';
import { initBackend } from '../../trainer/backend.js';
import { SyntheticDataset } from '../../trainer/data/index.js';
import { gridLayout } from '../../trainer/images.js';
import { trainerRng, validationSeed } from '../../trainer/loop.js';
import { BicycleGAN } from '../../trainer/models/bicyclegan.js';
import { Validator, type ValidationOutput } from '../../trainer/validate.js';

const SIZE = 32;
const OPTS = { valCount: 3, valZ: 2, latentCount: 0 };

before(async () => {
  await initBackend('wasm');
});

/** A run's model and validator as the trainer makes them for `seed`, after `steps` training steps. */
async function runWith(seed: number, steps: number): Promise<{ validator: Validator; model: BicycleGAN }> {
  const dataset = new SyntheticDataset({ size: SIZE, trainCount: 8, valCount: 4, seed });
  const model = new BicycleGAN({ size: SIZE, ngf: 8, nef: 8, ndf: 8, seed });
  const rng = trainerRng(seed);
  for (let s = 0; s < steps; s++) {
    const batch = await dataset.trainBatch(rng.shuffle([0, 1, 2, 3, 4, 5, 6, 7]).slice(0, 4), () => rng.next());
    const shape: [number, number, number, number] = [batch.count, batch.size, batch.size, batch.channels];
    const [a, b] = [tf.tensor4d(batch.a, shape), tf.tensor4d(batch.b, shape)];
    model.trainStep(a, b);
    tf.dispose([a, b]);
  }
  const validator = await Validator.create(dataset, 8, { ...OPTS, seed: validationSeed(seed) }, []);
  return { validator, model };
}

function decode(png: Buffer): PNG {
  return PNG.sync.read(png);
}

/** The RGB bytes of grid cell (row, column), found with the layout the meta describes. */
function cell(out: ValidationOutput, row: number, column: number): number[] {
  const m = out.meta as { tile: number; padding: number; header: number; columns: number };
  const png = decode(out.png);
  const x0 = m.padding + column * (m.tile + m.padding);
  const y0 = m.header + m.padding + row * (m.tile + m.padding);
  const bytes: number[] = [];
  for (let y = y0; y < y0 + m.tile; y++)
    for (let x = x0; x < x0 + m.tile; x++) {
      const o = (y * png.width + x) * 4;
      bytes.push(png.data[o]!, png.data[o + 1]!, png.data[o + 2]!);
    }
  return bytes;
}

test('two runs with the same dataset and seed make their grids from identical inputs and z', async () => {
  const fresh = await runWith(5, 0);
  const trained = await runWith(5, 2);
  const other = await runWith(6, 0);
  try {
    const [a, b, c] = await Promise.all([
      fresh.validator.run(fresh.model),
      trained.validator.run(trained.model),
      other.validator.run(other.model),
    ]);
    assert.equal(a.meta.inputs_id, b.meta.inputs_id);
    assert.equal(a.meta.z_id, b.meta.z_id);
    assert.match(String(a.meta.inputs_id), /^[0-9a-f]{16}$/);
    assert.notEqual(a.meta.inputs_id, c.meta.inputs_id, 'another seed draws other synthetic inputs');
    assert.notEqual(a.meta.z_id, c.meta.z_id, 'another seed draws other z');
    // The pixels agree with the fingerprints: input and target columns are the same images, generated columns not.
    for (let row = 0; row < OPTS.valCount; row++) {
      assert.deepEqual(cell(a, row, 0), cell(b, row, 0), `input of row ${row}`);
      assert.deepEqual(cell(a, row, 1), cell(b, row, 1), `target of row ${row}`);
      assert.notDeepEqual(cell(a, row, 0), cell(c, row, 0), `input of row ${row}, other seed`);
    }
    assert.notDeepEqual(cell(a, 0, 3), cell(b, 0, 3), 'two training steps changed what G makes of z1');
  } finally {
    for (const r of [fresh, trained, other]) r.model.dispose();
  }
});

test('the grid of one run keeps its inputs and z from validation to validation, across training and RNG draws', async () => {
  const run = await runWith(9, 0);
  try {
    const first = await run.validator.run(run.model);
    const rng = trainerRng(9);
    for (let i = 0; i < 1000; i++) rng.normal(); // the trainer's streams move on; the grid's z must not
    const dataset = new SyntheticDataset({ size: SIZE, trainCount: 8, valCount: 4, seed: 9 });
    const batch = await dataset.trainBatch([0, 1, 2, 3], () => rng.next());
    const shape: [number, number, number, number] = [batch.count, batch.size, batch.size, batch.channels];
    const [a, b] = [tf.tensor4d(batch.a, shape), tf.tensor4d(batch.b, shape)];
    run.model.trainStep(a, b);
    tf.dispose([a, b]);
    const second = await run.validator.run(run.model);
    assert.deepEqual([second.meta.inputs_id, second.meta.z_id], [first.meta.inputs_id, first.meta.z_id]);
    assert.deepEqual(second.samples.inputs, first.samples.inputs);
    // A validator made anew for the same run (a resumed process) fingerprints the same inputs and z.
    const again = await Validator.create(dataset, 8, { ...OPTS, seed: validationSeed(9) }, []);
    assert.deepEqual(again.fingerprints, run.validator.fingerprints);
  } finally {
    run.model.dispose();
  }
});

test('the meta describes the layout the PNG is drawn with', async () => {
  const run = await runWith(2, 0);
  try {
    const out = await run.validator.run(run.model);
    const png = decode(out.png);
    const m = out.meta;
    const columns = 3 + OPTS.valZ;
    const layout = gridLayout(OPTS.valCount * columns, {
      size: SIZE,
      columns,
      padding: m.padding as number,
      labels: m.labels as string[],
    });
    assert.deepEqual(
      [m.rows, m.columns, m.tile, m.width, m.height, m.labels_drawn],
      [OPTS.valCount, columns, SIZE, png.width, png.height, true],
    );
    assert.deepEqual([layout.width, layout.height], [png.width, png.height]);
    assert.deepEqual(layout.tileOrigin(columns + 1), {
      x: (m.padding as number) * 2 + SIZE,
      y: (m.header as number) + (m.padding as number) * 2 + SIZE,
    });
  } finally {
    run.model.dispose();
  }
});
