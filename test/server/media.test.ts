// Specification of media (PNG grids) and latent codes: upload, list, fetch, validation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { api, startServer, type RunningServer } from '../../harness/server.js';

let server: RunningServer;
let png: Buffer;
before(async () => {
  server = await startServer();
  png = await sharp({ create: { width: 8, height: 4, channels: 3, background: { r: 255, g: 0, b: 0 } } })
    .png()
    .toBuffer();
});
after(async () => server.stop());

const newRun = async (): Promise<string> => (await api(server, 'POST', '/api/v1/runs', { name: 'media' })).body.id;

test('a PNG is stored per epoch and kind, listed, and fetched back byte for byte', async () => {
  const id = await newRun();
  const up = await api(
    server,
    'POST',
    `/api/v1/runs/${id}/media?epoch=5&step=500&kind=samples&meta=${encodeURIComponent('{"rows":2}')}`,
    png,
  );
  assert.equal(up.status, 201);
  const list = (await api(server, 'GET', `/api/v1/runs/${id}/media`)).body.media;
  assert.equal(list.length, 1);
  assert.deepEqual(
    { epoch: list[0].epoch, step: list[0].step, kind: list[0].kind, bytes: list[0].bytes, meta: list[0].meta },
    {
      epoch: 5,
      step: 500,
      kind: 'samples',
      bytes: png.length,
      meta: { rows: 2 },
    },
  );
  const res = await fetch(server.url + list[0].url);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(png));
});

test('uploading the same epoch, step and kind again replaces the image', async () => {
  const id = await newRun();
  await api(server, 'POST', `/api/v1/runs/${id}/media?epoch=0&step=0`, png);
  const other = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#00ff00' } })
    .png()
    .toBuffer();
  await api(server, 'POST', `/api/v1/runs/${id}/media?epoch=0&step=0`, other);
  const list = (await api(server, 'GET', `/api/v1/runs/${id}/media`)).body.media;
  assert.equal(list.length, 1);
  assert.equal(list[0].bytes, other.length);
});

test('every epoch stays addressable and the list filters by epoch', async () => {
  const id = await newRun();
  for (let e = 0; e < 30; e += 5) await api(server, 'POST', `/api/v1/runs/${id}/media?epoch=${e}&step=${e * 10}`, png);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${id}/media`)).body.media.length, 6);
  assert.deepEqual(
    (await api(server, 'GET', `/api/v1/runs/${id}/media?epoch=15`)).body.media.map((m: any) => m.step),
    [150],
  );
});

test('a body that is not a PNG is refused and nothing is stored', async () => {
  const id = await newRun();
  const res = await api(server, 'POST', `/api/v1/runs/${id}/media?epoch=0&step=0`, Buffer.from('GIF89a-not-a-png'));
  assert.equal(res.status, 400);
  assert.equal(res.body.code, 'GW_ERR_NOT_PNG');
  assert.deepEqual((await api(server, 'GET', `/api/v1/runs/${id}/media`)).body.media, []);
});

test('a missing media item is a 404', async () => {
  const id = await newRun();
  const res = await api(server, 'GET', `/api/v1/runs/${id}/media/999`);
  assert.equal(res.status, 404);
  assert.equal(res.body.code, 'GW_ERR_MEDIA_NOT_FOUND');
});

test('latent codes with labels round-trip per epoch as float32', async () => {
  const id = await newRun();
  const codes = [
    [0.1, -2, 3.5],
    [1e-3, 0, -0.25],
  ];
  assert.equal(
    (await api(server, 'POST', `/api/v1/runs/${id}/latents`, { epoch: 5, step: 50, dim: 3, codes, labels: [0, 2] }))
      .status,
    201,
  );
  const got = (await api(server, 'GET', `/api/v1/runs/${id}/latents/5`)).body;
  assert.equal(got.count, 2);
  assert.deepEqual(got.labels, [0, 2]);
  got.codes.flat().forEach((v: number, i: number) => assert.equal(v, Math.fround(codes.flat()[i]!)));
  const list = (await api(server, 'GET', `/api/v1/runs/${id}/latents`)).body.epochs;
  assert.deepEqual(
    list.map((e: any) => [e.epoch, e.count, e.dim, e.labelled]),
    [[5, 2, 3, true]],
  );
});

test('latent codes whose rows do not match dim, or whose labels do not match codes, are refused', async () => {
  const id = await newRun();
  const bad = await api(server, 'POST', `/api/v1/runs/${id}/latents`, {
    epoch: 0,
    dim: 3,
    codes: [
      [1, 2, 3],
      [1, 2],
    ],
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'GW_ERR_LATENT_SHAPE');
  assert.match(bad.body.message, /codes\[1\]/);
  const badLabels = await api(server, 'POST', `/api/v1/runs/${id}/latents`, {
    epoch: 0,
    dim: 1,
    codes: [[1], [2]],
    labels: [1],
  });
  assert.equal(badLabels.status, 400);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${id}/latents`)).body.epochs.length, 0);
  assert.equal((await api(server, 'GET', `/api/v1/runs/${id}/latents/0`)).status, 404);
});
