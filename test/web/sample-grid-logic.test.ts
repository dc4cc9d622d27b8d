// The pure parts of Compare's sample views, in Node: the dashboard finds the cells where the trainer draws them
// (held to trainer/images.ts gridLayout, with and without padding/header in the meta), and the rule that says when two
// runs' grids may be swiped and differenced, with its reasons.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MediaItem } from '../../protocol/index.js';
import { gridLayout } from '../../trainer/images.js';
import { cellName, gridCells } from '../../web/src/components/grid-cells.js';
import { gridsMatch, type MatchSide } from '../../web/src/components/sample-match.js';

test('the grid cells the dashboard finds are the tiles the trainer draws, meta padding or not', () => {
  for (const [rows, columns, tile, padding, labels] of [
    [3, 6, 32, 2, ['input', 'target', 'encoded', 'z1', 'z2', 'z3']],
    [8, 5, 64, 0, []],
    [2, 7, 17, 3, ['a']],
  ] as const) {
    const layout = gridLayout(rows * columns, { size: tile, columns, padding, labels: [...labels] });
    const header = layout.tileOrigin(0).y - padding;
    const explicit = gridCells({ rows, columns, tile, padding, header }, layout.width, layout.height)!;
    const inferred = gridCells({ rows, columns, tile }, layout.width, layout.height)!;
    for (const cells of [explicit, inferred]) {
      assert.deepEqual([cells.padding, cells.header], [padding, header]);
      for (let i = 0; i < rows * columns; i++) {
        const [row, column] = [Math.floor(i / columns), i % columns];
        const o = layout.tileOrigin(i);
        const r = cells.cellRect(row, column);
        assert.deepEqual(
          [r.x * layout.width, r.y * layout.height, r.w * layout.width, r.h * layout.height].map(
            (v) => Math.round(v * 1e6) / 1e6,
          ),
          [o.x, o.y, tile, tile],
        );
        const centre = cells.cellAt((o.x + tile / 2) / layout.width, (o.y + tile / 2) / layout.height);
        assert.deepEqual(centre, { row, column });
      }
    }
    if (padding > 0) assert.equal(explicit.cellAt(padding / 2 / layout.width, 0.5), null, 'the gap is no cell');
  }
  const cells = gridCells({ rows: 1, columns: 4, tile: 8, labels: ['input', 'target'] }, 4 * 8 + 5 * 2, 8 + 2 * 2)!;
  assert.equal(cellName(cells, 0, 1), 'row 1 · target');
  assert.equal(cellName(cells, 0, 3), 'row 1 · column 4');
  assert.equal(gridCells({ rows: 2, columns: 3, tile: 10 }, 31, 50), null, 'a size the meta cannot explain');
  assert.equal(gridCells({ columns: 3, tile: 10 }, 34, 24), null, 'no rows');
});

function side(name: string, config: Record<string, unknown>, meta: Record<string, unknown> | null): MatchSide {
  const item: MediaItem | null =
    meta === null
      ? null
      : { id: 1, epoch: 5, step: 50, kind: 'samples', bytes: 1, meta, created_at: 0, url: `/m/${name}` };
  return { name, config, item };
}

test('two grids match by their fingerprints, else by dataset and seed in the configs; a mismatch says why', () => {
  const grid = { rows: 3, columns: 6, tile: 32 };
  const fp = { ...grid, inputs_id: 'aaaa', z_id: 'zzzz' };
  const cfg = { dataset: 'synthetic', seed: 1, lrG: 2e-4 };
  assert.equal(gridsMatch(side('A', cfg, fp), side('B', { ...cfg, lrG: 1e-3 }, fp), 5).ok, true);
  // Fingerprints win over configs: the same seed cannot hide other inputs.
  const reason = (m: ReturnType<typeof gridsMatch>): string => (m.ok ? 'ok' : m.reason);
  assert.match(
    reason(gridsMatch(side('A', cfg, fp), side('B', cfg, { ...fp, inputs_id: 'bbbb' }), 5)),
    /different validation inputs \(inputs_id aaaa vs bbbb\)/,
  );
  assert.match(reason(gridsMatch(side('A', cfg, fp), side('B', cfg, { ...fp, z_id: 'y' }), 5)), /different z/);
  // No fingerprints (another trainer): the configs decide.
  assert.equal(gridsMatch(side('A', cfg, grid), side('B', { ...cfg, lrG: 1 }, grid), 5).ok, true);
  assert.equal(
    reason(gridsMatch(side('A', cfg, grid), side('B', { ...cfg, seed: 2 }, grid), 5)),
    'their seed differs: 1 vs 2',
  );
  assert.equal(
    reason(gridsMatch(side('A', cfg, grid), side('B', { ...cfg, dataset: 'facades' }, grid), 5)),
    'their dataset differs: synthetic vs facades',
  );
  assert.match(
    reason(gridsMatch(side('A', cfg, grid), side('B', { dataset: 'synthetic' }, grid), 5)),
    /B records no seed/,
  );
  assert.equal(reason(gridsMatch(side('A', cfg, grid), side('B', cfg, null), 5)), 'B has no grid at epoch 5');
  assert.match(
    reason(gridsMatch(side('A', cfg, fp), side('B', cfg, { ...fp, rows: 4 }), 5)),
    /different layouts: 3×6 of 32 px vs 4×6 of 32 px/,
  );
});
