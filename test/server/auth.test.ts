// Specification of tokens on a real server process, over HTTP and both sockets: a refused write stores nothing, the
// ingest socket takes the token as a header or a query parameter, the read token opens reads, the live socket and the
// dashboard. (security-auth.test.ts checks every route of the app, in-process, with near-miss tokens.)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { handshakeStatus } from '../support/ws.js';

describe('with a write token', () => {
  let server: RunningServer;
  before(async () => (server = await startServer({ token: 'sekrit' })));
  after(async () => server.stop());

  test('a write without the token is 401 and creates nothing', async () => {
    const res = await api(server, 'POST', '/api/v1/runs', { name: 'nope' });
    assert.equal(res.status, 401);
    assert.equal(res.body.code, 'GW_ERR_UNAUTHORIZED');
    assert.deepEqual((await api(server, 'GET', '/api/v1/runs')).body.runs, []);
  });

  test('a write with the token succeeds, and reads stay open', async () => {
    const res = await api(server, 'POST', '/api/v1/runs', { name: 'yes' }, 'sekrit');
    assert.equal(res.status, 201);
    assert.equal((await api(server, 'GET', `/api/v1/runs/${res.body.id}`)).status, 200);
  });

  test('the ingest socket refuses a missing or wrong token and accepts the header or query token', async () => {
    const id = (await api(server, 'POST', '/api/v1/runs', { name: 'ws' }, 'sekrit')).body.id;
    const url = `${server.url.replace('http', 'ws')}/api/v1/ingest?run=${id}`;
    assert.equal(await handshakeStatus(url), 401);
    assert.equal(await handshakeStatus(url, { authorization: 'Bearer nope' }), 401);
    assert.equal(await handshakeStatus(url, { authorization: 'Bearer sekrit' }), 101);
    assert.equal(await handshakeStatus(`${url}&token=sekrit`), 101);
  });
});

describe('with a read token', () => {
  let server: RunningServer;
  before(async () => (server = await startServer({ token: 'w', readToken: 'r' })));
  after(async () => server.stop());

  test('reads, the live socket and the dashboard need the read (or write) token', async () => {
    assert.equal((await api(server, 'GET', '/api/v1/runs')).status, 401);
    assert.equal((await api(server, 'GET', '/api/v1/runs', undefined, 'r')).status, 200);
    assert.equal((await api(server, 'GET', '/api/v1/runs', undefined, 'w')).status, 200);
    assert.equal((await fetch(server.url + '/')).status, 401);
    assert.equal((await fetch(server.url + '/?token=r')).status, 200);
    const live = `${server.url.replace('http', 'ws')}/api/v1/live`;
    assert.equal(await handshakeStatus(live), 401);
    assert.equal(await handshakeStatus(`${live}?token=r`), 101);
  });
});
