// Specification of the server's protections beyond tokens: security headers with a content security policy, no CORS
// unless origins are configured, rate limits on writes (HTTP per client, ingest frames per socket), and no serving of
// other machines without a token unless --insecure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isLoopbackHost } from '../../server/security.js';
import { ROOT, api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { FrameClient } from '../support/ws.js';

describe('headers', () => {
  let server: RunningServer;
  before(async () => (server = await startServer()));
  after(async () => server.stop());

  test('the dashboard page carries a content security policy that allows only its own origin and its own sockets', async () => {
    const res = await fetch(server.url + '/');
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    const directives = new Map(
      csp
        .split(';')
        .map((d) => d.trim().split(/\s+/))
        .map(([k, ...v]) => [k!, v]),
    );
    assert.deepEqual(directives.get('default-src'), ["'self'"]);
    assert.ok(
      directives.get('script-src')!.every((s) => s === "'self'" || s.startsWith("'sha256-")),
      `script-src ${directives.get('script-src')}`,
    );
    assert.ok(
      !csp.includes("'unsafe-eval'") && !/script-src[^;]*'unsafe-inline'/.test(csp),
      'no unsafe script sources',
    );
    const host = new URL(server.url).host;
    assert.deepEqual(directives.get('connect-src'), ["'self'", `ws://${host}`, `wss://${host}`]);
    assert.deepEqual(directives.get('img-src'), ["'self'", 'data:', 'blob:']);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.ok(!directives.has('upgrade-insecure-requests'), 'plain http on a LAN address keeps working');
  });

  test('responses say nosniff, no referrer, same-origin resources, and leave HSTS to the TLS proxy', async () => {
    for (const path of ['/', '/api/v1/runs', '/api/v1/nope']) {
      const res = await fetch(server.url + path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin', path);
      assert.equal(res.headers.get('strict-transport-security'), null, path);
      assert.equal(res.headers.get('x-powered-by'), null, path);
    }
  });

  test('without --cors no response allows another origin, and a preflight is not answered', async () => {
    const origin = 'https://evil.example';
    const get = await fetch(server.url + '/api/v1/runs', { headers: { origin } });
    assert.equal(get.headers.get('access-control-allow-origin'), null);
    const pre = await fetch(server.url + '/api/v1/runs', {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    assert.ok(pre.status >= 400 && pre.status < 500, `preflight answered ${pre.status}`);
  });
});

describe('with --cors and a token', () => {
  let server: RunningServer;
  const lab = 'https://lab.example.org';
  before(
    async () =>
      (server = await startServer({ token: 'w', extraArgs: ['--cors', lab, '--cors', 'http://127.0.0.1:5173'] })),
  );
  after(async () => server.stop());

  test('a configured origin gets its preflight answered before any token check, with authorization allowed', async () => {
    for (const origin of [lab, 'http://127.0.0.1:5173']) {
      const pre = await fetch(server.url + '/api/v1/runs', {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });
      assert.equal(pre.status, 204, origin);
      assert.equal(pre.headers.get('access-control-allow-origin'), origin);
      assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
      assert.match(pre.headers.get('access-control-allow-methods') ?? '', /POST/);
    }
    const get = await fetch(server.url + '/api/v1/runs', { headers: { origin: lab } });
    assert.equal(get.headers.get('access-control-allow-origin'), lab);
  });

  test('another origin gets nothing, and the token is still required', async () => {
    const pre = await fetch(server.url + '/api/v1/runs', {
      method: 'OPTIONS',
      headers: { origin: 'https://lab.example.org.evil.example', 'access-control-request-method': 'POST' },
    });
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    const write = await fetch(server.url + '/api/v1/runs', {
      method: 'POST',
      headers: { origin: lab, 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    assert.equal(write.status, 401);
  });

  test('a --cors value that is not an origin is refused with exit code 2', () => {
    const out = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'server/main.ts'),
        '--cors',
        'https://lab.example.org/path',
        '--db',
        join(tempDir(), 'x.db'),
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    assert.equal(out.status, 2);
    assert.match(out.stderr, /--cors/);
  });
});

describe('rate limits', () => {
  let server: RunningServer;
  before(async () => (server = await startServer({ extraArgs: ['--rate-limit', '5'] })));
  after(async () => server.stop());

  test('writes beyond the limit per minute get 429 GW_ERR_RATE_LIMITED with Retry-After, and reads are not limited', async () => {
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof api<{ code: string; message: string }>>> | null = null;
    for (let i = 0; i < 7; i++) {
      const res = await api<{ code: string; message: string }>(server, 'POST', '/api/v1/runs', { name: `r${i}` });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
    }
    assert.deepEqual(statuses, [201, 201, 201, 201, 201, 429, 429]);
    assert.equal(limited!.body.code, 'GW_ERR_RATE_LIMITED');
    assert.match(limited!.body.message, /Too many requests/);
    assert.ok(Number(limited!.headers.get('retry-after')) > 0);
    for (let i = 0; i < 30; i++) assert.equal((await api(server, 'GET', '/api/v1/runs')).status, 200);
    assert.equal((await api(server, 'GET', '/api/v1/runs')).body.runs.length, 5);
  });

  test('ingest frames beyond the limit get an error frame with their seq (the client resends them) and are not stored', async () => {
    const other = await startServer({ extraArgs: ['--rate-limit', '5'] });
    try {
      const run = (await api(other, 'POST', '/api/v1/runs', { name: 'ws' })).body.id;
      const ws = await FrameClient.connect(`${other.url.replace('http', 'ws')}/api/v1/ingest?run=${run}`);
      for (let seq = 0; seq < 8; seq++) ws.send({ type: 'points', seq, points: [{ step: seq, values: { a: seq } }] });
      for (let seq = 0; seq < 8; seq++) await ws.next((f) => f.seq === seq);
      const bySeq = new Map(ws.frames.map((f) => [f.seq, f]));
      for (let seq = 0; seq < 5; seq++) assert.equal(bySeq.get(seq).type, 'ack', `frame ${seq}`);
      for (let seq = 5; seq < 8; seq++) {
        assert.equal(bySeq.get(seq).type, 'error', `frame ${seq}`);
        assert.equal(bySeq.get(seq).code, 'GW_ERR_RATE_LIMITED');
      }
      await ws.close();
      const metrics = (await api(other, 'GET', `/api/v1/runs/${run}/metrics`)).body.metrics;
      assert.equal(metrics[0].count, 5);
    } finally {
      await other.stop();
    }
  });
});

describe('binding', () => {
  const serve = (args: string[]) =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'server/main.ts'), '--db', join(tempDir(), 'b.db'), '--port', '0', ...args],
      {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, GANWATCH_TOKEN: '', GANWATCH_INSECURE: '', GANWATCH_HOST: '' },
        timeout: 20_000,
      },
    );

  test('a non-loopback address without a token is refused in one line with exit code 2', () => {
    for (const host of ['0.0.0.0', '::']) {
      const out = serve(['--host', host]);
      assert.equal(out.status, 2, host);
      assert.match(out.stderr, /GW_ERR_INSECURE_BIND: --host .* is reachable from other machines.*--token.*--insecure/);
      assert.equal(out.stderr.trim().split('\n').length, 1, 'one line');
    }
  });

  test('a non-loopback address is served with a token, or with --insecure', async () => {
    for (const extra of [['--token', 't'], ['--insecure']]) {
      const server = await startServer({ extraArgs: ['--host', '0.0.0.0', ...extra] });
      const local = server.url.replace('0.0.0.0', '127.0.0.1');
      assert.equal((await fetch(`${local}/api/v1/health`)).status, 200);
      await server.stop();
    }
  });

  test('loopback addresses need no token', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'])
      assert.ok(isLoopbackHost(host), host);
    for (const host of [
      '0.0.0.0',
      '::',
      '10.0.0.1',
      '192.168.1.5',
      'example.org',
      '128.0.0.1',
      'localhost.example.org',
    ]) {
      assert.ok(!isLoopbackHost(host), host);
    }
  });
});
