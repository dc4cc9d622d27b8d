// The BicycleGAN training step: wasm agrees with cpu, the image loss falls on a fixed batch, no tensors leak, the
// latent loss updates G only, every metric is reported, and lr / λ / clipping controls act on the running model.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import { BicycleGAN, MODEL_METRICS, type BicycleGANOptions, type NetName } from '../../trainer/models/bicyclegan.js';

const SMALL: Partial<BicycleGANOptions> = { size: 32, ngf: 8, nef: 8, ndf: 8, seed: 7 };

before(async () => {
  await initBackend('wasm');
});

/** A fixed batch with structure: A = white discs of different radii, B = the discs filled with one palette each. */
function discBatch(
  n: number,
  size = 32,
): { a: Float32Array; b: Float32Array; shape: [number, number, number, number] } {
  const a = new Float32Array(n * size * size * 3);
  const b = new Float32Array(n * size * size * 3);
  const palette = [0.8, -0.2, -0.6];
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (((6 + 2 * i) * size) / 32) ** 2;
        for (let c = 0; c < 3; c++) {
          const k = ((i * size + y) * size + x) * 3 + c;
          a[k] = inside ? 1 : -1;
          b[k] = inside ? (palette[(c + i) % 3] as number) : -0.8 + 0.05 * c;
        }
      }
    }
  }
  return { a, b, shape: [n, size, size, 3] };
}

function tensors(batch: ReturnType<typeof discBatch>): [tf.Tensor4D, tf.Tensor4D] {
  return [tf.tensor4d(batch.a, batch.shape), tf.tensor4d(batch.b, batch.shape)];
}

function weightsOf(m: BicycleGAN, net: NetName): Float32Array[] {
  return m.net(net).params.map((p) => new Float32Array(p.variable.dataSync()));
}

function maxAbsDiff(x: Float32Array[], y: Float32Array[]): number {
  let max = 0;
  x.forEach((a, i) => {
    const b = y[i] as Float32Array;
    for (let k = 0; k < a.length; k++) max = Math.max(max, Math.abs((a[k] as number) - (b[k] as number)));
  });
  return max;
}

function norm(arrays: Float32Array[]): number {
  let s = 0;
  for (const a of arrays) for (const v of a) s += v * v;
  return Math.sqrt(s);
}

test('one step on wasm equals the same step on cpu: metrics, gradients and the weights they determine', async () => {
  const batch = discBatch(4);
  const run = async (backend: 'cpu' | 'wasm') => {
    await initBackend(backend);
    const m = new BicycleGAN(SMALL);
    const [a, b] = tensors(batch);
    const metrics = m.trainStep(a, b);
    const state = await m.exportState();
    tf.dispose([a, b]);
    m.dispose();
    return { metrics, tensors: new Map(state.tensors.map((t) => [t.name, t.values])) };
  };
  const cpu = await run('cpu');
  const wasm = await run('wasm');
  for (const name of MODEL_METRICS) {
    const [x, y] = [cpu.metrics[name], wasm.metrics[name]];
    assert.ok(Math.abs(x - y) <= 1e-3 * Math.max(Math.abs(x), Math.abs(y)) + 1e-6, `${name}: cpu ${x} vs wasm ${y}`);
  }
  for (const net of ['G', 'E', 'D', 'D2'] as const) {
    // Adam's first moment after one step is (1 − β1)·gradient: the gradients must agree to 1e-3 of their scale.
    const moments = [...cpu.tensors.keys()].filter((k) => k.startsWith(`opt/${net}/m/`));
    let scale = 0;
    let gradDiff = 0;
    for (const k of moments) {
      const [x, y] = [cpu.tensors.get(k) as Float32Array, wasm.tensors.get(k) as Float32Array];
      for (let i = 0; i < x.length; i++) {
        scale = Math.max(scale, Math.abs(x[i] as number));
        gradDiff = Math.max(gradDiff, Math.abs((x[i] as number) - (y[i] as number)));
      }
    }
    assert.ok(gradDiff <= 1e-3 * scale, `${net}: gradients differ by ${gradDiff} (scale ${scale})`);
    // Adam's first update is lr·g/(|g| + ε): where |g| is near ε (e.g. biases right before an instance norm, whose
    // exact gradient is 0, get ~1e-7 of float noise) it turns rounding noise into ±lr. Compare the weights whose
    // gradient is well above ε and above the noise floor (first moment ≥ max(1e-7, 1e-5 × the net's largest)).
    const decisive = Math.max(1e-7, 1e-5 * scale);
    let weightDiff = 0;
    let compared = 0;
    let total = 0;
    for (const p of moments.map((k) => k.slice(`opt/${net}/m/`.length))) {
      const [x, y, g] = [
        cpu.tensors.get(p) as Float32Array,
        wasm.tensors.get(p) as Float32Array,
        cpu.tensors.get(`opt/${net}/m/${p}`) as Float32Array,
      ];
      total += x.length;
      for (let i = 0; i < x.length; i++) {
        if (Math.abs(g[i] as number) < decisive) continue;
        compared++;
        weightDiff = Math.max(weightDiff, Math.abs((x[i] as number) - (y[i] as number)));
      }
    }
    assert.ok(weightDiff < 1e-6, `${net}: updated weights differ by ${weightDiff}`);
    // Gain-0.02 init makes early gradients tiny: only about 35–60% of the weights pass that bar in this step.
    assert.ok(compared >= 0.25 * total, `${net}: only ${compared} of ${total} weights have a decisive gradient`);
  }
});

