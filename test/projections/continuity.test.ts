// Specification of how projections carry on from one epoch to the next without carrying a degenerate state forward:
// through a collapse of the codes (a real server, epochs posted as a trainer posts them), and on a demo run's own
// codes, where the codes regroup between two epochs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { projectCodes, type PreviousProjection } from '../../server/projections/compute.js';
import { layoutSpread } from '../../server/projections/continuity.js';
import { knnAccuracy } from '../../server/projections/quality.js';
import { gaussian, seededRandom } from '../../server/projections/random.js';
import { clusters } from '../../harness/clusters.js';
import { api, startServer, type RunningServer } from '../../harness/server.js';

const N = 256;
const DIM = 8;
const EPOCHS = [1, 2, 3, 4, 5];
const COLLAPSED = 3;

/**
 * Four classes in 8-d whose 5-NN class accuracy is 0.97–0.98, moving a little each epoch; at epoch 3 the codes all
 * but coincide (a thousandth of unit noise around one point) and the classes are mixed.
 */
function sequence(): Map<number, { codes: number[][]; labels: number[] }> {
  const base = clusters(N, DIM, 4, 2, 21);
  const r = seededRandom(22);
  const labels = Array.from(base.labels);
  const out = new Map<number, { codes: number[][]; labels: number[] }>();
  for (const epoch of EPOCHS) {
    const codes = Array.from({ length: N }, (_, i) =>
      Array.from({ length: DIM }, (_, t) =>
        epoch === COLLAPSED ? 1e-3 * gaussian(r) : base.codes[i * DIM + t]! + 0.1 * gaussian(r),
      ),
    );
    out.set(epoch, { codes, labels });
  }
  return out;
}

interface Served {
  points: Array<[number, number]>;
  labels: number[];
  aligned: string | null;
  params: Record<string, any>;
}

let server: RunningServer;
let run: string;
const served = new Map<string, Served>();

