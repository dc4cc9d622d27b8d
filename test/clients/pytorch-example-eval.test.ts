// The PyTorch example's validation metrics (examples/pytorch-bicyclegan/evaluation.py) agree with the TypeScript
// trainer's on the same images: the palette classifier behind val/mode_coverage, mode coverage itself, SSIM (on the
// SSIM fixtures the trainer's SSIM is checked against scikit-image with) and diversity. So val/* of a PyTorch run and
// of a ganwatch run compare. Needs /usr/bin/python3 with torch, numpy and Pillow.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { paletteDistances, paletteOf, renderPair, shapeAt } from '../../trainer/data/synthetic.js';
import { diversity, modeCoverage } from '../../trainer/eval/diversity.js';
import { meanSsim } from '../../trainer/eval/ssim.js';
import { decodeRgb, fromUint8Rgb } from '../../trainer/images.js';
import { makeRng } from '../../trainer/rng.js';
import { ROOT, tempDir } from '../../harness/server.js';

const PYTHON = '/usr/bin/python3';
const EXAMPLE = join(ROOT, 'examples/pytorch-bicyclegan');
const skip =
  !existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import torch, numpy, PIL']).status !== 0
    ? `${PYTHON} with torch, numpy and Pillow is missing (apt-get install python3-torch python3-numpy python3-pil)`
    : false;
if (skip) console.log(`# example-pytorch-eval: skipped: ${skip}`);

const SIZE = 32;
const K = 4;
const SAMPLES = 4;
const INPUTS = 6;

/** images[i][k]: input i's k-th "output": clean targets, targets with noise, and plain noise, all seeded. */
function outputs(): Float32Array[][] {
  const rng = makeRng(7);
  return Array.from({ length: INPUTS }, (_, i) =>
    Array.from({ length: SAMPLES }, (_, k) => {
      const img = new Float32Array(SIZE * SIZE * 3);
      renderPair(shapeAt(3, 'val', i), (i * k + k) % K, SIZE, null, img);
      const noise = i < 2 ? 0 : i < 4 ? 0.4 : 2; // clean, noisy, noise only
      for (let p = 0; p < img.length; p++)
        img[p] = Math.max(-1, Math.min(1, img[p]! * (noise > 1 ? 0 : 1) + (rng() - 0.5) * noise));
      return img;
    }),
  );
}

/** Runs `code` with the example's modules importable, `data` (JSON) in the file named by sys.argv[1]; parses stdout. */
function python(code: string, data: unknown): any {
  const file = join(tempDir('ganwatch-example-eval-'), 'data.json');
  writeFileSync(file, JSON.stringify(data));
  const out = spawnSync(
    PYTHON,
    ['-c', `import sys, json\nsys.path.insert(0, ${JSON.stringify(EXAMPLE)})\n${code}`, file],
    {
      encoding: 'utf8',
      env: { ...process.env, OMP_NUM_THREADS: '1' },
    },
  );
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout);
}

const PALETTES = Array.from({ length: K }, (_, k) => ({ fg: [...paletteOf(k).fg], bg: [...paletteOf(k).bg] }));

before(async () => {
  await tf.setBackend('cpu');
});

test('the example classifies outputs by palette exactly as the synthetic set does', { skip }, () => {
  const images = outputs().flat();
  const ts = images.map((img) => Array.from(paletteDistances(img, SIZE, K)));
  const py = python(
    `import numpy as np
from evaluation import palette_distances
d = json.load(open(sys.argv[1]))
images = np.asarray(d["images"], dtype=np.float32).reshape(-1, ${SIZE}, ${SIZE}, 3)
print(json.dumps(palette_distances(images, d["palettes"]).tolist()))`,
    { images: images.map((x) => Array.from(x)), palettes: PALETTES },
  ) as number[][];
  assert.equal(py.length, ts.length);
  ts.forEach((row, i) => row.forEach((v, k) => assert.ok(Math.abs(v - py[i]![k]!) < 1e-9, `image ${i} palette ${k}`)));
});

test('the example computes val/mode_coverage as the trainer does', { skip }, () => {
  const groups = outputs();
  const perInput = groups.map((samples) => {
    const flat = new Float32Array(samples.length * SIZE * SIZE * 3);
    samples.forEach((img, k) => flat.set(img, k * img.length));
    return flat;
  });
  const ts = modeCoverage(perInput, K, SIZE);
  const py = python(
    `import torch
from evaluation import mode_coverage
d = json.load(open(sys.argv[1]))
x = torch.tensor(d["images"], dtype=torch.float32).view(${INPUTS}, ${SAMPLES}, ${SIZE}, ${SIZE}, 3).permute(0, 1, 4, 2, 3)
print(json.dumps(mode_coverage(x, d["palettes"])))`,
    { images: perInput.map((x) => Array.from(x)), palettes: PALETTES },
  ) as number;
  assert.ok(ts > 1 / K && ts < 1, `the images make a coverage between the extremes (${ts})`);
  assert.equal(py, ts);
});

test("the example's val/ssim and val/diversity agree with the trainer's", { skip }, async () => {
  const pairs = [
    ['natural', 'natural-noisy'],
    ['natural', 'natural-shift'],
    ['facade', 'facade-blur'],
    ['noise-a', 'noise-b'],
    ['rect', 'rect-noisy'],
  ];
  const load = async (name: string) => {
    const img = await decodeRgb(join(ROOT, 'test/fixtures/eval', `${name}.png`));
    return { data: fromUint8Rgb(img.data), h: img.height, w: img.width };
  };
  const ssims: number[] = [];
  const images: { a: number[]; b: number[]; h: number; w: number }[] = [];
  for (const [x, y] of pairs) {
    const a = await load(x!);
    const b = await load(y!);
    const ta = tf.tensor4d(a.data, [1, a.h, a.w, 3]);
    const tb = tf.tensor4d(b.data, [1, b.h, b.w, 3]);
    ssims.push(meanSsim(ta, tb, 2));
    tf.dispose([ta, tb]);
    images.push({ a: Array.from(a.data), b: Array.from(b.data), h: a.h, w: a.w });
  }
  const groups = outputs().map(
    (samples) => tf.stack(samples.map((s) => tf.tensor3d(s, [SIZE, SIZE, 3]))) as tf.Tensor4D,
  );
  const div = diversity(groups);
  tf.dispose(groups);
  const py = python(
    `import torch
from evaluation import diversity, ssim
d = json.load(open(sys.argv[1]))
def chw(v, h, w): return torch.tensor(v, dtype=torch.float32).view(1, h, w, 3).permute(0, 3, 1, 2)
s = [float(ssim(chw(p["a"], p["h"], p["w"]), chw(p["b"], p["h"], p["w"]))[0]) for p in d["pairs"]]
x = torch.tensor(d["outputs"], dtype=torch.float32).view(${INPUTS}, ${SAMPLES}, ${SIZE}, ${SIZE}, 3).permute(0, 1, 4, 2, 3)
print(json.dumps({"ssim": s, "diversity": diversity(x)}))`,
    { pairs: images, outputs: outputs().map((s) => s.map((x) => Array.from(x))) },
  ) as { ssim: number[]; diversity: number };
  // tfjs computes in float32, the example in float64.
  ssims.forEach((v, i) =>
    assert.ok(Math.abs(v - py.ssim[i]!) < 2e-5, `SSIM ${pairs[i]!.join(' vs ')}: ${v} vs ${py.ssim[i]}`),
  );
  assert.ok(Math.abs(div - py.diversity) < 1e-5, `diversity ${div} vs ${py.diversity}`);
});
