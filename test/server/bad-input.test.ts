// Specification of bad input: every malformed request is answered 4xx with a code and a message, and nothing stored changes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';

let server: RunningServer;
let run: string;

before(async () => {
  server = await startServer();
  run = (await api(server, 'POST', '/api/v1/runs', { name: 'baseline', tags: ['t'] })).body.id;
  await api(server, 'POST', `/api/v1/runs/${run}/points`, { points: [{ step: 0, values: { loss: 1 } }] });
});
after(async () => server.stop());

/** A fingerprint of everything the API can read back: runs, metrics, every point, media, latents, controls. */
async function snapshot(): Promise<string> {
  const hash = createHash('sha256');
  const runs = (await api(server, 'GET', '/api/v1/runs')).body.runs;
  hash.update(JSON.stringify(runs.map((r: any) => ({ ...r, updated_at: 0, last_seen_at: 0 }))));
  for (const r of runs) {
    for (const path of ['metrics', 'media', 'latents', 'controls', 'export?format=csv']) {
      hash.update(await (await fetch(`${server.url}/api/v1/runs/${r.id}/${path}`)).text());
    }
  }
  return hash.digest('hex');
}

type Case = [name: string, method: string, path: string, body?: string | Buffer, contentType?: string];
const json = 'application/json';
const pts = (p: unknown): string => JSON.stringify({ points: p });

const cases = (): Case[] => [
  ['run without name', 'POST', '/api/v1/runs', '{}', json],
  ['run with empty name', 'POST', '/api/v1/runs', '{"name":""}', json],
  ['run name not a string', 'POST', '/api/v1/runs', '{"name":42}', json],
  ['run with unknown field', 'POST', '/api/v1/runs', '{"name":"x","color":"red"}', json],
  ['run tags not an array', 'POST', '/api/v1/runs', '{"name":"x","tags":"a"}', json],
  ['run duplicate tags', 'POST', '/api/v1/runs', '{"name":"x","tags":["a","a"]}', json],
  ['run config an array', 'POST', '/api/v1/runs', '{"name":"x","config":[1]}', json],
  ['run name too long', 'POST', '/api/v1/runs', JSON.stringify({ name: 'x'.repeat(500) }), json],
  ['body not JSON', 'POST', '/api/v1/runs', '{"name":', json],
  ['empty JSON body', 'POST', '/api/v1/runs', '', json],
  ['text body', 'POST', '/api/v1/runs', 'name=x', 'text/plain'],
  ['proto pollution', 'POST', '/api/v1/runs', '{"name":"x","__proto__":{"admin":true}}', json],
  ['patch with bad status', 'PATCH', `/api/v1/runs/RUN`, '{"status":"exploded"}', json],
  ['patch with nothing', 'PATCH', `/api/v1/runs/RUN`, '{}', json],
  ['patch unknown run', 'PATCH', '/api/v1/runs/nosuchrun', '{"name":"y"}', json],
  ['run id with path characters', 'GET', '/api/v1/runs/..%2F..%2Fetc%2Fpasswd'],
  ['run id SQL-like', 'GET', "/api/v1/runs/1'%20OR%20'1'='1"],
  ['points not an array', 'POST', '/api/v1/runs/RUN/points', '{"points":{}}', json],
  ['points empty', 'POST', '/api/v1/runs/RUN/points', pts([]), json],
  ['negative step', 'POST', '/api/v1/runs/RUN/points', pts([{ step: -1, values: { a: 1 } }]), json],
  ['fractional step', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1.5, values: { a: 1 } }]), json],
  ['huge step', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1e300, values: { a: 1 } }]), json],
  ['step as string', 'POST', '/api/v1/runs/RUN/points', pts([{ step: '3', values: { a: 1 } }]), json],
  ['missing values', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1 }]), json],
  ['empty values', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1, values: {} }]), json],
  ['value as text', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1, values: { a: 'high' } }]), json],
  ['value null', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1, values: { a: null } }]), json],
  ['value nested', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1, values: { a: { b: 1 } } }]), json],
  ['metric name with space', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1, values: { 'a b': 1 } }]), json],
  [
    'metric name SQL-like',
    'POST',
    '/api/v1/runs/RUN/points',
    pts([{ step: 1, values: { "x'; DROP TABLE points;--": 1 } }]),
    json,
  ],
  [
    'metric name too long',
    'POST',
    '/api/v1/runs/RUN/points',
    pts([{ step: 1, values: { ['m'.repeat(129)]: 1 } }]),
    json,
  ],
  ['wall negative', 'POST', '/api/v1/runs/RUN/points', pts([{ step: 1, wall: -5, values: { a: 1 } }]), json],
  [
    'one good point, one bad',
    'POST',
    '/api/v1/runs/RUN/points',
    pts([
      { step: 1, values: { a: 1 } },
      { step: 2, values: { a: 'x' } },
    ]),
    json,
  ],
  ['deep nesting', 'POST', '/api/v1/runs/RUN/points', '{"points":' + '['.repeat(5000) + ']'.repeat(5000) + '}', json],
  ['points for unknown run', 'POST', '/api/v1/runs/nosuchrun/points', pts([{ step: 1, values: { a: 1 } }]), json],
  ['series without metric', 'GET', '/api/v1/runs/RUN/series'],
  ['series with zero buckets', 'GET', '/api/v1/runs/RUN/series?metric=loss&buckets=0'],
  ['series with too many buckets', 'GET', '/api/v1/runs/RUN/series?metric=loss&buckets=99999999'],
  ['series with bad metric name', 'GET', '/api/v1/runs/RUN/series?metric=%00'],
  ['export with unknown format', 'GET', '/api/v1/runs/RUN/export?format=xml'],
  [
    'media without epoch',
    'POST',
    '/api/v1/runs/RUN/media?step=0',
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    'image/png',
  ],
  ['media not PNG', 'POST', '/api/v1/runs/RUN/media?epoch=0&step=0', Buffer.from('not an image at all'), 'image/png'],
  ['media wrong content type', 'POST', '/api/v1/runs/RUN/media?epoch=0&step=0', Buffer.from([1, 2, 3]), 'image/gif'],
  [
    'media bad meta',
    'POST',
    '/api/v1/runs/RUN/media?epoch=0&step=0&meta=%7Bnope',
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]),
    'image/png',
  ],
  ['media id not a number', 'GET', '/api/v1/runs/RUN/media/abc'],
  ['latents dim zero', 'POST', '/api/v1/runs/RUN/latents', '{"epoch":0,"dim":0,"codes":[[]]}', json],
  ['latents codes not numbers', 'POST', '/api/v1/runs/RUN/latents', '{"epoch":0,"dim":1,"codes":[["a"]]}', json],
  [
    'latents negative label',
    'POST',
    '/api/v1/runs/RUN/latents',
    '{"epoch":0,"dim":1,"codes":[[1]],"labels":[-1]}',
    json,
  ],
  ['control unknown action', 'POST', '/api/v1/runs/RUN/controls', '{"action":"explode","args":{}}', json],
  ['control lr zero', 'POST', '/api/v1/runs/RUN/controls', '{"action":"set_lr","args":{"net":"D","value":0}}', json],
  ['control missing args', 'POST', '/api/v1/runs/RUN/controls', '{"action":"set_clip"}', json],
  ['list with bad status', 'GET', '/api/v1/runs?status=weird'],
  ['list with unknown filter', 'GET', '/api/v1/runs?owner=me'],
  ['unknown route', 'GET', '/api/v1/nothing-here'],
  ['wrong method', 'PUT', '/api/v1/runs/RUN', '{"name":"x"}', json],
];

