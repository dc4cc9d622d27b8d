// Specification of projections at the size limits, against a real server: an epoch with more codes than t-SNE's
// working limit is projected on a stated, class-stratified subsample; the server answers other requests while a
// large projection is computed; and pending work survives a restart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { gaussian, seededRandom } from '../../server/projections/random.js';
import { api, startServer, type RunningServer } from '../../harness/server.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(async () => server.stop());

const TSNE_LIMIT = 10_000;

test('an epoch above the t-SNE working limit is projected on a stratified subsample, says so, and survives a restart', async () => {
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'big' })).body.id;
  const n = TSNE_LIMIT + 500;
  const r = seededRandom(1);
  // Three classes in unequal shares: 70%, 20%, 10%.
  const labels = Array.from({ length: n }, (_, i) => (i % 10 < 7 ? 0 : i % 10 < 9 ? 1 : 2));
  const codes = labels.map((l) => [4 * l + gaussian(r), gaussian(r)].map((v) => Math.round(v * 1000) / 1000));
  assert.equal(
    (await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 20, step: 9000, dim: 2, codes, labels })).status,
    201,
  );

  const pending = await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=20&method=tsne`);
  assert.equal(pending.status, 202);
  assert.deepEqual(pending.body.subsampled, { from: n, to: TSNE_LIMIT, stratified: true });
  assert.equal(pending.body.points, null);

  // The event loop is free while the worker computes: health is answered while the projection is still pending (were
  // t-SNE on the event loop, the answer would come only after it had finished).
  assert.equal((await api(server, 'GET', '/api/v1/health')).status, 200);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=20&method=tsne`)).status, 202);

  // Stop in the middle; the pending projection is picked up again at start-up.
  await server.stop();
  await server.restart();
  let res = await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=20&method=tsne`);
  // Polled until the worker is done, however long a loaded machine takes (the test runner's timeout is the guard).
  while (res.status === 202) {
    await new Promise((done) => setTimeout(done, 200));
    res = await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=20&method=tsne`);
  }
  const body = res.body;
  assert.equal(body.status, 'ready');
  assert.deepEqual(body.subsampled, { from: n, to: TSNE_LIMIT, stratified: true });
  assert.equal(body.points.length, TSNE_LIMIT);
  assert.equal(body.indices.length, TSNE_LIMIT);
  assert.deepEqual(
    body.labels,
    body.indices.map((i: number) => labels[i]),
  );
  const share = (c: number): number => body.labels.filter((l: number) => l === c).length / TSNE_LIMIT;
  assert.deepEqual(
    [share(0), share(1), share(2)].map((s) => Math.round(s * 100) / 100),
    [0.7, 0.2, 0.1],
  );

  // PCA's limit is the largest set accepted: it projects every code.
  const pca = (await api(server, 'GET', `/api/v1/runs/${id}/projections?epoch=20&method=pca`)).body;
  assert.equal(pca.subsampled, null);
  assert.equal(pca.count, n);
  const list = (await api(server, 'GET', `/api/v1/runs/${id}/projections`)).body;
  assert.deepEqual(list.limits, { tsne: TSNE_LIMIT, pca: 20_000, umap: 5_000 });
});