/** Polls a projection until it is no longer pending. */
async function ready(epoch: number, method: string): Promise<Served> {
  for (const t0 = Date.now(); ;) {
    const res = await api(server, 'GET', `/api/v1/runs/${run}/projections?epoch=${epoch}&method=${method}`);
    if (res.status === 200) return res.body as Served;
    assert.equal(res.status, 202, JSON.stringify(res.body));
    if (Date.now() - t0 > 120_000) throw new Error(`${method} of epoch ${epoch} still pending after 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  server = await startServer();
  run = (await api(server, 'POST', '/api/v1/runs', { name: 'collapse' })).body.id;
  for (const [epoch, set] of sequence()) {
    const res = await api(server, 'POST', `/api/v1/runs/${run}/latents`, { epoch, dim: DIM, ...set });
    assert.equal(res.status, 201);
  }
  for (const epoch of EPOCHS) {
    served.set(`tsne:${epoch}`, await ready(epoch, 'tsne'));
    served.set(`pca:${epoch}`, await ready(epoch, 'pca'));
  }
  // UMAP is computed on request: ask for the epochs in order, as a user moving the slider would.
  for (const epoch of EPOCHS) served.set(`umap:${epoch}`, await ready(epoch, 'umap'));
});
after(async () => server?.stop());

const get = (method: string, epoch: number): Served => served.get(`${method}:${epoch}`)!;

/** Root-mean-square distance of the points from their centroid. */
function spread(points: Array<[number, number]>): number {
  const mx = points.reduce((s, p) => s + p[0], 0) / points.length;
  const my = points.reduce((s, p) => s + p[1], 0) / points.length;
  return Math.sqrt(points.reduce((s, p) => s + (p[0] - mx) ** 2 + (p[1] - my) ** 2, 0) / points.length);
}

const accuracy = (p: Served): number => knnAccuracy(Float64Array.from(p.points.flat()), Int32Array.from(p.labels), 5);

for (const method of ['tsne', 'pca', 'umap']) {
  test(`${method}: the epoch after a collapse is readable again (spread within ×5 of the first epoch's, 5-NN accuracy ≥ 0.9)`, () => {
    const first = spread(get(method, 1).points);
    for (const epoch of [COLLAPSED + 1, COLLAPSED + 2]) {
      const p = get(method, epoch);
      const ratio = spread(p.points) / first;
      assert.ok(ratio > 1 / 5 && ratio < 5, `epoch ${epoch}: spread ${ratio.toFixed(4)} × epoch 1's`);
      assert.ok(accuracy(p) >= 0.9, `epoch ${epoch}: 5-NN accuracy ${accuracy(p)}`);
    }
  });
}

test('the collapsed epoch is drawn as what it is: the classes mixed (5-NN accuracy near chance), and flagged', () => {
  for (const method of ['tsne', 'pca', 'umap']) {
    const p = get(method, COLLAPSED);
    assert.ok(accuracy(p) < 0.4, `${method}: 5-NN accuracy ${accuracy(p)} (chance 0.25)`);
    const c = p.params.continuity;
    assert.equal(c.collapsed, true, method);
    assert.equal(c.reference, COLLAPSED - 1);
    assert.ok(c.spread_ratio < 0.01, `${method}: spread ratio ${c.spread_ratio}`);
    assert.equal(c.start, 'fresh');
    assert.match(c.reason, /the codes collapsed: their spread is [\d.]+% of epoch 2's/);
  }
  assert.equal(get('tsne', COLLAPSED).params.exaggeration_iterations, 250, 't-SNE ran its early exaggeration');
});

test('the epoch after a collapse builds on the epoch before it, never on the collapsed one', () => {
  for (const method of ['tsne', 'pca', 'umap']) {
    const p = get(method, COLLAPSED + 1);
    assert.equal(p.params.continuity.reference, COLLAPSED - 1, method);
    assert.equal(p.params.aligned_to, COLLAPSED - 1, method);
    assert.equal(p.params.continuity.collapsed, false, method);
  }
  const tsne = get('tsne', COLLAPSED + 1);
  assert.equal(tsne.params.init, `epoch ${COLLAPSED - 1}`);
  assert.equal(tsne.aligned, 'init+procrustes');
  // So the picture is where it was before the collapse (the collapsed epoch's arbitrary orientation is not inherited).
  for (const method of ['tsne', 'pca']) {
    const [was, now] = [get(method, COLLAPSED - 1).points, get(method, COLLAPSED + 1).points];
    const rms = Math.sqrt(was.reduce((s, p, i) => s + (p[0] - now[i]![0]) ** 2 + (p[1] - now[i]![1]) ** 2, 0) / N);
    assert.ok(rms < 0.25 * spread(was), `${method}: moved ${rms} against a spread of ${spread(was)}`);
  }
});

test('the KL divergence reported for every t-SNE of the sequence is ≥ 0, and says which layout it measures', () => {
  for (const epoch of EPOCHS) {
    const { params } = get('tsne', epoch);
    assert.ok(params.kl >= 0, `epoch ${epoch}: kl ${params.kl}`);
    if (params.continuity.start === 'continued') assert.equal(params.kl, params.continuity.kl_continued);
  }
});

// ---------- a demo run's codes ----------

interface DemoEpoch {
  epoch: number;
  codes: number[][];
  labels: number[];
}
const demo = (
  JSON.parse(readFileSync(new URL('../fixtures/demo-latents.json', import.meta.url), 'utf8')) as {
    epochs: DemoEpoch[];
  }
).epochs;
const demoInput = (e: DemoEpoch) => ({
  codes: Float32Array.from(e.codes.flat()),
  dim: 8,
  labels: Int32Array.from(e.labels),
});

test('on a demo run’s codes, the layout continued across the epoch where the codes regrouped is replaced by a fresh one', () => {
  const [e2, e3] = [demo[1]!, demo[2]!];
  const before = projectCodes({ method: 'tsne', ...demoInput(e2) });
  const previous = {
    epoch: 2,
    sourceCount: e2.labels.length,
    xy: before.xy,
    indices: null,
    labels: Int32Array.from(e2.labels),
    params: before.params,
  };
  const after = projectCodes({ method: 'tsne', ...demoInput(e3), previous });
  const c = after.params.continuity as Record<string, number | string>;
  assert.equal(c.start, 'fresh');
  assert.ok((c.kl_continued as number) > 3 * (c.kl_fresh as number), JSON.stringify(c));
  assert.equal(after.params.kl, c.kl_fresh);
  assert.match(c.reason as string, /a fresh start fits better/);
  // Two clumps of two classes each: the picture shows them mixed, as the codes are (their own 5-NN accuracy ≈ 0.5).
  assert.ok(knnAccuracy(after.xy, Int32Array.from(e3.labels), 5) < 0.7);
});

test('on a demo run’s codes, epoch after epoch of continuing never lets the layout drift past ×2 a fresh start’s size', () => {
  const reasons: string[] = [];
  let previous: PreviousProjection | null = null;
  for (const e of demo) {
    const input = demoInput(e);
    const chained = projectCodes({ method: 'tsne', ...input, previous });
    const fresh = projectCodes({ method: 'tsne', ...input });
    const size = layoutSpread(chained.xy) / layoutSpread(fresh.xy);
    assert.ok(size >= 0.5 && size <= 2, `epoch ${e.epoch}: ${size.toFixed(2)} × a fresh layout's spread`);
    reasons.push((chained.params.continuity as { reason: string }).reason);
    previous = {
      epoch: e.epoch,
      sourceCount: 64,
      xy: chained.xy,
      indices: null,
      labels: input.labels,
      params: chained.params,
    };
  }
  // The codes' clumps drift apart when continued: some epochs were laid out afresh for it.
  assert.ok(
    reasons.some((r) => /drifted to [\d.]+ × a fresh start's spread/.test(r)),
    reasons.join('\n'),
  );
});

test('on a demo run’s codes the reported KL is ≥ 0 at every epoch (the Barnes-Hut estimate went negative)', () => {
  for (const e of demo) {
    const kl = projectCodes({ method: 'tsne', ...demoInput(e) }).params.kl as number;
    assert.ok(kl >= 0, `epoch ${e.epoch}: kl ${kl}`);
  }
});
