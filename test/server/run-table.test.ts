// Specification of the runs table API (GET /api/v1/runs with q, sort, columns, limit, cursor): the filter grammar
// evaluated by the store, sorting by any column with missing values last, pages with a cursor, the metric columns from
// the run summaries, and a bad expression answered 400 with the position of the problem.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, startServer, type RunningServer } from '../../harness/server.js';

let server: RunningServer;
const id: Record<string, string> = {};

async function create(name: string, body: Record<string, unknown>, status?: string): Promise<string> {
  const res = await api(server, 'POST', '/api/v1/runs', { name, ...body });
  assert.equal(res.status, 201);
  if (status) await api(server, 'PATCH', `/api/v1/runs/${res.body.id}`, { status });
  return res.body.id as string;
}

async function push(run: string, points: Array<{ step: number; values: Record<string, number | string> }>) {
  assert.equal((await api(server, 'POST', `/api/v1/runs/${run}/points`, { points })).status, 200);
}

const list = async (query: string) => {
  const res = await api(server, 'GET', `/api/v1/runs?${query}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { runs: any[]; total: number; next_cursor: string | null };
};
const names = async (query: string): Promise<string[]> => (await list(query)).runs.map((r) => r.name);
const enc = encodeURIComponent;

before(async () => {
  server = await startServer();
  id.a = await create('facades-a', { config: { lr_d: 1e-4, gan_mode: 'lsgan', net: { ngf: 64 } }, tags: ['facades'] });
  id.b = await create('facades-b', { config: { lr_d: 2e-4, gan_mode: 'vanilla' }, tags: ['facades', 'sweep'] });
  id.c = await create('edges-c', { config: { lr_d: 5e-5 }, tags: ['edges'] }, 'finished');
  id.d = await create('no-metrics-d', { config: {} }, 'failed');
  await push(id.a, [
    { step: 0, values: { 'val/fid': 80, 'val/ssim': 0.3, 'loss/D': 1.2 } },
    { step: 100, values: { 'val/fid': 35, 'val/ssim': 0.7, 'loss/D': 0.5 } },
    { step: 200, values: { 'val/fid': 38, 'val/ssim': 0.65, 'loss/D': 0.6 } },
  ]);
  await push(id.b, [
    { step: 0, values: { 'val/fid': 90, 'val/ssim': 0.2 } },
    { step: 100, values: { 'val/fid': 45, 'val/ssim': 0.8 } },
  ]);
  await push(id.c, [{ step: 50, values: { 'val/fid': 30, 'loss/D': 'NaN' } }]);
});
after(async () => server.stop());

test('the issue example: config, metric, tag and status conditions together', async () => {
  const q = 'config.lr_d >= 1e-4 and val/fid < 40 and tag:facades and status:running';
  assert.deepEqual(await names(`q=${enc(q)}`), ['facades-a']);
});

test('or, not, parentheses, bare words (name contains) and implicit and', async () => {
  assert.deepEqual((await names(`q=${enc('edges or tag:sweep')}`)).sort(), ['edges-c', 'facades-b']);
  assert.deepEqual(await names(`q=${enc('facades not tag:sweep')}`), ['facades-a']);
  assert.deepEqual((await names(`q=${enc('(status:finished or status:failed) and not name:edges')}`)).sort(), [
    'no-metrics-d',
  ]);
  assert.deepEqual(await names(`q=${enc('name:"FACADES-B"')}`), ['facades-b'], 'name: ignores case');
  assert.deepEqual(await names(`q=${enc('config.gan_mode = lsgan')}`), ['facades-a']);
  assert.deepEqual(await names(`q=${enc('config.net.ngf = 64')}`), ['facades-a'], 'nested config keys');
  assert.deepEqual((await names(`q=${enc('config.gan_mode != lsgan')}`)).sort(), ['facades-b']);
});

test('metric aggregates: last, min, max and best (by the metric direction); a run without the metric never matches', async () => {
  assert.deepEqual(await names(`q=${enc('min(val/fid) < 36 and last(val/fid) > 36')}`), ['facades-a']);
  assert.deepEqual((await names(`q=${enc('best(val/ssim) >= 0.7')}`)).sort(), ['facades-a', 'facades-b']);
  assert.deepEqual(await names(`q=${enc('max(val/fid) > 85')}`), ['facades-b']);
  assert.deepEqual((await names(`q=${enc('not val/fid < 40')}`)).sort(), ['facades-b', 'no-metrics-d']);
  assert.deepEqual(await names(`q=${enc('loss/D > 0')}`), ['facades-a'], 'a NaN last value matches no comparison');
  assert.deepEqual((await names(`q=${enc('step >= 100 and age < 1h')}`)).sort(), ['facades-a', 'facades-b']);
});

test('columns return each metric aggregate with the step it was reached at; open alerts come with every run', async () => {
  const { runs } = await list(`columns=${enc('best(val/fid),max(val/fid),val/ssim,best(val/ssim),loss/D')}&sort=name`);
  const byName = Object.fromEntries(runs.map((r) => [r.name, r]));
  assert.deepEqual(byName['facades-a'].columns, {
    'best(val/fid)': { value: 35, step: 100 },
    'max(val/fid)': { value: 80, step: 0 },
    'last(val/ssim)': { value: 0.65, step: 200 },
    'best(val/ssim)': { value: 0.7, step: 100 },
    'last(loss/D)': { value: 0.6, step: 200 },
  });
  assert.deepEqual(byName['edges-c'].columns['last(loss/D)'], { value: 'NaN', step: 50 });
  assert.equal(byName['no-metrics-d'].columns['best(val/fid)'], null);
  assert.equal(typeof byName['facades-a'].open_alerts, 'number');
  assert.deepEqual(byName['facades-a'].config, { lr_d: 1e-4, gan_mode: 'lsgan', net: { ngf: 64 } }, 'the whole run');
});

test('sort by several keys, descending with "-", missing values last in both directions', async () => {
  assert.deepEqual(await names('sort=best(val/fid)'), ['edges-c', 'facades-a', 'facades-b', 'no-metrics-d']);
  assert.deepEqual(await names('sort=-best(val/fid)'), ['facades-b', 'facades-a', 'edges-c', 'no-metrics-d']);
  assert.deepEqual(await names('sort=-config.lr_d'), ['facades-b', 'facades-a', 'edges-c', 'no-metrics-d']);
  assert.deepEqual(await names(`sort=${enc('tags,-name')}`), ['edges-c', 'facades-a', 'facades-b', 'no-metrics-d']);
  assert.deepEqual(await names('sort=status,name'), ['facades-a', 'facades-b', 'no-metrics-d', 'edges-c']);
  assert.deepEqual(await names('sort=-age'), ['facades-a', 'facades-b', 'edges-c', 'no-metrics-d'], 'oldest first');
});

test('pages: limit and the cursor walk every matching run once, in order, and say how many there are', async () => {
  const all = await names('sort=name');
  const seen: string[] = [];
  let page = await list('sort=name&limit=3');
  assert.equal(page.total, 4);
  seen.push(...page.runs.map((r) => r.name));
  assert.ok(page.next_cursor);
  page = await list(`sort=name&limit=3&cursor=${page.next_cursor}`);
  seen.push(...page.runs.map((r) => r.name));
  assert.equal(page.next_cursor, null);
  assert.deepEqual(seen, all);
  const filtered = await list(`q=${enc('tag:facades')}&limit=1`);
  assert.equal(filtered.total, 2);
  assert.equal(filtered.runs.length, 1);
});

test('a cursor of another query is refused with a code', async () => {
  const first = await list('sort=name&limit=1');
  const res = await api(server, 'GET', `/api/v1/runs?sort=-name&limit=1&cursor=${first.next_cursor}`);
  assert.equal(res.status, 400);
  assert.equal(res.body.code, 'GW_ERR_RUN_CURSOR');
  assert.equal((await api(server, 'GET', '/api/v1/runs?limit=1&cursor=garbage')).body.code, 'GW_ERR_RUN_CURSOR');
});

test('a bad expression is a 400 naming the parameter and the position of the problem', async () => {
  const cases: Array<[string, string, number, RegExp]> = [
    ['q', 'val/fid < ', 10, /expected a value/],
    ['q', 'tag:facades and (status:running', 31, /expected '\)'/],
    ['q', 'status:sleeping', 7, /unknown status 'sleeping'/],
    ['q', 'step > many', 7, /expected a number/],
    ['q', 'config.lr_d >= 1e-4 and and', 24, /expected a condition/],
    ['q', 'foo:bar', 0, /unknown prefix/],
    ['q', 'a ) b', 2, /'\)'/],
    ['sort', 'name,-best(val/fid', 18, /expected '\)'/],
    ['columns', 'min(val/fid) max(x)', 13, /expected ','/],
  ];
  for (const [param, text, position, message] of cases) {
    const res = await api(server, 'GET', `/api/v1/runs?${param}=${enc(text)}`);
    assert.equal(res.status, 400, text);
    assert.equal(res.body.code, 'GW_ERR_RUN_QUERY', text);
    assert.equal(res.body.param, param, text);
    assert.equal(res.body.position, position, `${text}: ${res.body.message}`);
    assert.match(res.body.message, message, text);
    assert.match(res.body.message, new RegExp(`^Invalid ${param} at character ${position + 1}: `), text);
  }
});

test('without the table parameters the list answers as before: every run, newest first, with the old filters', async () => {
  const res = await api(server, 'GET', '/api/v1/runs?tag=facades');
  assert.deepEqual(
    res.body.runs.map((r: any) => r.name),
    ['facades-b', 'facades-a'],
  );
  assert.equal(res.body.next_cursor, undefined);
  assert.equal(res.body.runs[0].columns, undefined);
  assert.deepEqual(await names(`tag=facades&q=${enc('val/fid < 40')}`), ['facades-a'], 'old filters and q combine');
});

test('the fields in use: every metric name and config key, for the column chooser', async () => {
  const res = await api(server, 'GET', '/api/v1/runs/fields');
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.metrics, ['loss/D', 'val/fid', 'val/ssim']);
  assert.deepEqual(res.body.config, ['gan_mode', 'lr_d', 'net']);
});
