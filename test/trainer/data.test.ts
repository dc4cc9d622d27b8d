// Specification of the trainer's datasets: the synthetic multimodal set, the pix2pix aligned folder loader
// (on fixtures written here), the template dataset, and the errors a user sees for unusable folders.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { isGanwatchError } from '../../protocol/errors.js';
import type { ErrorCode } from '../../protocol/errors.js';
import {
  AlignedDataset,
  MAX_CLASSES,
  SyntheticDataset,
  classifyPalette,
  makeRng,
  openDataset,
  paletteOf,
} from '../../trainer/data/index.js';
import type { PairBatch } from '../../trainer/data/index.js';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function item(x: Float32Array, size: number, i: number): Float32Array {
  const per = size * size * 3;
  return x.subarray(i * per, (i + 1) * per);
}

function assertInRange(x: Float32Array): void {
  let min = Infinity;
  let max = -Infinity;
  for (const v of x) {
    if (!(v >= -1 && v <= 1)) assert.fail(`value ${v} is outside [-1, 1]`);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  assert.ok(max > min, 'the image is not constant');
}

function sameArray(x: Float32Array, y: Float32Array): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/** Asserts that `p` rejects with the registered error `code` and a message holding every string in `names`. */
async function rejectsWith(p: Promise<unknown>, code: ErrorCode, ...names: string[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isGanwatchError(err), `expected a GanwatchError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    for (const n of names) assert.ok(err.message.includes(n), `message "${err.message}" should name ${n}`);
    return true;
  });
}

describe('synthetic dataset', () => {
  test('the same seed gives the same batches', async () => {
    const x = new SyntheticDataset({ size: 32, seed: 7 });
    const y = new SyntheticDataset({ size: 32, seed: 7 });
    const bx = await x.trainBatch([0, 5, 9, 5], makeRng(1));
    const by = await y.trainBatch([0, 5, 9, 5], makeRng(1));
    assert.ok(sameArray(bx.a, by.a) && sameArray(bx.b, by.b));
    assert.deepEqual(bx.labels, by.labels);
    assert.ok(sameArray((await x.valBatch([0, 1, 2])).b, (await y.valBatch([0, 1, 2])).b));
  });

  test('different seeds give different shapes', async () => {
    const x = await new SyntheticDataset({ size: 32, seed: 1 }).valBatch(range(8));
    const y = await new SyntheticDataset({ size: 32, seed: 2 }).valBatch(range(8));
    assert.ok(!sameArray(x.a, y.a));
  });

  test('one input comes with K different targets labelled 0..K-1', () => {
    for (const K of [2, 4, MAX_CLASSES]) {
      const ds = new SyntheticDataset({ size: 32, classes: K });
      const v = ds.variants('train', 3);
      assert.equal(v.count, K);
      assert.deepEqual([...v.labels!], range(K));
      for (let k = 1; k < K; k++) {
        assert.ok(sameArray(item(v.a, 32, k), item(v.a, 32, 0)), 'every variant shares the input');
        for (let j = 0; j < k; j++)
          assert.ok(!sameArray(item(v.b, 32, k), item(v.b, 32, j)), `targets ${j} and ${k} differ`);
      }
    }
  });

  test('training pairs an input with a random palette, reaching all K', async () => {
    const ds = new SyntheticDataset({ size: 32, classes: 4 });
    const batch = await ds.trainBatch(Array(40).fill(2) as number[], makeRng(5));
    assert.deepEqual(new Set(batch.labels).size, 4);
    for (let i = 1; i < batch.count; i++) assert.ok(sameArray(item(batch.a, 32, i), item(batch.a, 32, 0)));
    for (let i = 0; i < batch.count; i++) assert.equal(classifyPalette(item(batch.b, 32, i), 32, 4), batch.labels![i]);
  });

  test('validation item j has palette j mod K and is the same every time', async () => {
    const ds = new SyntheticDataset({ size: 32, classes: 3, valCount: 10 });
    const v1 = await ds.valBatch(range(10));
    const v2 = await ds.valBatch(range(10));
    assert.deepEqual(
      [...v1.labels!],
      range(10).map((j) => j % 3),
    );
    assert.ok(sameArray(v1.a, v2.a) && sameArray(v1.b, v2.b));
  });

  test('values stay in [-1, 1] at every size', async () => {
    for (const size of [32, 64, 256]) {
      const batch = await new SyntheticDataset({ size }).trainBatch([0, 1], makeRng(2));
      assert.equal(batch.a.length, 2 * size * size * 3);
      assert.equal(batch.size, size);
      assert.equal(batch.channels, 3);
      assertInRange(batch.a);
      assertInRange(batch.b);
    }
  });

  test('the outline in A traces the edge of the filled shape in B', () => {
    const size = 64;
    const ds = new SyntheticDataset({ size, classes: 4 });
    for (const index of range(12)) {
      const v = ds.variants('val', index);
      const a = item(v.a, size, 0);
      const b = item(v.b, size, 1);
      const fg = paletteOf(1).fg.map((c) => c * 2 - 1);
      const bg = paletteOf(1).bg.map((c) => c * 2 - 1);
      const inside = (x: number, y: number) => {
        const o = (y * size + x) * 3;
        let df = 0;
        let db = 0;
        for (let c = 0; c < 3; c++) {
          df += (b[o + c]! - fg[c]!) ** 2;
          db += (b[o + c]! - bg[c]!) ** 2;
        }
        return df < db;
      };
      let outline = 0;
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          if (a[(y * size + x) * 3]! < 0.5) continue;
          outline++;
          // A bright outline pixel has both filled and empty pixels of B within 3 px.
          let seenIn = false;
          let seenOut = false;
          for (let dy = -3; dy <= 3; dy++) {
            for (let dx = -3; dx <= 3; dx++) {
              const xx = Math.min(size - 1, Math.max(0, x + dx));
              const yy = Math.min(size - 1, Math.max(0, y + dy));
              if (inside(xx, yy)) seenIn = true;
              else seenOut = true;
            }
          }
          assert.ok(seenIn && seenOut, `outline pixel (${x}, ${y}) of item ${index} is far from the shape's edge`);
        }
      }
      assert.ok(outline > 20, `item ${index} has an outline`);
    }
  });

  test('classifyPalette recovers the palette of every clean target', () => {
    for (const [size, K] of [
      [32, MAX_CLASSES],
      [64, 4],
      [128, 6],
    ] as const) {
      const ds = new SyntheticDataset({ size, classes: K });
      let right = 0;
      let total = 0;
      for (const index of range(size === 128 ? 10 : 40)) {
        const v = ds.variants('train', index);
        for (let k = 0; k < K; k++, total++) if (classifyPalette(item(v.b, size, k), size, K) === k) right++;
      }
      assert.equal(right, total, `${right}/${total} correct at ${size}px, K=${K}`);
    }
  });

  test('classifyPalette still finds the palette under noise and a colour shift', () => {
    const size = 32;
    const K = MAX_CLASSES;
    const ds = new SyntheticDataset({ size, classes: K });
    const rng = makeRng(11);
    for (const index of range(20)) {
      const v = ds.variants('val', index);
      for (let k = 0; k < K; k++) {
        const noisy = Float32Array.from(item(v.b, size, k), (x) =>
          Math.max(-1, Math.min(1, x + 0.08 + (rng() - 0.5) * 0.3)),
        );
        assert.equal(classifyPalette(noisy, size, K), k);
      }
    }
  });

  test('out-of-range options are GW_ERR_OPTION', async () => {
    await rejectsWith(openDataset('synthetic', { size: 16 }), 'GW_ERR_OPTION', 'size');
    await rejectsWith(openDataset('synthetic', { size: 64, classes: MAX_CLASSES + 1 }), 'GW_ERR_OPTION', 'classes');
    await rejectsWith(openDataset('synthetic', { size: 64, trainCount: 0 }), 'GW_ERR_OPTION', 'trainCount');
  });

  test('openDataset("synthetic") opens it with its options and describes them', async () => {
    const ds = await openDataset('synthetic', { size: 48, classes: 5, trainCount: 100, valCount: 20, seed: 3 });
    assert.equal(ds.name, 'synthetic');
    assert.equal(ds.numClasses, 5);
    assert.equal(ds.trainLength, 100);
    assert.equal(ds.valLength, 20);
    assert.equal(ds.size, 48);
    assert.deepEqual(ds.describe().classes, 5);
    assert.equal(JSON.parse(JSON.stringify(ds.describe())).seed, 3);
  });
});

