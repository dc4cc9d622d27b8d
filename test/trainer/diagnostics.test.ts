// The trainer's diagnostics: the pure function on small known tensors (layer norms add a layer's weight and bias,
// gradient norms come from the Σ g² given, histograms hold every value and count NaN apart), and a diagnosed step of
// the real model: the same update as an undiagnosed one, every layer of G, E, D, D2 and every distribution named,
// norms matching the step's own global gradient norms, no tensor left behind.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { histogramTotal } from '../../protocol/histogram.js';
import {
  DIST_E_LOGVAR,
  DIST_E_MU,
  GRAD_NORM_METRIC,
  discriminatorOutputDistribution,
  layerGradMetric,
  layerNormMetric,
} from '../../protocol/metric-names.js';
import { initBackend } from '../../trainer/backend.js';
import { computeDiagnostics, layerOf } from '../../trainer/diagnostics.js';
import { BicycleGAN, NET_NAMES, type BicycleGANOptions } from '../../trainer/models/bicyclegan.js';

before(async () => {
  await initBackend('wasm');
});

test('a layer is its parameter name without the last part', () => {
  assert.equal(layerOf('G/b3/down/w'), 'G/b3/down');
  assert.equal(layerOf('E/block1/shortcut/b'), 'E/block1/shortcut');
  assert.equal(layerOf('D2/s1/c4/w'), 'D2/s1/c4');
});

test('layer norms take weight and bias together; gradient norms come from the Σ g² given', () => {
  const t = [
    tf.tensor2d([
      [3, 0],
      [0, 0],
    ]),
    tf.tensor1d([4]),
    tf.tensor1d([-1, 2, -2]),
    tf.scalar(9),
    tf.scalar(16),
    tf.scalar(1),
  ];
  const d = computeDiagnostics({
    weights: [
      { name: 'G/b0/down/w', tensor: t[0]! },
      { name: 'G/b0/down/b', tensor: t[1]! },
      { name: 'D/s0/c0/w', tensor: t[2]! },
    ],
    gradSquares: [
      { name: 'G/b0/down/w', tensor: t[3]! },
      { name: 'G/b0/down/b', tensor: t[4]! },
      { name: 'D/s0/c0/w', tensor: t[5]! },
    ],
    outputs: [],
  });
  assert.deepEqual(d.points, {
    [layerNormMetric('G/b0/down')]: 5, // √(9 + 16)
    [layerNormMetric('D/s0/c0')]: 3, // √(1 + 4 + 4)
    [layerGradMetric('G/b0/down')]: 5,
    [layerGradMetric('D/s0/c0')]: 1,
  });
  assert.deepEqual(d.distributions, []);
  tf.dispose(t);
});

test('each output becomes a histogram of all its values, min and max exact, NaN counted apart', () => {
  const a = tf.tensor2d([
    [0, 0.25, 0.5],
    [0.75, 1, Number.NaN],
  ]);
  const b = tf.tensor4d([-2, 2], [1, 1, 2, 1]);
  const before = tf.memory().numTensors;
  const d = computeDiagnostics(
    {
      weights: [],
      gradSquares: [],
      outputs: [
        { name: 'dist/a', tensor: a },
        { name: 'dist/b', tensor: b },
      ],
    },
    4,
  );
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  assert.deepEqual(d.points, {});
  assert.deepEqual(d.distributions, [
    { name: 'dist/a', histogram: { edges: [0, 0.25, 0.5, 0.75, 1], counts: [1, 1, 1, 2], nonFinite: 1 } },
    { name: 'dist/b', histogram: { edges: [-2, -1, 0, 1, 2], counts: [1, 0, 0, 1], nonFinite: 0 } },
  ]);
  tf.dispose([a, b]);
});

test('nothing to compute gives empty diagnostics', () => {
  assert.deepEqual(computeDiagnostics({ weights: [], gradSquares: [], outputs: [] }), {
    points: {},
    distributions: [],
  });
});

// ------------------------------------------------------------------ the real model

const SMALL: Partial<BicycleGANOptions> = { size: 32, ngf: 8, nef: 8, ndf: 8, seed: 11 };

function batch(seed: number): [tf.Tensor4D, tf.Tensor4D] {
  const shape: [number, number, number, number] = [4, 32, 32, 3];
  return [tf.randomUniform(shape, -1, 1, 'float32', seed), tf.randomUniform(shape, -1, 1, 'float32', seed + 1)];
}