test('on a fixed batch of 4, loss/L1 falls by at least 50% within 200 steps', () => {
  const m = new BicycleGAN(SMALL);
  const [a, b] = tensors(discBatch(4));
  const first = m.trainStep(a, b)['loss/L1'];
  let best = first;
  for (let i = 1; i < 200 && best > first / 2; i++) best = Math.min(best, m.trainStep(a, b)['loss/L1']);
  assert.ok(best <= first / 2, `loss/L1 went from ${first} to ${best} only`);
  tf.dispose([a, b]);
  m.dispose();
});

test('the tensor count stays flat across 50 steps', () => {
  const m = new BicycleGAN({ ...SMALL, ngf: 4, nef: 4, ndf: 4 });
  const [a, b] = tensors(discBatch(2));
  m.trainStep(a, b); // the first step creates Adam's moment variables
  const after1 = tf.memory().numTensors;
  for (let i = 0; i < 50; i++) m.trainStep(a, b);
  assert.equal(tf.memory().numTensors, after1);
  tf.dispose([a, b]);
  m.dispose();
});

test('every metric is reported, finite, and nothing else', () => {
  const m = new BicycleGAN(SMALL);
  const [a, b] = tensors(discBatch(4));
  const metrics = m.trainStep(a, b);
  assert.deepEqual(Object.keys(metrics).sort(), [...MODEL_METRICS].sort());
  for (const [k, v] of Object.entries(metrics)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
  for (const k of ['D_real_acc', 'D_fake_acc', 'D2_real_acc', 'D2_fake_acc'] as const) {
    assert.ok(metrics[k] >= 0 && metrics[k] <= 1, k);
  }
  assert.equal(metrics.Cyc_error, metrics['loss/L1']);
  const total =
    (metrics['loss/G_GAN'] + metrics['loss/G_GAN2']) * 1.0 +
    10 * metrics['loss/L1'] +
    0.01 * metrics['loss/KL'] +
    0.5 * metrics['loss/z_L1'];
  assert.ok(Math.abs(total - metrics['loss/G_total']) < 1e-4 * total, 'G_total is the λ-weighted sum');
  assert.deepEqual(
    [metrics['lr/G'], metrics['lr/E'], metrics['lr/D'], metrics['clip/max_norm']],
    [2e-4, 2e-4, 1e-4, 0],
  );
  assert.deepEqual(
    [metrics['lambda/adv'], metrics['lambda/cyc'], metrics['lambda/latent'], metrics['lambda/kl']],
    [1, 10, 0.5, 0.01],
  );
  tf.dispose([a, b]);
  m.dispose();
});

test('the vanilla GAN loss of an untrained D is about 2·ln 2 per scale pair, and lsgan runs too', () => {
  const [a, b] = tensors(discBatch(4));
  const vanilla = new BicycleGAN(SMALL);
  const mv = vanilla.trainStep(a, b);
  // Logits start near 0: each of the 2 scales contributes ln2 (real) + ln2 (fake).
  assert.ok(Math.abs(mv['loss/D'] - 4 * Math.LN2) < 0.05, `loss/D = ${mv['loss/D']}`);
  vanilla.dispose();
  const lsgan = new BicycleGAN({ ...SMALL, ganMode: 'lsgan' });
  const ml = lsgan.trainStep(a, b);
  assert.ok(Number.isFinite(ml['loss/D']) && Math.abs(ml['loss/D'] - 2) < 0.1, `lsgan loss/D = ${ml['loss/D']}`);
  lsgan.dispose();
  tf.dispose([a, b]);
});

test('the latent loss alone changes G and not E', () => {
  const m = new BicycleGAN({ ...SMALL, lambdaAdv: 0, lambdaCyc: 0, lambdaKl: 0, lambdaLatent: 0.5 });
  const [a, b] = tensors(discBatch(4));
  const [g0, e0] = [weightsOf(m, 'G'), weightsOf(m, 'E')];
  const metrics = m.trainStep(a, b);
  assert.ok(metrics['loss/z_L1'] > 0);
  assert.equal(maxAbsDiff(e0, weightsOf(m, 'E')), 0, 'E moved');
  assert.ok(maxAbsDiff(g0, weightsOf(m, 'G')) > 0, 'G did not move');
  assert.equal(metrics['grad_norm/E'], 0);
  tf.dispose([a, b]);
  m.dispose();
});

test('with all losses on, E gets the same update whether λ_latent is 0.5 or 0, while G gets a different one', () => {
  const [a, b] = tensors(discBatch(4));
  const after = (lambdaLatent: number) => {
    const m = new BicycleGAN({ ...SMALL, lambdaLatent });
    m.trainStep(a, b);
    const w = { G: weightsOf(m, 'G'), E: weightsOf(m, 'E') };
    m.dispose();
    return w;
  };
  const on = after(0.5);
  const off = after(0);
  assert.equal(maxAbsDiff(on.E, off.E), 0, 'E depends on the latent loss');
  assert.ok(maxAbsDiff(on.G, off.G) > 0, 'G ignores the latent loss');
  tf.dispose([a, b]);
});

test('setLr shows in lr/*, takes effect at once and keeps Adam moments', async () => {
  const m = new BicycleGAN(SMALL);
  const [a, b] = tensors(discBatch(4));
  m.trainStep(a, b);
  m.setLr('G', 0);
  m.setLr('E', 1e-3);
  const g1 = weightsOf(m, 'G');
  const metrics = m.trainStep(a, b);
  assert.equal(metrics['lr/G'], 0);
  assert.equal(metrics['lr/E'], 1e-3);
  assert.equal(maxAbsDiff(g1, weightsOf(m, 'G')), 0, 'G moved with lr 0');
  const state = await m.exportState();
  // A fresh optimizer would show 1 iteration and accBeta1 = β1² = 0.25 after the step.
  assert.equal(state.optimizers.G.iterations, 2);
  assert.equal(state.optimizers.G.accBeta1, 0.125);
  assert.equal(state.optimizers.E.iterations, 2);
  tf.dispose([a, b]);
  m.dispose();
});

test('scaleLr("D") scales D and D2; setEpoch applies the linear decay to every lr', () => {
  const m = new BicycleGAN({ ...SMALL, niter: 2, niterDecay: 3 });
  m.scaleLr('D', 0.5);
  assert.equal(m.getLr('D'), 5e-5);
  assert.equal(m.getLr('D2'), 5e-5);
  m.setEpoch(2);
  assert.equal(m.getLr('G'), 2e-4);
  m.setEpoch(4); // 1 − (4 − 2)/(3 + 1) = 0.5
  assert.ok(Math.abs(m.getLr('G') - 1e-4) < 1e-12);
  assert.ok(Math.abs(m.getLr('D2') - 2.5e-5) < 1e-12);
  m.dispose();
});

test('setLambda and setClip show in the next step’s metrics', () => {
  const m = new BicycleGAN(SMALL);
  const [a, b] = tensors(discBatch(4));
  m.setLambda('latent', 1.0);
  m.setLambda('cyc', 15);
  m.setClip(5);
  const metrics = m.trainStep(a, b);
  assert.equal(metrics['lambda/latent'], 1.0);
  assert.equal(metrics['lambda/cyc'], 15);
  assert.equal(metrics['clip/max_norm'], 5);
  assert.equal(m.config().lambdaLatent, 1.0);
  tf.dispose([a, b]);
  m.dispose();
});

test('clipping caps the gradient Adam applies at max_norm (G+E together, D and D2 each) while grad_norm/* report it unclipped', async () => {
  const maxNorm = 1e-3;
  const m = new BicycleGAN({ ...SMALL, clipMaxNorm: maxNorm });
  const [a, b] = tensors(discBatch(4));
  const metrics = m.trainStep(a, b);
  const state = await m.exportState();
  // After one step Adam's first moment is (1 − β1)·g_applied, so it reveals the applied gradient.
  const applied = (nets: NetName[]) =>
    norm(state.tensors.filter((t) => nets.some((n) => t.name.startsWith(`opt/${n}/m/`))).map((t) => t.values)) /
    (1 - 0.5);
  const preGE = Math.hypot(metrics['grad_norm/G'], metrics['grad_norm/E']);
  assert.ok(preGE > maxNorm && metrics['grad_norm/D'] > maxNorm && metrics['grad_norm/D2'] > maxNorm);
  assert.ok(Math.abs(applied(['G', 'E']) - maxNorm) < maxNorm * 1e-3, `G+E applied ${applied(['G', 'E'])}`);
  assert.ok(Math.abs(applied(['D']) - maxNorm) < maxNorm * 1e-3, `D applied ${applied(['D'])}`);
  assert.ok(Math.abs(applied(['D2']) - maxNorm) < maxNorm * 1e-3, `D2 applied ${applied(['D2'])}`);
  m.dispose();

  const free = new BicycleGAN(SMALL);
  const freeMetrics = free.trainStep(a, b);
  const freeState = await free.exportState();
  const freeApplied =
    norm(freeState.tensors.filter((t) => t.name.startsWith('opt/D/m/')).map((t) => t.values)) / (1 - 0.5);
  assert.ok(
    Math.abs(freeApplied - freeMetrics['grad_norm/D']) < 1e-3 * freeApplied,
    'without clipping the full gradient is applied',
  );
  free.dispose();
  tf.dispose([a, b]);
});

test('a batch that is odd or of the wrong size is refused with GW_ERR_OPTION', () => {
  const m = new BicycleGAN(SMALL);
  const odd = tf.zeros([3, 32, 32, 3]) as tf.Tensor4D;
  const wrong = tf.zeros([2, 64, 64, 3]) as tf.Tensor4D;
  assert.throws(() => m.trainStep(odd, odd), { code: 'GW_ERR_OPTION' });
  assert.throws(() => m.trainStep(wrong, wrong), { code: 'GW_ERR_OPTION' });
  assert.throws(() => new BicycleGAN({ size: 48 }), { code: 'GW_ERR_OPTION' });
  tf.dispose([odd, wrong]);
  m.dispose();
});

test('encode and generate serve validation: mu of size nz, eval-mode images, nothing leaked', () => {
  const m = new BicycleGAN(SMALL);
  const [a, b] = tensors(discBatch(2));
  const before = tf.memory().numTensors;
  const { mu, logvar } = m.encode(b);
  assert.deepEqual(mu.shape, [2, 8]);
  const y1 = m.generate(a, mu);
  const y2 = m.generate(a, mu);
  assert.deepEqual(y1.shape, [2, 32, 32, 3]);
  assert.equal(
    tf.tidy(() => tf.max(tf.abs(tf.sub(y1, y2))).dataSync()[0]),
    0,
  );
  tf.dispose([mu, logvar, y1, y2]);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([a, b]);
  m.dispose();
});