describe('template dataset', () => {
  test('opens by name and gives deterministic, in-range batches', async () => {
    const ds = await openDataset('template', { size: 32 });
    const v1 = await ds.valBatch([0, 1]);
    const v2 = await ds.valBatch([0, 1]);
    assert.ok(sameArray(v1.a, v2.a) && sameArray(v1.b, v2.b));
    const t = await ds.trainBatch([0, 1, 2], makeRng(1));
    assert.equal(t.count, 3);
    assertInRange(t.b);
    assert.equal(t.labels, null);
  });
});

// ---- aligned folders ----
// Fixture pairs (2S × S). Left half: R = x ramp, G = y ramp, B = a per-file constant. Right half: R = another
// per-file constant, G = the same y ramp, B = the same x ramp. So after any shared crop/flip A.R = B.B and
// A.G = B.G pixel for pixel, and the constant channels tell the halves (and the files) apart.
const S = 40;
const SIZE = 32;
const leftConst = (i: number) => 20 + 10 * i;
const rightConst = (i: number) => 250 - 10 * i;

function fixturePixels(i: number): Buffer {
  const w = 2 * S;
  const buf = Buffer.alloc(w * S * 3);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < w; x++) {
      const hx = x % S;
      const ramp = Math.round((hx / (S - 1)) * 255);
      const yramp = Math.round((y / (S - 1)) * 255);
      const o = (y * w + x) * 3;
      if (x < S) buf.set([ramp, yramp, leftConst(i)], o);
      else buf.set([rightConst(i), yramp, ramp], o);
    }
  }
  return buf;
}

