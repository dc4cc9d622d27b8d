// `npm run bench -- ingest`: 1,000,000 points (10 metrics × 100,000 steps) sent over the WS ingest socket by a separate
// client process, acked and committed, against bare better-sqlite3 batched inserts into the same schema; server peak RSS.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rawInsert } from './support/sqlite-baseline.js';
import { ROOT, api, startServer, tempDir } from '../harness/server.js';

const METRICS = 10;
const STEPS = 100_000;

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024;
}

/**
 * Runs bench/support/ingest-client.ts in its own process: `metrics` (a count, or comma-separated names) × `steps` points
 * pushed to `url` in frames of `stepsPerFrame` steps, `window` frames in flight. Resolves with its elapsed ms.
 */
export async function runIngestClient(
  url: string,
  metrics: string,
  steps: number,
  stepsPerFrame: number,
  window: number,
): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'bench/support/ingest-client.ts'),
      url,
      metrics,
      String(steps),
      String(stepsPerFrame),
      String(window),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.once('exit', r));
  return JSON.parse(out).ms as number;
}

export async function run(): Promise<void> {
  const total = METRICS * STEPS;
  const baselineMs = rawInsert(join(tempDir(), 'baseline.db'), METRICS, STEPS);
  const baseline = total / (baselineMs / 1000);

  const server = await startServer();
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'bench-ingest' })).body.id;
  const url = `${server.url.replace('http', 'ws')}/api/v1/ingest?run=${id}`;
  const ms = await runIngestClient(url, String(METRICS), STEPS, 1000, 4);
  const rate = total / (ms / 1000);
  const rss = peakRssMb(server.process.pid!);
  const metrics = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics as Array<{ count: number }>;
  const stored = metrics.reduce((n, m) => n + m.count, 0);
  await server.stop();

  console.log(`points stored:            ${stored.toLocaleString()} of ${total.toLocaleString()}`);
  console.log(
    `ganwatch WS ingest:       ${Math.round(rate).toLocaleString()} points/s (${(ms / 1000).toFixed(2)} s, frames of 1,000 steps × 10 metrics, 4 in flight)`,
  );
  console.log(
    `baseline raw inserts:     ${Math.round(baseline).toLocaleString()} points/s (${(baselineMs / 1000).toFixed(2)} s, 10,000-row transactions)`,
  );
  console.log(`ratio ingest / baseline:  ${(rate / baseline).toFixed(2)}  (goal ≥ 0.5)`);
  console.log(`server peak RSS:          ${rss.toFixed(0)} MB  (goal < 300 MB)`);
}
