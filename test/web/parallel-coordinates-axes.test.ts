// The parallel coordinates' model outside the browser: brushes written to and read from the address (rounded outwards,
// so a shared link keeps at least the runs its sender saw), and which line the pointer is on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { brushText, lineAt, parseBrushes, type Brush } from '../../web/src/charts/parallel-coordinates-axes.js';

test('brushes round-trip through the address, their ends rounded outwards to 4 significant digits', () => {
  const brushes = new Map<string, Brush>([
    ['config.lr_d', [4.99999123e-5, 5.0000123e-4]],
    ['best(val/fid)', [36.123456, 39.98761]],
    ['min(loss/D)', [-1.23456, 0]],
  ]);
  const text = brushText(brushes);
  assert.equal(text, 'config.lr_d:0.00004999:0.0005001;best(val/fid):36.12:39.99;min(loss/D):-1.235:0');
  const back = parseBrushes(text);
  assert.deepEqual([...back.keys()], [...brushes.keys()]);
  for (const [key, [lo, hi]] of brushes) {
    const [a, b] = back.get(key)!;
    assert.ok(a <= lo && b >= hi, `${key}: [${a}, ${b}] holds [${lo}, ${hi}]`);
  }
  assert.equal(brushText(new Map()), '');
});

test('malformed brushes in an address are left out, the others kept', () => {
  const back = parseBrushes('config.lr_d:1e-4:1e-3;junk;a:b:c;x:5:1;y::2;best(val/fid):30:40');
  assert.deepEqual(
    [...back],
    [
      ['config.lr_d', [1e-4, 1e-3]],
      ['best(val/fid)', [30, 40]],
    ],
  );
  assert.equal(parseBrushes('').size, 0);
});

test('the line under the pointer: the nearest within reach, between the axes either side', () => {
  // Two axes at x 0 and 100; run 0 goes 10 → 90, run 1 stays at 50, run 2 has no value on the second axis.
  const axes = [
    { x: 0, ys: [10, 50, 20] },
    { x: 100, ys: [90, 50, NaN] },
  ];
  const all = (): boolean => true;
  assert.equal(lineAt(axes, { x: 75, y: 51 }, 6, all), 1);
  assert.equal(lineAt(axes, { x: 25, y: 31 }, 6, all), 0, 'run 0 is at 30 a quarter of the way');
  assert.equal(lineAt(axes, { x: 50, y: 30 }, 6, all), null, 'nothing within 6 px');
  assert.equal(lineAt(axes, { x: 5, y: 23 }, 6, all), null, 'run 2 has no segment to draw');
  assert.equal(lineAt(axes, { x: 150, y: 50 }, 6, all), null, 'beyond the last axis');
  assert.equal(
    lineAt(axes, { x: 75, y: 51 }, 6, (k) => k !== 1),
    null,
    'run 1 not accepted',
  );
});
