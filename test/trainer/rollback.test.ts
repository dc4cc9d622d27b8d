// What a rollback does to the model (trainer/rollback.ts): it reads latest/ or best/ of the run's checkpoint folder
// whole, refuses one that does not exist, holds no trainer state, or holds NaN weights (saved after a divergence), and
// applies the overrides after the restore: lr_factor to every lr, then lr to the nets it names, then λs and clipping.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend } from '../../trainer/backend.js';
import { saveCheckpoint } from '../../trainer/checkpoint.js';
import { BicycleGAN, type BicycleGANOptions } from '../../trainer/models/bicyclegan.js';
import { applyRollbackOverrides, readRollbackSource } from '../../trainer/rollback.js';

const OPTS: Partial<BicycleGANOptions> = { size: 32, ngf: 4, nef: 4, ndf: 4, seed: 3 };
let tmp: string;
let model: BicycleGAN;
const trainer = { epoch: 2, batchInEpoch: 1, step: 7, rngState: [1, 2, 3, 4], epochRngState: [1, 2, 3, 4] };

before(async () => {
  await initBackend('wasm');
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ganwatch-rollback-'));
  model = new BicycleGAN(OPTS);
});

after(async () => {
  model.dispose();
  await fs.rm(tmp, { recursive: true, force: true });
});

test('a saved checkpoint is read with its trainer state; a missing one names what saves it', async () => {
  await saveCheckpoint(path.join(tmp, 'ok', 'latest'), model, { epoch: 2, step: 7, trainer });
  const source = await readRollbackSource(path.join(tmp, 'ok'), 'latest');
  assert.equal(source.loop.step, 7);
  assert.equal(source.info.extra.step, 7);
  await assert.rejects(readRollbackSource(path.join(tmp, 'ok'), 'best'), (err: any) => {
    assert.equal(err.code, 'GW_ERR_CHECKPOINT');
    assert.match(err.message, /no best checkpoint saved yet \(one is saved at each validation that improves/);
    return true;
  });
});

test('a checkpoint without trainer state, or with NaN weights, is refused', async () => {
  await saveCheckpoint(path.join(tmp, 'bare', 'latest'), model, { epoch: 1, step: 3 });
  await assert.rejects(readRollbackSource(path.join(tmp, 'bare'), 'latest'), /holds no trainer state/);
  const poisoned = new BicycleGAN(OPTS);
  try {
    const p = poisoned.net('G').params[0]!;
    p.variable.assign(p.variable.mul(Number.NaN));
    await saveCheckpoint(path.join(tmp, 'nan', 'latest'), poisoned, { epoch: 2, step: 9, trainer });
  } finally {
    poisoned.dispose();
  }
  await assert.rejects(readRollbackSource(path.join(tmp, 'nan'), 'latest'), (err: any) => {
    assert.equal(err.code, 'GW_ERR_CHECKPOINT');
    assert.match(err.message, /holds NaN or infinite values \(saved at step 9, after the run diverged\)/);
    return true;
  });
});

test('overrides: lr_factor scales every lr, lr sets the nets it names (D covers D2), then λs and clipping', () => {
  const m = new BicycleGAN({ ...OPTS, lrG: 2e-4, lrE: 4e-4, lrD: 1e-4 });
  try {
    const changes = applyRollbackOverrides(m, {
      checkpoint: 'latest',
      lr_factor: 0.5,
      lr: { D: 3e-5 },
      lambda: { latent: 1 },
      max_norm: 2,
    });
    assert.deepEqual(
      (['G', 'E', 'D', 'D2'] as const).map((n) => m.getLr(n)),
      [1e-4, 2e-4, 3e-5, 3e-5],
    );
    assert.equal(m.getLambda('latent'), 1);
    assert.equal(m.getClip(), 2);
    assert.deepEqual(changes, [
      'lr G 0.0001, E 0.0002 (×0.5)',
      'lr D and D2 = 0.00003',
      'lambda latent = 1',
      'clipping at norm 2',
    ]);
    assert.deepEqual(applyRollbackOverrides(m, { checkpoint: 'best' }), [], 'no overrides: nothing changes');
    assert.equal(m.getLr('G'), 1e-4);
  } finally {
    m.dispose();
  }
});
