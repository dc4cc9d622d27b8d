// Specification of the trainer's image utilities: float/byte conversion and the validation grid PNG.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import sharp from 'sharp';
import {
  GRID_HEADER_HEIGHT,
  decodeRgb,
  encodeGridPng,
  encodePng,
  fromUint8Rgb,
  gridLayout,
  toUint8Rgb,
} from '../../trainer/images.js';

/** A size × size tile of one colour given in bytes. */
function solid(size: number, rgb: readonly [number, number, number]): Float32Array {
  const t = new Float32Array(size * size * 3);
  for (let i = 0; i < t.length; i++) t[i] = rgb[i % 3]! / 127.5 - 1;
  return t;
}

function pixel(img: { data: Uint8Array; width: number }, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [img.data[o]!, img.data[o + 1]!, img.data[o + 2]!];
}

const COLOURS: Array<[number, number, number]> = [
  [255, 0, 0],
  [0, 255, 0],
  [0, 0, 255],
  [255, 255, 0],
  [0, 255, 255],
  [255, 0, 255],
  [255, 255, 255],
];

test('toUint8Rgb maps [-1, 1] to 0..255, clamps, and turns NaN into 0', () => {
  const bytes = toUint8Rgb(Float32Array.from([-1, 0, 1, -3, 2, Number.NaN]));
  assert.deepEqual([...bytes], [0, 128, 255, 0, 255, 0]);
});

test('fromUint8Rgb inverts toUint8Rgb on every byte value', () => {
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  const floats = fromUint8Rgb(all);
  assert.equal(floats[0], -1);
  assert.equal(floats[255], 1);
  assert.deepEqual([...toUint8Rgb(floats)], [...all]);
});

test('a grid PNG is columns × rows tiles with padding between and around them', async () => {
  const size = 8;
  const png = await encodeGridPng(
    COLOURS.map((c) => solid(size, c)),
    { size, columns: 3, padding: 2 },
  );
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.width, 3 * size + 4 * 2);
  assert.equal(meta.height, 3 * size + 4 * 2); // 7 tiles in 3 columns make 3 rows
});

test('each tile lands in its cell, row-major, and the gaps keep the background', async () => {
  const size = 8;
  const pad = 3;
  const opts = { size, columns: 3, padding: pad, background: [10, 20, 30] as const };
  const png = await encodeGridPng(
    COLOURS.map((c) => solid(size, c)),
    opts,
  );
  const img = await decodeRgb(png);
  COLOURS.forEach((colour, i) => {
    const col = i % 3;
    const row = Math.floor(i / 3);
    const x = pad + col * (size + pad);
    const y = pad + row * (size + pad);
    assert.deepEqual(pixel(img, x, y), colour, `tile ${i} top-left`);
    assert.deepEqual(pixel(img, x + size - 1, y + size - 1), colour, `tile ${i} bottom-right`);
    assert.deepEqual(pixel(img, x - 1, y), [10, 20, 30], `gap left of tile ${i}`);
  });
  // The last row holds one tile; the rest of it is empty.
  assert.deepEqual(pixel(img, pad + 1 * (size + pad) + 2, pad + 2 * (size + pad) + 2), [10, 20, 30]);
});

test('a tile keeps its pixels in order (not just its colour)', async () => {
  const size = 4;
  const tile = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) tile.set([(p * 16) / 127.5 - 1, -1, 1], p * 3); // red rises along rows
  const img = await decodeRgb(await encodeGridPng([tile], { size, columns: 1, padding: 1 }));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) assert.deepEqual(pixel(img, 1 + x, 1 + y), [(y * size + x) * 16, 0, 255]);
  }
});

test('null tiles leave their cell empty', async () => {
  const size = 6;
  const png = await encodeGridPng([solid(size, [255, 0, 0]), null, solid(size, [0, 0, 255])], {
    size,
    columns: 3,
    padding: 0,
    background: [0, 0, 0],
  });
  const img = await decodeRgb(png);
  assert.deepEqual(pixel(img, 2, 2), [255, 0, 0]);
  assert.deepEqual(pixel(img, size + 2, 2), [0, 0, 0]);
  assert.deepEqual(pixel(img, 2 * size + 2, 2), [0, 0, 255]);
});

test('column labels add a header band above the tiles', async () => {
  const size = 32;
  const tiles = COLOURS.slice(0, 4).map((c) => solid(size, c));
  const opts = { size, columns: 2, padding: 2, labels: ['input', 'a label far too long for a column'] };
  const png = await encodeGridPng(tiles, opts);
  assert.equal((await sharp(png).metadata()).channels, 3, 'still an RGB PNG, no alpha');
  const img = await decodeRgb(png);
  const layout = gridLayout(tiles.length, opts);
  assert.equal(img.width, layout.width);
  assert.equal(img.height, 2 * size + 3 * 2 + GRID_HEADER_HEIGHT);
  const { x, y } = layout.tileOrigin(3);
  assert.equal(y, GRID_HEADER_HEIGHT + 2 + size + 2);
  assert.deepEqual(pixel(img, x + 1, y + 1), COLOURS[3]);
  // Some header pixel is drawn brighter than the background: the text.
  let brightest = 0;
  for (let yy = 0; yy < GRID_HEADER_HEIGHT; yy++) {
    for (let xx = 0; xx < img.width; xx++) brightest = Math.max(brightest, pixel(img, xx, yy)[0]!);
  }
  assert.ok(brightest > 100, `header text is visible (brightest ${brightest})`);
});

test('a tile of the wrong length is refused', async () => {
  await assert.rejects(
    encodeGridPng([new Float32Array(10)], { size: 4, columns: 1 }),
    /tile 0 holds 10 values, 48 expected/,
  );
});

test('encodePng writes one image that decodes to the same bytes', async () => {
  const tile = solid(5, [12, 200, 77]);
  const img = await decodeRgb(await encodePng(tile, 5));
  assert.equal(img.width, 5);
  assert.equal(img.height, 5);
  assert.deepEqual(pixel(img, 4, 4), [12, 200, 77]);
});