test('a diagnosed step makes the same update as an undiagnosed one, and names every layer and distribution', () => {
  const plain = new BicycleGAN(SMALL);
  const diagnosed = new BicycleGAN(SMALL);
  const [a, b] = batch(1);
  plain.trainStep(a, b);
  diagnosed.trainStep(a, b); // Adam's slots exist from here on: the tensor count is comparable
  const tensorsBefore = tf.memory().numTensors;
  const m1 = plain.trainStep(a, b);
  const { metrics: m2, diagnostics: d } = diagnosed.trainStepDiagnosed(a, b);
  assert.equal(tf.memory().numTensors, tensorsBefore, 'a diagnosed step leaves no tensor behind');
  assert.deepEqual(m2, m1, 'the same metrics');
  for (const net of NET_NAMES) {
    const w1 = plain.net(net).params.map((p) => Array.from(p.variable.dataSync()));
    const w2 = diagnosed.net(net).params.map((p) => Array.from(p.variable.dataSync()));
    assert.deepEqual(w2, w1, `${net}: the same weights after the step`);
  }

  for (const net of NET_NAMES) {
    const layers = [...new Set(diagnosed.net(net).params.map((p) => layerOf(p.name)))];
    let sumSq = 0;
    for (const layer of layers) {
      const w = d.points[layerNormMetric(layer)];
      const g = d.points[layerGradMetric(layer)];
      assert.ok(w !== undefined && Number.isFinite(w) && w > 0, `${layer}: weight norm ${w}`);
      assert.ok(g !== undefined && Number.isFinite(g) && g > 0, `${layer}: gradient norm ${g}`);
      sumSq += g * g;
    }
    // The layers' gradient norms are the terms of the network's global norm (grad_norm/<net>) of the same step.
    const global = m2[GRAD_NORM_METRIC[net]];
    assert.ok(
      Math.abs(Math.sqrt(sumSq) - global) <= 1e-4 * global,
      `${net}: √Σ layer² ${Math.sqrt(sumSq)} vs ${global}`,
    );
  }
  const allLayers = new Set(NET_NAMES.flatMap((n) => diagnosed.net(n).params.map((p) => layerOf(p.name))));
  assert.equal(Object.keys(d.points).length, 2 * allLayers.size, 'a weight and a gradient norm per layer, no more');

  const byName = new Map(d.distributions.map((x) => [x.name, x.histogram]));
  // 32 px: D's full-scale PatchGAN map is 2×2 per image, its half-scale map 1×1 (ndf 8, 3 layers); 2 images per side.
  for (const net of ['D', 'D2'] as const) {
    for (const side of ['real', 'fake'] as const) {
      for (const scale of [0, 1]) {
        const h = byName.get(discriminatorOutputDistribution(net, side, scale));
        assert.ok(h, `${net} ${side} scale ${scale}`);
        assert.ok(histogramTotal(h) > 0 && h.nonFinite === 0);
        // The log loss's verdict is a probability.
        assert.ok(h.edges[0]! > 0 && h.edges[h.edges.length - 1]! < 1, `${net} ${side} ${scale}: ${h.edges}`);
      }
    }
  }
  for (const name of [DIST_E_MU, DIST_E_LOGVAR]) {
    const h = byName.get(name);
    assert.ok(h, name);
    assert.equal(histogramTotal(h), 2 * 8, `${name}: half a batch × nz values`);
  }
  assert.equal(d.distributions.length, 10);
  tf.dispose([a, b]);
  plain.dispose();
  diagnosed.dispose();
});

test('lsgan verdicts are the raw outputs, not probabilities', () => {
  const m = new BicycleGAN({ ...SMALL, ganMode: 'lsgan' });
  const [a, b] = batch(3);
  const { diagnostics } = m.trainStepDiagnosed(a, b);
  const h = diagnostics.distributions.find((x) => x.name === discriminatorOutputDistribution('D', 'real', 0));
  assert.ok(h);
  // Fresh PatchGAN outputs are near 0 and of both signs; a sigmoid would put them all near 0.5.
  assert.ok(h.histogram.edges[0]! < 0.1, `min ${h.histogram.edges[0]}`);
  tf.dispose([a, b]);
  m.dispose();
});
