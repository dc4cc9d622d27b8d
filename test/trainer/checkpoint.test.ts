// Checkpoints: a run resumed from one continues exactly as if never interrupted (weights, Adam state, controls,
// RNG), saving is atomic, and anything missing, corrupt or of another architecture is GW_ERR_CHECKPOINT.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import { loadCheckpoint, readCheckpointInfo, saveCheckpoint } from '../../trainer/checkpoint.js';
import { BicycleGAN, type BicycleGANOptions, type StepMetrics } from '../../trainer/models/bicyclegan.js';
import { Rng } from '../../trainer/rng.js';

const OPTS: Partial<BicycleGANOptions> = { size: 32, ngf: 4, nef: 4, ndf: 4, seed: 21 };
let tmp: string;

before(async () => {
  await initBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganwatch-ckpt-'));
});

after(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Batch i of a fixed "dataset": the same i always gives the same images. */
function batch(i: number): [tf.Tensor4D, tf.Tensor4D] {
  const rng = new Rng(1000 + i);
  const a = rng.fillNormal(new Float32Array(4 * 32 * 32 * 3), 0, 0.5);
  const b = rng.fillNormal(new Float32Array(4 * 32 * 32 * 3), 0, 0.5);
  return [tf.tensor4d(a, [4, 32, 32, 3]), tf.tensor4d(b, [4, 32, 32, 3])];
}

function step(m: BicycleGAN, i: number): StepMetrics {
  const [a, b] = batch(i);
  try {
    return m.trainStep(a, b);
  } finally {
    tf.dispose([a, b]);
  }
}

function allWeights(m: BicycleGAN): Float32Array[] {
  return (['G', 'E', 'D', 'D2'] as const).flatMap((n) =>
    m.net(n).params.map((p) => new Float32Array(p.variable.dataSync())),
  );
}

test('save after k steps, load into a fresh model, run m more: identical to an uninterrupted k+m step run', async () => {
  const k = 3;
  const m = 3;
  const dir = path.join(tmp, 'resume');
  const dataRng = new Rng(5);

  const straight = new BicycleGAN(OPTS);
  const interrupted = new BicycleGAN(OPTS);
  const straightMetrics: StepMetrics[] = [];
  for (let i = 0; i < k + m; i++) {
    if (i === 1) {
      // Controls changed mid-run must survive the checkpoint too.
      for (const model of [straight, interrupted]) {
        model.setLambda('latent', 1.0);
        model.scaleLr('D', 0.5);
        model.setClip(10);
        model.setEpoch(2);
      }
    }
    straightMetrics.push(step(straight, i));
    if (i < k) step(interrupted, i);
  }
  dataRng.nextUint32();
  await saveCheckpoint(dir, interrupted, { epoch: 2, step: k, rngState: dataRng.getState(), note: 'after k' });
  interrupted.dispose();

  const info = await readCheckpointInfo(dir);
  const resumed = new BicycleGAN(info.config);
  const loaded = await loadCheckpoint(dir, resumed);
  assert.equal(loaded.extra.step, k);
  assert.equal(loaded.extra.note, 'after k');
  assert.deepEqual(loaded.extra.rngState, dataRng.getState());
  assert.equal(resumed.getSteps(), k);
  assert.equal(resumed.getLambda('latent'), 1.0);
  assert.equal(resumed.getLr('D2'), straight.getLr('D2'));
  assert.equal(resumed.getClip(), 10);
  assert.equal(resumed.getEpoch(), 2);

  for (let i = k; i < k + m; i++) assert.deepEqual(step(resumed, i), straightMetrics[i], `metrics of step ${i}`);
  const [w1, w2] = [allWeights(straight), allWeights(resumed)];
  w1.forEach((w, i) => assert.deepEqual(w2[i], w, `weight tensor ${i}`));
  straight.dispose();
  resumed.dispose();
});

test('a missing checkpoint gives GW_ERR_CHECKPOINT', async () => {
  const m = new BicycleGAN(OPTS);
  await assert.rejects(loadCheckpoint(path.join(tmp, 'nothing-here'), m), { code: 'GW_ERR_CHECKPOINT' });
  await assert.rejects(readCheckpointInfo(path.join(tmp, 'nothing-here')), { code: 'GW_ERR_CHECKPOINT' });
  m.dispose();
});

test('a corrupt weights file gives GW_ERR_CHECKPOINT and leaves the model untouched', async () => {
  const dir = path.join(tmp, 'corrupt');
  const m = new BicycleGAN(OPTS);
  await saveCheckpoint(dir, m, { epoch: 0, step: 0 });
  const weights = (await fs.readdir(dir)).find((f) => f.endsWith('.bin')) as string;
  const file = path.join(dir, weights);
  const bytes = await fs.readFile(file);
  bytes[100] = (bytes[100] as number) ^ 0xff;
  await fs.writeFile(file, bytes);
  const fresh = new BicycleGAN({ ...OPTS, seed: 99 });
  const before = allWeights(fresh);
  await assert.rejects(loadCheckpoint(dir, fresh), { code: 'GW_ERR_CHECKPOINT', message: /corrupt/ });
  await fs.writeFile(file, bytes.subarray(0, 64));
  await assert.rejects(loadCheckpoint(dir, fresh), { code: 'GW_ERR_CHECKPOINT' });
  allWeights(fresh).forEach((w, i) => assert.deepEqual(w, before[i]));
  m.dispose();
  fresh.dispose();
});

test('a manifest that is not JSON or not a checkpoint gives GW_ERR_CHECKPOINT', async () => {
  const dir = path.join(tmp, 'bad-manifest');
  await fs.mkdir(dir, { recursive: true });
  const m = new BicycleGAN(OPTS);
  await fs.writeFile(path.join(dir, 'manifest.json'), '{"format": "ganwatch-checkpoint", "vers');
  await assert.rejects(loadCheckpoint(dir, m), { code: 'GW_ERR_CHECKPOINT', message: /not valid JSON/ });
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ format: 'something-else' }));
  await assert.rejects(loadCheckpoint(dir, m), { code: 'GW_ERR_CHECKPOINT', message: /format/ });
  m.dispose();
});

