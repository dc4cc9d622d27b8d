// The trainer's diagnostics end to end: a real trainer process (wasm, the tiny model) with --diag-every 2 against a
// real server pushes, at exactly every second step, a weight and a gradient norm for every layer of G, E, D and D2
// (finite, > 0), and the histograms of D's and D2's verdicts per scale and of E's μ and log σ², readable back through
// GET /api/v1/runs/:id/distributions.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { DistributionsResponse } from '../../protocol/distributions.js';
import { histogramTotal } from '../../protocol/histogram.js';
import {
  DIST_E_LOGVAR,
  DIST_E_MU,
  discriminatorOutputDistribution,
  layerGradMetric,
  layerNormMetric,
} from '../../protocol/metric-names.js';
import type { MetricSummary } from '../../protocol/series.js';
import { api, ROOT, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { SMALL_VALIDATION_ARGS, TINY_MODEL_ARGS } from '../../harness/trainer.js';
import { initBackend } from '../../trainer/backend.js';
import { layerOf } from '../../trainer/diagnostics.js';
import { BicycleGAN, NET_NAMES } from '../../trainer/models/bicyclegan.js';

let server: RunningServer;
let dir: string;

before(async () => {
  server = await startServer();
  dir = tempDir('ganwatch-diag-');
});

after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

function train(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), '--conditions=ganwatch-source', join(ROOT, 'trainer/train.ts'), ...args],
    { cwd: dir, env: { ...process.env, GANWATCH_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** The layers of the tiny model the trainer trains (the same flags), by network. */
async function tinyLayers(): Promise<string[]> {
  await initBackend('wasm');
  const m = new BicycleGAN({ size: 32, ngf: 8, nef: 8, ndf: 8 });
  const layers = [...new Set(NET_NAMES.flatMap((n) => m.net(n).params.map((p) => layerOf(p.name))))];
  m.dispose();
  return layers;
}

test('--diag-every 2: layer norms and distributions arrive at steps 2 and 4 of a real run, and only there', async () => {
  const out = await train([
    '--server',
    server.url,
    '--backend',
    'wasm',
    ...TINY_MODEL_ARGS,
    ...SMALL_VALIDATION_ARGS,
    '--max-steps',
    '5',
    '--steps-per-epoch',
    '5',
    '--diag-every',
    '2',
    '--checkpoint-dir',
    join(dir, 'ck'),
    '--spool',
    join(dir, 'spool'),
  ]);
  assert.equal(out.code, 0, `${out.stdout}\n${out.stderr}`);
  const run = /^run ([a-z0-9]+): /m.exec(out.stdout)?.[1];
  assert.ok(run, out.stdout);

  const res = await api<{ metrics: MetricSummary[] }>(server, 'GET', `/api/v1/runs/${run}/metrics`);
  assert.equal(res.status, 200);
  const byName = new Map(res.body.metrics.map((m) => [m.name, m]));
  const layers = await tinyLayers();
  for (const net of NET_NAMES)
    assert.ok(
      layers.some((l) => l.startsWith(`${net}/`)),
      `${net} has layers`,
    );
  for (const layer of layers) {
    for (const name of [layerNormMetric(layer), layerGradMetric(layer)]) {
      const m = byName.get(name);
      assert.ok(m, `${name} arrived`);
      assert.deepEqual([m.count, m.first_step, m.last_step], [2, 2, 4], `${name}: steps 2 and 4 only`);
      assert.ok(m.min !== null && m.min > 0 && Number.isFinite(m.max), `${name}: finite and > 0 (${m.min}..${m.max})`);
    }
  }
  const pushed = res.body.metrics.filter((m) => /^layer_(norm|grad)\//.test(m.name)).length;
  assert.equal(pushed, 2 * layers.length, 'no other layer names');
  // A weight norm is of the order of its xavier init (gain 0.02), not of a gradient's or a corrupted value's.
  const w = byName.get(layerNormMetric('G/b0/down'))!;
  assert.ok(w.max! < 10, `G/b0/down weight norm ${w.max}`);

  const names: string[] = [DIST_E_MU, DIST_E_LOGVAR];
  for (const net of ['D', 'D2'] as const)
    for (const side of ['real', 'fake'] as const)
      for (const scale of [0, 1]) names.push(discriminatorOutputDistribution(net, side, scale));
  for (const name of names) {
    const d: { status: number; body: DistributionsResponse } = await api<DistributionsResponse>(
      server,
      'GET',
      `/api/v1/runs/${run}/distributions?name=${encodeURIComponent(name)}`,
    );
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.deepEqual(
      d.body.records.map((r) => r.step),
      [2, 4],
      `${name}: steps 2 and 4`,
    );
    for (const r of d.body.records) {
      assert.ok(histogramTotal(r) > 0 && r.nonFinite === 0, `${name} at ${r.step}: values, all finite`);
      if (name.startsWith('dist/D'))
        assert.ok(
          r.edges[0]! >= 0 && r.edges.at(-1)! <= 1,
          `${name}: probabilities (${r.edges[0]}..${r.edges.at(-1)})`,
        );
    }
  }
  const mu = await api<DistributionsResponse>(server, 'GET', `/api/v1/runs/${run}/distributions?name=${DIST_E_MU}`);
  assert.equal(histogramTotal(mu.body.records[0]!), 2 * 8, 'μ: half a batch of 4 × nz 8 values');
});
