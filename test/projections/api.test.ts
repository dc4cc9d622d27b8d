// Specification of projections over the API, against a real server: a latent set's class separation becomes points
// of the run, its t-SNE and PCA are computed in the background (pending, then ready, announced on the live
// socket), UMAP on first request, unlabelled sets get projections without separation, and bad queries get errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gaussian, seededRandom } from '../../server/projections/random.js';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { FrameClient } from '../support/ws.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => server.stop());

const newRun = async (): Promise<string> => (await api(server, 'POST', '/api/v1/runs', { name: 'latents' })).body.id;

function codesOf(n: number, dim: number, C: number, seed: number): { codes: number[][]; labels: number[] } {
  const r = seededRandom(seed);
  const centres = Array.from({ length: C }, () => Array.from({ length: dim }, () => 4 * gaussian(r)));
  const codes = Array.from({ length: n }, (_, i) => centres[i % C]!.map((c) => c + gaussian(r)));
  return { codes, labels: codes.map((_, i) => i % C) };
}

/** Polls a projection until it is no longer pending; returns every status seen, and the last answer. */
async function settle(id: string, query: string, timeoutMs = 30_000): Promise<{ statuses: number[]; body: any }> {
  const statuses: number[] = [];
  const t0 = Date.now();
  for (;;) {
    const res = await api(server, 'GET', `/api/v1/runs/${id}/projections?${query}`);
    statuses.push(res.status);
    if (res.status !== 202) return { statuses, body: res.body };
    if (Date.now() - t0 > timeoutMs) throw new Error(`still pending after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a labelled latent set gets val/latent_silhouette and val/latent_fisher at its step', async () => {
  const id = await newRun();
  const { codes, labels } = codesOf(200, 8, 4, 1);
  assert.equal(
    (await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 5, step: 1200, dim: 8, codes, labels })).status,
    201,
  );
  await settle(id, 'epoch=5&method=tsne');
  const metrics = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics as Array<{
    name: string;
    last_step: number;
    last_value: number;
  }>;
  const sil = metrics.find((m) => m.name === 'val/latent_silhouette');
  const fisher = metrics.find((m) => m.name === 'val/latent_fisher');
  assert.ok(sil && fisher, JSON.stringify(metrics));
  assert.equal(sil.last_step, 1200);
  assert.ok(sil.last_value > 0.5 && sil.last_value <= 1, `silhouette ${sil.last_value}`);
  assert.ok(fisher.last_value > 1, `fisher ${fisher.last_value}`);
  const list = (await api(server, 'GET', `/api/v1/runs/${id}/projections`)).body;
  assert.deepEqual(list.epochs[0].separation, {
    status: 'ready',
    silhouette: sil.last_value,
    fisher: fisher.last_value,
    step: 1200,
  });
});

test('t-SNE goes from pending (202) to ready (200), is served with labels, and is announced on the live socket', async () => {
  const id = await newRun();
  const live = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/live`);
  live.send({ type: 'subscribe', runs: [id] });
  await live.next((f) => f.type === 'subscribed');
  const { codes, labels } = codesOf(1500, 8, 5, 2);
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 10, step: 50, dim: 8, codes, labels });
  const { statuses, body } = await settle(id, 'epoch=10&method=tsne');
  assert.equal(statuses[0], 202, 'the first answer comes before the t-SNE is done');
  assert.equal(statuses.at(-1), 200);
  assert.equal(body.status, 'ready');
  assert.equal(body.points.length, 1500);
  assert.deepEqual(body.labels, labels);
  assert.equal(body.subsampled, null);
  assert.equal(body.params.perplexity, 30);
  assert.ok(body.ms > 0);
  const frame = await live.next((f) => f.type === 'projection' && f.method === 'tsne');
  assert.deepEqual(frame, { type: 'projection', run: id, epoch: 10, method: 'tsne' });
  await live.next((f) => f.type === 'projection' && f.method === 'pca');
  await live.close();
});