async function writeFixture(path: string, i: number, format: 'png' | 'jpeg' = 'png'): Promise<void> {
  const img = sharp(fixturePixels(i), { raw: { width: 2 * S, height: S, channels: 3 } });
  await (format === 'png' ? img.png() : img.jpeg({ quality: 95 })).toFile(path);
}

const byte = (v: number) => Math.round((v + 1) * 127.5);

/** Mean of channel c over item i, in bytes. */
function channelMean(x: Float32Array, i: number, c: number): number {
  const im = item(x, SIZE, i);
  let s = 0;
  for (let p = c; p < im.length; p += 3) s += im[p]!;
  return byte(s / (im.length / 3));
}

describe('aligned dataset', () => {
  let root = '';
  let data = '';

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'gw-aligned-'));
    data = join(root, 'pairs');
    await mkdir(join(data, 'train'), { recursive: true });
    await mkdir(join(data, 'val'));
    // Names sort differently as text (1, 10, 2...) and as numbers (1, 2, ..., 10).
    const trainNames = ['1', '2', '3', '4', '5', '10'];
    await Promise.all(trainNames.map((n, i) => writeFixture(join(data, 'train', `${n}.png`), i)));
    await writeFixture(join(data, 'val', 'a.png'), 6);
    await writeFixture(join(data, 'val', 'b.jpg'), 7, 'jpeg');
    await writeFile(join(data, 'train', 'README.txt'), 'not an image');
  });

  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const open = (opts: Partial<Parameters<typeof AlignedDataset.open>[1]> = {}) =>
    AlignedDataset.open(data, { size: SIZE, loadSize: S, ...opts });

  test('lists the image files of train/ and val/ in numeric order', async () => {
    const ds = await open();
    assert.equal(ds.trainLength, 6);
    assert.equal(ds.valLength, 2);
    assert.equal(ds.valSplit, 'val');
    assert.deepEqual(
      ds.trainFiles.map((f) => f.path.split('/').pop()),
      ['1.png', '2.png', '3.png', '4.png', '5.png', '10.png'],
    );
    const batch = await ds.valBatch([0, 1]);
    assert.equal(channelMean(batch.a, 0, 2), leftConst(6));
    assert.ok(Math.abs(channelMean(batch.a, 1, 2) - leftConst(7)) <= 3, 'the JPEG pair reads back (lossy)');
  });

  test('batches are NHWC at the crop size, in [-1, 1], without labels', async () => {
    const ds = await open();
    const batch: PairBatch = await ds.trainBatch([0, 1, 2, 3], makeRng(1));
    assert.equal(batch.count, 4);
    assert.equal(batch.size, SIZE);
    assert.equal(batch.a.length, 4 * SIZE * SIZE * 3);
    assert.equal(batch.b.length, batch.a.length);
    assert.equal(batch.labels, null);
    assert.equal(ds.numClasses, null);
    assertInRange(batch.a);
    assertInRange(batch.b);
  });

  test('AtoB reads A from the left half; BtoA swaps the halves', async () => {
    const ab = await (await open({ direction: 'AtoB' })).valBatch([0]);
    assert.equal(channelMean(ab.a, 0, 2), leftConst(6));
    assert.equal(channelMean(ab.b, 0, 0), rightConst(6));
    const ba = await (await open({ direction: 'BtoA' })).valBatch([0]);
    assert.equal(channelMean(ba.a, 0, 0), rightConst(6));
    assert.equal(channelMean(ba.b, 0, 2), leftConst(6));
    assert.ok(sameArray(ab.a, ba.b) && sameArray(ab.b, ba.a));
  });

  test('A and B get the same random crop and the same flip', async () => {
    const ds = await open({ loadSize: 48 });
    const rng = makeRng(3);
    const lefts = new Set<number>();
    const tops = new Set<number>();
    let flipped = 0;
    let straight = 0;
    for (let round = 0; round < 6; round++) {
      const batch = await ds.trainBatch(range(6), rng);
      for (let i = 0; i < 6; i++) {
        const a = item(batch.a, SIZE, i);
        const b = item(batch.b, SIZE, i);
        for (let p = 0; p < a.length; p += 3) {
          if (Math.abs(a[p]! - b[p + 2]!) > 1e-6 || Math.abs(a[p + 1]! - b[p + 1]!) > 1e-6) {
            assert.fail(`item ${i}: A and B differ in geometry at pixel ${p / 3}`);
          }
        }
        lefts.add(byte(Math.min(a[0]!, a[(SIZE - 1) * 3]!)));
        tops.add(byte(a[1]!));
        // The x ramp (A's red) rises left to right unless the pair was mirrored.
        if (a[(SIZE - 1) * 3]! > a[0]!) straight++;
        else flipped++;
      }
    }
    assert.ok(flipped > 5 && straight > 5, `flips ${flipped}, not flipped ${straight}`);
    assert.ok(lefts.size > 5 && tops.size > 5, `crop positions vary (${lefts.size} x offsets, ${tops.size} y offsets)`);
  });

  test('noFlip never mirrors a pair', async () => {
    const ds = await open({ noFlip: true, loadSize: 48 });
    const rng = makeRng(4);
    for (let round = 0; round < 5; round++) {
      const batch = await ds.trainBatch(range(6), rng);
      for (let i = 0; i < 6; i++) {
        const a = item(batch.a, SIZE, i);
        assert.ok(a[(SIZE - 1) * 3]! > a[0]!, 'the x ramp rises left to right');
      }
    }
  });

  test('the same rng seed gives the same training batch', async () => {
    const ds = await open({ loadSize: 48 });
    const x = await ds.trainBatch([0, 4, 2], makeRng(9));
    const y = await ds.trainBatch([0, 4, 2], makeRng(9));
    assert.ok(sameArray(x.a, y.a) && sameArray(x.b, y.b));
  });

  test('validation is deterministic and shows each whole half, unflipped', async () => {
    const ds = await open({ loadSize: 48 });
    const v1 = await ds.valBatch([0, 1]);
    const v2 = await ds.valBatch([0, 1]);
    assert.ok(sameArray(v1.a, v2.a) && sameArray(v1.b, v2.b));
    const a = item(v1.a, SIZE, 0);
    // The whole x ramp (0..255) is visible: the first column is near black, the last near full red.
    assert.ok(byte(a[0]!) < 12, `left edge ${byte(a[0]!)}`);
    assert.ok(byte(a[(SIZE - 1) * 3]!) > 243, `right edge ${byte(a[(SIZE - 1) * 3]!)}`);
  });

  test('the default load size is 1.125 × size, as pix2pix 286/256', async () => {
    const ds = await AlignedDataset.open(data, { size: 64 });
    assert.equal(ds.loadSize, 72);
    assert.equal((ds.describe() as { loadSize: number }).loadSize, 72);
    assert.equal((await AlignedDataset.open(data, { size: 256 })).loadSize, 288);
  });

  test('decoded pairs are cached: a second pass needs no file', async () => {
    const dir = join(root, 'cached');
    await mkdir(join(dir, 'train'), { recursive: true });
    await mkdir(join(dir, 'val'));
    await writeFixture(join(dir, 'train', '1.png'), 0);
    await writeFixture(join(dir, 'val', '1.png'), 1);
    const ds = await AlignedDataset.open(dir, { size: SIZE, loadSize: S });
    const first = await ds.trainBatch([0], makeRng(1));
    await unlink(join(dir, 'train', '1.png'));
    const second = await ds.trainBatch([0], makeRng(1));
    assert.ok(sameArray(first.a, second.a));
    assert.equal(ds.cachedPairs, 1);
  });

  test('grey and RGBA images load as RGB', async () => {
    const dir = join(root, 'formats');
    await mkdir(join(dir, 'train'), { recursive: true });
    await mkdir(join(dir, 'test'));
    await sharp({ create: { width: 2 * S, height: S, channels: 3, background: '#808080' } })
      .toColourspace('b-w')
      .png()
      .toFile(join(dir, 'train', 'grey.png'));
    await sharp({ create: { width: 2 * S, height: S, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } } })
      .png()
      .toFile(join(dir, 'test', 'rgba.png'));
    const ds = await AlignedDataset.open(dir, { size: SIZE });
    assert.equal(ds.valSplit, 'test', 'test/ stands in for a missing val/');
    const grey = await ds.trainBatch([0], makeRng(1));
    assert.deepEqual(
      [0, 1, 2].map((c) => channelMean(grey.a, 0, c)),
      [128, 128, 128],
    );
    const red = await ds.valBatch([0]);
    assert.deepEqual(
      [0, 1, 2].map((c) => channelMean(red.b, 0, c)),
      [255, 0, 0],
    );
  });

  test('options out of range are GW_ERR_OPTION', async () => {
    await rejectsWith(open({ size: 300 }), 'GW_ERR_OPTION', 'size');
    await rejectsWith(open({ size: 64, loadSize: 60 }), 'GW_ERR_OPTION', 'loadSize');
    await rejectsWith(open({ direction: 'sideways' as 'AtoB' }), 'GW_ERR_OPTION', 'direction');
  });

  describe('unusable folders', () => {
    const mkSet = async (name: string, subdirs: string[]) => {
      const dir = join(root, name);
      for (const s of subdirs) await mkdir(join(dir, s), { recursive: true });
      await mkdir(dir, { recursive: true });
      return dir;
    };

    test('a missing folder is GW_ERR_DATASET_MISSING naming it', async () => {
      const dir = join(root, 'nowhere');
      await rejectsWith(openDataset(dir, { size: SIZE }), 'GW_ERR_DATASET_MISSING', dir);
    });

    test('a folder without train/ is GW_ERR_DATASET_MISSING naming train', async () => {
      const dir = await mkSet('no-train', ['val']);
      await rejectsWith(openDataset(dir, { size: SIZE }), 'GW_ERR_DATASET_MISSING', join(dir, 'train'));
    });

    test('a folder without val/ or test/ is GW_ERR_DATASET_MISSING naming val', async () => {
      const dir = await mkSet('no-val', ['train']);
      await writeFixture(join(dir, 'train', '1.png'), 0);
      await rejectsWith(openDataset(dir, { size: SIZE }), 'GW_ERR_DATASET_MISSING', join(dir, 'val'));
    });

    test('a split without images is GW_ERR_DATASET_EMPTY naming it', async () => {
      const dir = await mkSet('empty', ['train', 'val']);
      await writeFile(join(dir, 'train', 'notes.txt'), 'no images here');
      await rejectsWith(openDataset(dir, { size: SIZE }), 'GW_ERR_DATASET_EMPTY', join(dir, 'train'));
    });

    test('a file that is not an image is GW_ERR_IMAGE_CORRUPT naming it, when the set opens', async () => {
      const dir = await mkSet('corrupt', ['train', 'val']);
      await writeFixture(join(dir, 'train', '1.png'), 0);
      await writeFixture(join(dir, 'val', '1.png'), 0);
      await writeFile(join(dir, 'train', '2.jpg'), 'this is text, not a JPEG');
      await rejectsWith(openDataset(dir, { size: SIZE }), 'GW_ERR_IMAGE_CORRUPT', join(dir, 'train', '2.jpg'));
    });

    test('a truncated JPEG is GW_ERR_IMAGE_CORRUPT naming it, when it is decoded', async () => {
      const dir = await mkSet('truncated', ['train', 'val']);
      await writeFixture(join(dir, 'val', '1.png'), 0);
      const jpeg = await sharp(fixturePixels(0), { raw: { width: 2 * S, height: S, channels: 3 } })
        .jpeg()
        .toBuffer();
      await writeFile(join(dir, 'train', '1.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
      const ds = await openDataset(dir, { size: SIZE });
      await rejectsWith(ds.trainBatch([0], makeRng(1)), 'GW_ERR_IMAGE_CORRUPT', join(dir, 'train', '1.jpg'));
    });

    test('an odd-width image is GW_ERR_IMAGE_SIZE naming it and its size', async () => {
      const dir = await mkSet('odd', ['train', 'val']);
      await writeFixture(join(dir, 'val', '1.png'), 0);
      await sharp({ create: { width: 81, height: 40, channels: 3, background: '#123456' } })
        .png()
        .toFile(join(dir, 'train', 'odd.png'));
      await rejectsWith(openDataset(dir, { size: SIZE }), 'GW_ERR_IMAGE_SIZE', join(dir, 'train', 'odd.png'), '81×40');
    });

    test('a too-small image is GW_ERR_IMAGE_SIZE naming it and its size', async () => {
      const dir = await mkSet('small', ['train', 'val']);
      await writeFixture(join(dir, 'train', '1.png'), 0);
      await sharp({ create: { width: 20, height: 10, channels: 3, background: '#123456' } })
        .png()
        .toFile(join(dir, 'val', 'tiny.png'));
      await rejectsWith(openDataset(dir, { size: SIZE }), 'GW_ERR_IMAGE_SIZE', join(dir, 'val', 'tiny.png'), '20×10');
    });
  });
});

