// Specification of tokens over every route the server has (enumerated from the app itself, so a route added later is
// covered too): with --token every write and the ingest socket refuse a missing or wrong token; with --read-token
// every read, the live socket and the dashboard do; tokens are compared in constant time.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../db/store.js';
import { buildApp } from '../../server/app.js';
import { tokensEqual } from '../../server/auth.js';
import { openTestStore } from '../../harness/store.js';

interface Route {
  method: string;
  path: string;
}

/** Every (method, path) of the app, read from Fastify's route tree (`printRoutes({ commonPrefix: false })`). */
function routesOf(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^([│├└─\s]*)(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m || !m[2]) continue;
    const depth = Math.round(m[1]!.length / 4);
    stack.length = depth;
    stack.push(m[2]);
    const path = stack.join('');
    for (const method of (m[3] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean))
      routes.push({ method, path });
  }
  return routes;
}

/** A concrete URL for a route pattern (the token check comes before any parameter is looked at). */
const concrete = (path: string): string =>
  path.replace(':id', 'abc123').replace(':mediaId', '1').replace(':epoch', '1').replace('*', 'index.html');

const apps: Array<{ app: FastifyInstance; store: Store }> = [];

async function makeApp(token: string | null, readToken: string | null): Promise<FastifyInstance> {
  const store = await openTestStore();
  const { app } = await buildApp({ store, token, readToken, rateLimit: 0 });
  await app.ready();
  apps.push({ app, store });
  return app;
}

after(async () => {
  for (const { app, store } of apps) {
    await app.close();
    await store.close();
  }
});

/** Writes, plus the two GETs only a trainer makes: the ingest socket and the HTTP trainer's control long-poll. */
const isWrite = (r: Route): boolean =>
  !['GET', 'HEAD'].includes(r.method) || r.path.endsWith('/ingest') || r.path.endsWith('/controls/next');

describe('with --token', () => {
  let app: FastifyInstance;
  let routes: Route[];
  before(async () => {
    app = await makeApp('write-secret', null);
    routes = routesOf(app);
  });

  test('the route list covers runs, points, media, latents, controls, alerts and both sockets', () => {
    const writes = routes.filter(isWrite).map((r) => `${r.method} ${r.path}`);
    for (const expected of [
      'POST /api/v1/runs',
      'PATCH /api/v1/runs/:id',
      'DELETE /api/v1/runs/:id',
      'POST /api/v1/runs/:id/points',
      'POST /api/v1/runs/:id/distributions',
      'POST /api/v1/runs/:id/media',
      'POST /api/v1/runs/:id/latents',
      'POST /api/v1/runs/:id/controls',
      'PUT /api/v1/alerts/config',
      'POST /api/v1/alerts/:id/apply',
      'GET /api/v1/ingest',
      'GET /api/v1/runs/:id/controls/next',
      'POST /api/v1/runs/:id/controls/:cid/result',
    ]) {
      assert.ok(writes.includes(expected), `${expected} is among the write routes: ${writes.join(', ')}`);
    }
  });

  test('every write route and the ingest socket answer 401 without a token, with a wrong one, and with a near miss', async () => {
    const writes = routes.filter(isWrite);
    assert.ok(writes.length >= 12, `found ${writes.length} write routes`);
    for (const r of writes) {
      for (const auth of [
        undefined,
        'Bearer nope',
        'Bearer write-secreT',
        'Bearer write-secret-and-more',
        'Basic d3JpdGUtc2VjcmV0',
        'Bearer ',
      ]) {
        const res = await app.inject({
          method: r.method as 'POST',
          url: concrete(r.path),
          headers: auth ? { authorization: auth } : {},
          payload: r.method === 'GET' || r.method === 'DELETE' ? undefined : {},
        });
        assert.equal(res.statusCode, 401, `${r.method} ${r.path} with ${auth ?? 'no token'}`);
        if (r.method !== 'HEAD') assert.equal(res.json().code, 'GW_ERR_UNAUTHORIZED');
      }
      const q = await app.inject({ method: r.method as 'POST', url: `${concrete(r.path)}?token=wrong` });
      assert.equal(q.statusCode, 401, `${r.method} ${r.path}?token=wrong`);
    }
  });

  test('every read route stays open when no read token is set', async () => {
    for (const r of routes.filter((x) => !isWrite(x) && x.method === 'GET' && !x.path.endsWith('/live'))) {
      const res = await app.inject({ method: 'GET', url: concrete(r.path) });
      assert.notEqual(res.statusCode, 401, `GET ${r.path}`);
    }
  });
});

describe('with --read-token', () => {
  let app: FastifyInstance;
  let routes: Route[];
  before(async () => {
    app = await makeApp('write-secret', 'read-secret');
    routes = routesOf(app);
  });

  test('every read route, the live socket and the dashboard answer 401 without the read token or with a wrong one', async () => {
    const reads = routes.filter((r) => !isWrite(r));
    assert.ok(
      reads.some((r) => r.path.endsWith('/live')) && reads.some((r) => r.path === '*'),
      'live socket and dashboard files are listed',
    );
    for (const r of reads) {
      for (const headers of [{}, { authorization: 'Bearer read-secreT' }, { authorization: 'Bearer wrong' }]) {
        const res = await app.inject({ method: r.method as 'GET', url: concrete(r.path), headers });
        assert.equal(res.statusCode, 401, `${r.method} ${r.path} ${JSON.stringify(headers)}`);
      }
    }
    assert.equal((await app.inject({ method: 'GET', url: '/' })).statusCode, 401, 'the dashboard page');
  });

  test('a browser opening the dashboard without the read token gets a form asking for it, API clients the JSON error', async () => {
    const html = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
    const page = await app.inject({ method: 'GET', url: '/', headers: html });
    assert.equal(page.statusCode, 401);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /<form method="get" action="\/">[\s\S]*name="token"/);
    assert.match(page.body, /--read-token/);
    assert.doesNotMatch(page.body, /<script|style=/, 'nothing the content security policy would refuse');
    const wrong = await app.inject({ method: 'GET', url: '/?token=wrong', headers: html });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /That token was refused/);
    for (const url of ['/api/v1/runs', '/app.js']) {
      const api = await app.inject({ method: 'GET', url, headers: html });
      assert.equal(api.statusCode, 401, url);
      assert.equal(api.json().code, 'GW_ERR_UNAUTHORIZED', `${url} answers JSON even to a browser`);
    }
  });

  test('the read token and the write token both open reads; only the write token writes', async () => {
    for (const token of ['read-secret', 'write-secret']) {
      assert.equal(
        (await app.inject({ method: 'GET', url: '/api/v1/runs', headers: { authorization: `Bearer ${token}` } }))
          .statusCode,
        200,
      );
      assert.equal((await app.inject({ method: 'GET', url: `/?token=${token}` })).statusCode, 200);
    }
    const asReader = await app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: { authorization: 'Bearer read-secret' },
      payload: { name: 'x' },
    });
    assert.equal(asReader.statusCode, 401);
    const asWriter = await app.inject({
      method: 'POST',
      url: '/api/v1/runs',
      headers: { authorization: 'Bearer write-secret' },
      payload: { name: 'x' },
    });
    assert.equal(asWriter.statusCode, 201);
  });
});

test('tokens compare equal only when identical, whatever their lengths', () => {
  assert.equal(tokensEqual('abc', 'abc'), true);
  for (const other of ['', 'ab', 'abd', 'abcd', 'ABC', 'abc ', '\u0000abc'])
    assert.equal(tokensEqual(other, 'abc'), false, JSON.stringify(other));
});
