// `npm run bench -- ingest`: 1,000,000 points (10 metrics × 100,000 steps) sent over the WS ingest socket by a separate
// client process, acked and committed, against bare better-sqlite3 batched inserts into the same schema; server peak RSS.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
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
  const child = spawnIngestClient([url, metrics, String(steps), String(stepsPerFrame), String(window)]);
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((r) => child.once('close', r));
  return JSON.parse(out).ms as number;
}

/** bench/support/ingest-client.ts in its own process (its stdin piped: see --start-on-go). */
function spawnIngestClient(args: string[]): ChildProcessByStdio<Writable, Readable, null> {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/support/ingest-client.ts'), ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/**
 * Several ingest clients (as runIngestClient, one process each, to `urls`) connected first and then started at the same
 * moment; resolves with the ms from that moment to the last client's last ack.
 */
export async function runIngestClientsTogether(
  urls: readonly string[],
  metrics: string,
  steps: number,
  stepsPerFrame: number,
  window: number,
  onStart?: () => void,
): Promise<number> {
  const clients = urls.map((url) =>
    spawnIngestClient([url, metrics, String(steps), String(stepsPerFrame), String(window), '--start-on-go']),
  );
  const exited = clients.map(
    (c) =>
      new Promise<number | null>((resolve, reject) => {
        c.once('error', reject);
        c.once('close', resolve);
      }),
  );
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve, reject) => {
          let out = '';
          const onData = (chunk: Buffer): void => {
            out += chunk.toString();
            if (out.includes('ready\n')) resolve();
          };
          c.stdout.on('data', onData);
          c.once('close', (code) => reject(new Error(`an ingest client exited ${code} before it was ready`)));
        }),
    ),
  );
  onStart?.();
  const t0 = performance.now();
  for (const c of clients) c.stdin.end('go\n');
  const codes = await Promise.all(exited);
  if (codes.some((code) => code !== 0)) throw new Error(`an ingest client failed (exit codes ${codes.join(', ')})`);
  return performance.now() - t0;
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