test('at least 30 distinct malformed requests are each answered 4xx with a code and message, and nothing stored changes', async () => {
  const before = await snapshot();
  const list = cases();
  assert.ok(list.length >= 30);
  for (const [name, method, rawPath, body, contentType] of list) {
    const headers: Record<string, string> = {};
    if (contentType) headers['content-type'] = contentType;
    const res = await fetch(server.url + rawPath.replace('RUN', run), {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : new Blob([new Uint8Array(body)]),
    });
    const text = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `${name}: status ${res.status} ${text}`);
    const parsed = JSON.parse(text);
    assert.match(parsed.code, /^GW_ERR_/, name);
    assert.ok(parsed.message.length > 10, `${name}: message "${parsed.message}"`);
    assert.doesNotMatch(text, /\n\s+at /, `${name}: leaks a stack trace`);
  }
  assert.equal(await snapshot(), before);
});

test('a validation error names the offending field', async () => {
  const res = await api(server, 'POST', `/api/v1/runs/${run}/points`, {
    points: [
      { step: 1, values: { ok: 1 } },
      { step: 2, values: { a: 'high' } },
    ],
  });
  assert.equal(res.status, 400);
  assert.match(res.body.message, /body\/points\/1\/values\/a/);
  const name = await api(server, 'POST', `/api/v1/runs/${run}/points`, {
    points: [{ step: 1, values: { 'bad name': 1 } }],
  });
  assert.match(name.body.message, /'bad name'/);
});
