// BicycleGAN networks: shapes at small sizes, where z enters G, E at any size, the two PatchGAN maps, xavier init
// and seeded reproducibility; parameter counts at the reference's 256 px configuration.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import { BicycleGAN } from '../../trainer/models/bicyclegan.js';
import {
  createDiscriminator,
  createEncoder,
  createGenerator,
  disposeNet,
  type WhereAdd,
} from '../../trainer/models/networks.js';
import { Rng } from '../../trainer/rng.js';

before(async () => {
  await initBackend('wasm');
});

function generatorSpec(size: number, whereAdd: WhereAdd) {
  return { size, inputNc: 3, outputNc: 3, nz: 8, ngf: 8, whereAdd, useDropout: true };
}

for (const size of [32, 64]) {
  for (const whereAdd of ['all', 'input'] as const) {
    test(`G maps [2,${size},${size},3] and z to an image of the same size in [-1,1] (whereAdd=${whereAdd})`, () => {
      const G = createGenerator(generatorSpec(size, whereAdd), new Rng(1));
      tf.tidy(() => {
        const a = tf.randomUniform([2, size, size, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
        const z = tf.randomNormal([2, 8], 0, 1, 'float32', 2) as tf.Tensor2D;
        for (const training of [false, true]) {
          const y = G.apply(a, z, { training, dropoutRng: new Rng(3) });
          assert.deepEqual(y.shape, [2, size, size, 3]);
          const [lo, hi] = [tf.min(y).dataSync()[0] as number, tf.max(y).dataSync()[0] as number];
          assert.ok(lo >= -1 && hi <= 1, `range [${lo}, ${hi}]`);
        }
      });
      assert.equal(G.depth, Math.log2(size));
      disposeNet(G);
    });
  }
}

test('with whereAdd=all every down-conv takes z; with input only the first does', () => {
  for (const whereAdd of ['all', 'input'] as const) {
    const G = createGenerator(generatorSpec(64, whereAdd), new Rng(1));
    const downIn = G.params.filter((p) => /down\/w$/.test(p.name)).map((p) => p.shape[2]);
    // Without z the inputs are 3, 8, 16, 32, 64, 64 channels (ngf=8, widths ngf·{1,2,4,8,8}).
    const plain = [3, 8, 16, 32, 64, 64];
    const expected = plain.map((c, i) => (whereAdd === 'all' || i === 0 ? c + 8 : c));
    assert.deepEqual(downIn, expected, whereAdd);
    disposeNet(G);
  }
});

test('z changes the output: G is not blind to its code', () => {
  const G = createGenerator(generatorSpec(32, 'all'), new Rng(5));
  const diff = tf.tidy(() => {
    const a = tf.randomUniform([1, 32, 32, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const y1 = G.apply(a, tf.fill([1, 8], 2) as tf.Tensor2D);
    const y2 = G.apply(a, tf.fill([1, 8], -2) as tf.Tensor2D);
    return tf.max(tf.abs(tf.sub(y1, y2))).dataSync()[0] as number;
  });
  assert.ok(diff > 0, 'outputs for different z are identical');
  disposeNet(G);
});

test('dropout sits in the ngf×8 up blocks next to the innermost (3 at 256 px, 1 at 64, none at 32) and only in training', () => {
  const dropoutBlocks = (size: number) => {
    const g = createGenerator({ ...generatorSpec(size, 'all'), ngf: 1 }, new Rng(1));
    disposeNet(g);
    return g.dropoutBlocks;
  };
  assert.deepEqual(dropoutBlocks(256), [4, 5, 6]);
  assert.deepEqual(dropoutBlocks(64), [4]);
  assert.deepEqual(dropoutBlocks(32), []);
  const G = createGenerator(generatorSpec(64, 'all'), new Rng(1));
  tf.tidy(() => {
    const a = tf.randomUniform([1, 64, 64, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const z = tf.zeros([1, 8]) as tf.Tensor2D;
    const evalDiff = tf.max(tf.abs(tf.sub(G.apply(a, z), G.apply(a, z)))).dataSync()[0];
    assert.equal(evalDiff, 0, 'eval mode is deterministic');
    const t1 = G.apply(a, z, { training: true, dropoutRng: new Rng(1) });
    const t1again = G.apply(a, z, { training: true, dropoutRng: new Rng(1) });
    const t2 = G.apply(a, z, { training: true, dropoutRng: new Rng(2) });
    assert.equal(tf.max(tf.abs(tf.sub(t1, t1again))).dataSync()[0], 0, 'same dropout seed, same output');
    assert.ok((tf.max(tf.abs(tf.sub(t1, t2))).dataSync()[0] as number) > 0, 'another dropout seed changes the output');
  });
  disposeNet(G);
});

for (const size of [32, 48, 64]) {
  test(`E encodes ${size}px images into mu and logvar of size nz`, () => {
    for (const built of [size, 64]) {
      const E = createEncoder({ size: built, inputNc: 3, nz: 8, nef: 8 }, new Rng(2));
      tf.tidy(() => {
        const { mu, logvar } = E.apply(tf.randomUniform([3, size, size, 3], -1, 1) as tf.Tensor4D);
        assert.deepEqual(mu.shape, [3, 8]);
        assert.deepEqual(logvar.shape, [3, 8]);
        assert.ok(tf.all(tf.isFinite(mu)).dataSync()[0] === 1);
      });
      disposeNet(E);
    }
  });
}

test('E has the reference block counts: 5 at 256 px, 4 at 128, scaled down below', () => {
  const blocks = [32, 48, 64, 128, 256].map((s) => {
    const E = createEncoder({ size: s, inputNc: 3, nz: 8, nef: 1 }, new Rng(1));
    disposeNet(E);
    return E.nBlocks;
  });
  assert.deepEqual(blocks, [2, 2, 3, 4, 5]);
});

for (const [size, maps] of [
  [32, [2, 2]],
  [64, [6, 2]],
  [256, [30, 14]],
] as const) {
  test(`D returns two logit maps at ${size}px: ${maps[0]}×${maps[0]} (full scale) and ${maps[1]}×${maps[1]} (half scale)`, () => {
    const D = createDiscriminator({ size, inputNc: 3, ndf: 4 }, new Rng(3), 'D');
    assert.deepEqual(D.mapSizes, maps);
    tf.tidy(() => {
      const out = D.apply(tf.randomUniform([2, size, size, 3], -1, 1) as tf.Tensor4D);
      assert.equal(out.length, 2);
      assert.deepEqual(out[0]?.shape, [2, maps[0], maps[0], 1]);
      assert.deepEqual(out[1]?.shape, [2, maps[1], maps[1], 1]);
    });
    disposeNet(D);
  });
}

test('xavier init: weight std is 0.02·sqrt(2/(fan_in+fan_out)) and biases start at 0', () => {
  const G = createGenerator({ ...generatorSpec(32, 'all'), ngf: 32 }, new Rng(7));
  const w = G.params.find((p) => p.name === 'G/b2/down/w');
  assert.ok(w);
  const [k, , cin, cout] = w.shape as [number, number, number, number];
  const expected = 0.02 * Math.sqrt(2 / (cin * k * k + cout * k * k));
  const { mean, variance } = tf.moments(w.variable);
  assert.ok(Math.abs(Math.sqrt(variance.dataSync()[0] as number) / expected - 1) < 0.03, 'std off by more than 3%');
  assert.ok(Math.abs(mean.dataSync()[0] as number) < expected * 0.05);
  // Transposed convs count fans the same way as torch (in·k² + out·k²).
  const up = G.params.find((p) => p.name === 'G/b1/up/w');
  assert.ok(up);
  const [uk, , ucout, ucin] = up.shape as [number, number, number, number];
  const upExpected = 0.02 * Math.sqrt(2 / ((ucin + ucout) * uk * uk));
  const upStd = Math.sqrt(tf.moments(up.variable).variance.dataSync()[0] as number);
  assert.ok(Math.abs(upStd / upExpected - 1) < 0.05);
  for (const b of G.params.filter((p) => p.name.endsWith('/b'))) {
    assert.equal(tf.max(tf.abs(b.variable)).dataSync()[0], 0, b.name);
  }
  tf.dispose([mean, variance]);
  disposeNet(G);
});

function weightsOf(m: BicycleGAN): Float32Array[] {
  return (['G', 'E', 'D', 'D2'] as const).flatMap((n) =>
    m.net(n).params.map((p) => p.variable.dataSync() as Float32Array),
  );
}

test('the same seed gives identical weights; another seed gives different ones', () => {
  const opts = { size: 32, ngf: 8, nef: 8, ndf: 8 };
  const [m1, m2, m3] = [
    new BicycleGAN({ ...opts, seed: 11 }),
    new BicycleGAN({ ...opts, seed: 11 }),
    new BicycleGAN({ ...opts, seed: 12 }),
  ];
  const [w1, w2, w3] = [weightsOf(m1), weightsOf(m2), weightsOf(m3)];
  assert.equal(w1.length, w2.length);
  w1.forEach((w, i) => assert.deepEqual(w, w2[i]));
  assert.notDeepEqual(w1[0], w3[0]);
  for (const m of [m1, m2, m3]) m.dispose();
});

test('D and D2 are independent networks with their own weights', () => {
  const m = new BicycleGAN({ size: 32, ngf: 4, nef: 4, ndf: 4, seed: 1 });
  const d = m.D.params[0]?.variable.dataSync();
  const d2 = m.D2.params[0]?.variable.dataSync();
  assert.notDeepEqual(d, d2);
  m.dispose();
});

test('at 256 px with default widths the parameter counts match the reference (G 54.79M, E 2.59M, each D 3.46M)', () => {
  const m = new BicycleGAN({ size: 256 });
  assert.deepEqual(m.paramCounts(), { G: 54_794_627, E: 2_590_032, D: 3_458_978, D2: 3_458_978 });
  m.dispose();
  const input = new BicycleGAN({ size: 256, whereAdd: 'input', ngf: 64, nef: 1, ndf: 2 });
  assert.equal(input.paramCounts().G, 54_417_795);
  input.dispose();
});

test('disposing a model frees all its tensors', () => {
  const before = tf.memory().numTensors;
  const m = new BicycleGAN({ size: 32, ngf: 4, nef: 4, ndf: 4, seed: 1 });
  assert.ok(tf.memory().numTensors > before);
  m.dispose();
  assert.equal(tf.memory().numTensors, before);
});