const FACADES = '/work/shared/data/facades';

test(
  'facades BtoA maps label maps (mostly saturated blue) to photos',
  { skip: !existsSync(FACADES) && 'no facades sample here' },
  async () => {
    const ds = await openDataset(FACADES, { size: 64, direction: 'BtoA' });
    assert.equal(ds.trainLength, 100);
    assert.equal(ds.valLength, 20);
    const batch = await ds.valBatch(range(20));
    const blueShare = (x: Float32Array, i: number) => {
      const im = item(x, 64, i);
      let n = 0;
      for (let p = 0; p < im.length; p += 3) if (im[p + 2]! > 0.5 && im[p]! < -0.5 && im[p + 1]! < 0.2) n++;
      return n / (64 * 64);
    };
    const a = range(20).map((i) => blueShare(batch.a, i));
    const b = range(20).map((i) => blueShare(batch.b, i));
    assert.ok(
      a.reduce((s, v) => s + v) / 20 > 0.45,
      `inputs are label maps: blue shares ${a.map((v) => v.toFixed(2)).join(' ')}`,
    );
    assert.ok(a.every((v) => v > 0.25));
    assert.ok(
      b.every((v) => v < 0.05),
      `targets are photos: blue shares ${b.map((v) => v.toFixed(2)).join(' ')}`,
    );
    const train = await ds.trainBatch([0, 1, 2, 3], makeRng(1));
    assertInRange(train.a);
    assertInRange(train.b);
  },
);