test('the next epoch’s t-SNE starts from the previous one and is aligned with it', async () => {
  const id = await newRun();
  const { codes, labels } = codesOf(300, 8, 3, 3);
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 5, dim: 8, codes, labels });
  const first = (await settle(id, 'epoch=5&method=tsne')).body;
  assert.equal(first.aligned, null);
  const moved = codes.map((c) => c.map((v) => v * 1.05 + 0.1));
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 10, dim: 8, codes: moved, labels });
  const second = (await settle(id, 'epoch=10&method=tsne')).body;
  assert.equal(second.aligned, 'init+procrustes');
  assert.equal(second.params.aligned_to, 5);
  const pca = (await settle(id, 'epoch=10&method=pca')).body;
  assert.equal(pca.aligned, 'sign');
});

test('UMAP is computed on first request', async () => {
  const id = await newRun();
  const { codes, labels } = codesOf(150, 8, 3, 4);
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 0, dim: 8, codes, labels });
  await settle(id, 'epoch=0&method=pca');
  const before = (await api(server, 'GET', `/api/v1/runs/${id}/projections`)).body;
  assert.deepEqual(before.projections.map((p: { method: string }) => p.method).sort(), ['pca', 'tsne']);
  assert.deepEqual(before.eager, ['tsne', 'pca']);
  const { statuses, body } = await settle(id, 'epoch=0&method=umap');
  assert.equal(statuses[0], 202);
  assert.equal(body.status, 'ready');
  assert.equal(body.points.length, 150);
  assert.equal(body.params.neighbours, 15);
});

test('a set without labels gets projections but no separation, and says why', async () => {
  const id = await newRun();
  const { codes } = codesOf(120, 4, 2, 5);
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 3, dim: 4, codes });
  const { body } = await settle(id, 'epoch=3&method=tsne');
  assert.equal(body.status, 'ready');
  assert.equal(body.labels, null);
  assert.equal(body.separation.status, 'skipped');
  assert.match(body.separation.reason, /no class labels/);
  const metrics = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics as Array<{ name: string }>;
  assert.equal(metrics.filter((m) => m.name.startsWith('val/latent_')).length, 0);
});

test('a set whose codes all have one class gets no separation, and says why', async () => {
  const id = await newRun();
  const { codes } = codesOf(60, 4, 2, 6);
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 1, dim: 4, codes, labels: codes.map(() => 2) });
  const { body } = await settle(id, 'epoch=1&method=pca');
  for (let i = 0; body.separation.status === 'pending' && i < 100; i++) {
    await new Promise((r) => setTimeout(r, 50));
    body.separation = (await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=1&method=pca`)).body.separation;
  }
  assert.equal(body.separation.status, 'skipped');
  assert.match(body.separation.reason, /same class label/);
});

test('without an epoch the newest epoch with codes is served; without a method, t-SNE', async () => {
  const id = await newRun();
  const { codes, labels } = codesOf(80, 4, 2, 7);
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 2, dim: 4, codes, labels });
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 7, dim: 4, codes, labels });
  const { body } = await settle(id, 'method=pca');
  assert.equal(body.epoch, 7);
  assert.equal((await settle(id, 'epoch=2')).body.method, 'tsne');
});

test('bad queries get 4xx answers with GW_ERR_ codes', async () => {
  const id = await newRun();
  const none = await api(server, 'GET', `/api/v1/runs/${id}/projections?method=tsne`);
  assert.equal(none.status, 404);
  assert.equal(none.body.code, 'GW_ERR_NO_LATENTS');
  const { codes } = codesOf(40, 4, 2, 8);
  await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 5, dim: 4, codes });
  const unknown = await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=5&method=isomap`);
  assert.equal(unknown.status, 400);
  assert.equal(unknown.body.code, 'GW_ERR_PROJECTION_METHOD');
  assert.match(unknown.body.message, /tsne, pca, umap/);
  const missing = await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=6&method=pca`);
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'GW_ERR_LATENTS_NOT_FOUND');
  const badEpoch = await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=-1`);
  assert.equal(badEpoch.status, 400);
  assert.equal(badEpoch.body.code, 'GW_ERR_VALIDATION');
  const noRun = await api(server, 'GET', '/api/v1/runs/nosuchrun/projections');
  assert.equal(noRun.status, 404);
  assert.equal(noRun.body.code, 'GW_ERR_RUN_NOT_FOUND');
});