test('a checkpoint of another architecture gives GW_ERR_CHECKPOINT', async () => {
  const dir = path.join(tmp, 'other-arch');
  const small = new BicycleGAN(OPTS);
  await saveCheckpoint(dir, small, { epoch: 0, step: 0 });
  const wider = new BicycleGAN({ ...OPTS, ngf: 8 });
  await assert.rejects(loadCheckpoint(dir, wider), { code: 'GW_ERR_CHECKPOINT', message: /ngf/ });
  small.dispose();
  wider.dispose();
});

test('saving again replaces the checkpoint atomically: one manifest, one weights file, no temp files', async () => {
  const dir = path.join(tmp, 'replace');
  const m = new BicycleGAN(OPTS);
  await saveCheckpoint(dir, m, { epoch: 0, step: 0 });
  step(m, 0);
  // Leftovers of a save that crashed half-way must neither break loading nor survive the next save.
  await fs.writeFile(path.join(dir, 'manifest.json.tmp'), 'half a manifest');
  await fs.writeFile(path.join(dir, 'weights-0-dead.bin.tmp'), 'half a file');
  assert.equal((await readCheckpointInfo(dir)).extra.step, 0);
  await saveCheckpoint(dir, m, { epoch: 0, step: 1 });
  const files = (await fs.readdir(dir)).sort();
  assert.equal(files.length, 2, files.join(', '));
  assert.ok(files.includes('manifest.json') && files.filter((f) => /^weights-.*\.bin$/.test(f)).length === 1);
  const fresh = new BicycleGAN(OPTS);
  assert.equal((await loadCheckpoint(dir, fresh)).extra.step, 1);
  allWeights(fresh).forEach((w, i) => assert.deepEqual(w, allWeights(m)[i]));
  m.dispose();
  fresh.dispose();
});

test('a checkpoint saved before any step loads and trains like the fresh model it came from', async () => {
  const dir = path.join(tmp, 'fresh');
  const m = new BicycleGAN(OPTS);
  await saveCheckpoint(dir, m, { epoch: 0, step: 0 });
  const other = new BicycleGAN({ ...OPTS, seed: 3 });
  await loadCheckpoint(dir, other);
  assert.deepEqual(step(other, 0), step(m, 0));
  m.dispose();
  other.dispose();
});
