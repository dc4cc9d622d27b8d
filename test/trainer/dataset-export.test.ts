// Specification of `npm run dataset`: the synthetic palettes set written as pix2pix aligned PNG pairs with their class
// labels, pixel for pixel what `--dataset synthetic` trains on; bad options refused in one line, nothing written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ExportManifest } from '../../trainer/data/export.js';
import { SyntheticDataset, paletteOf } from '../../trainer/data/synthetic.js';
import { decodeRgb, toUint8Rgb } from '../../trainer/images.js';
import { ROOT, tempDir } from '../../harness/server.js';

function dataset(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/dataset.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
}

/** The left and right halves of a pair PNG as RGB bytes. */
async function halves(file: string, size: number): Promise<[Uint8Array, Uint8Array]> {
  const img = await decodeRgb(file);
  assert.deepEqual([img.width, img.height], [2 * size, size], file);
  const left = new Uint8Array(size * size * 3);
  const right = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const row = img.data.subarray(y * size * 6, (y + 1) * size * 6);
    left.set(row.subarray(0, size * 3), y * size * 3);
    right.set(row.subarray(size * 3), y * size * 3);
  }
  return [left, right];
}

test('npm run dataset writes each input once per palette and the validation pairs, as --dataset synthetic draws them', async () => {
  const out = join(tempDir('ganwatch-dataset-'), 'synth');
  const run = dataset(
    'synthetic',
    '--size',
    '32',
    '--out',
    out,
    '--count',
    '3',
    '--val-count',
    '5',
    '--classes',
    '3',
    '--seed',
    '2',
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /9 training pairs \(3 inputs × 3 palettes\) and 5 validation pairs at 32 px/);

  const manifest = JSON.parse(readFileSync(join(out, 'labels.json'), 'utf8')) as ExportManifest;
  assert.deepEqual(
    manifest.palettes,
    [0, 1, 2].map((k) => ({ name: paletteOf(k).name, fg: [...paletteOf(k).fg], bg: [...paletteOf(k).bg] })),
  );
  assert.deepEqual([manifest.size, manifest.classes, manifest.seed], [32, 3, 2]);
  const train = readdirSync(join(out, 'train')).sort();
  assert.deepEqual(Object.keys(manifest.train), train);
  assert.deepEqual(readdirSync(join(out, 'val')).sort(), Object.keys(manifest.val));

  const synth = new SyntheticDataset({ size: 32, classes: 3, seed: 2, trainCount: 3, valCount: 5 });
  const per = 32 * 32 * 3;
  for (let i = 0; i < 3; i++) {
    const variants = synth.variants('train', i);
    for (let k = 0; k < 3; k++) {
      const name = `0000${i}_k${k}.png`;
      assert.equal(manifest.train[name], k);
      const [a, b] = await halves(join(out, 'train', name), 32);
      assert.deepEqual(a, toUint8Rgb(variants.a.subarray(k * per, (k + 1) * per)), `${name} A`);
      assert.deepEqual(b, toUint8Rgb(variants.b.subarray(k * per, (k + 1) * per)), `${name} B`);
    }
  }
  const val = await synth.valBatch([0, 1, 2, 3, 4]);
  for (let j = 0; j < 5; j++) {
    const name = `0000${j}_k${j % 3}.png`;
    assert.equal(manifest.val[name], val.labels![j]);
    const [a, b] = await halves(join(out, 'val', name), 32);
    assert.deepEqual(a, toUint8Rgb(val.a.subarray(j * per, (j + 1) * per)), `${name} A`);
    assert.deepEqual(b, toUint8Rgb(val.b.subarray(j * per, (j + 1) * per)), `${name} B`);
  }
});

test('npm run dataset refuses a non-empty --out in one line, exit code 2, and leaves it as it was', () => {
  const out = tempDir('ganwatch-dataset-');
  mkdirSync(join(out, 'train'));
  writeFileSync(join(out, 'train', 'mine.png'), 'not yours');
  const run = dataset('synthetic', '--size', '32', '--out', out);
  assert.equal(run.status, 2);
  assert.equal(run.stderr, `dataset: GW_ERR_OPTION: Invalid option: --out ${out} is not empty\n`);
  assert.deepEqual(readdirSync(out), ['train']);
  assert.deepEqual(readdirSync(join(out, 'train')), ['mine.png']);
});

test('npm run dataset refuses bad options in one line naming the option, exit code 2, writing nothing', () => {
  const parent = tempDir('ganwatch-dataset-');
  const out = join(parent, 'synth');
  const cases: [string[], RegExp][] = [
    [['synthetic', '--size', '20', '--out', out], /size must be an integer from 32 to 256, got 20/],
    [['synthetic', '--size', '32', '--out', out, '--classes', '9'], /classes must be an integer from 2 to 8, got 9/],
    [['synthetic', '--size', '32', '--out', out, '--count', 'many'], /--count must be an integer, got 'many'/],
    [['edges2shoes', '--size', '32', '--out', out], /dataset kind must be one of synthetic, got 'edges2shoes'/],
    [['synthetic', '--out', out], /required option '--size <px>' not specified/],
  ];
  for (const [args, message] of cases) {
    const run = dataset(...args);
    assert.equal(run.status, 2, args.join(' '));
    assert.match(run.stderr, /^dataset: GW_ERR_OPTION: Invalid option: /);
    assert.match(run.stderr, message);
    assert.equal(run.stderr.trim().split('\n').length, 1);
  }
  assert.deepEqual(readdirSync(parent), []);
});
