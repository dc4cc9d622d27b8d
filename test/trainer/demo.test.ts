// `npm run demo`: with GANWATCH_PORT and GANWATCH_DB set, it starts a server and a trainer; metric points reach the
// server (how soon is reported, not asserted: on a quiet machine within 10 s, and a test must not depend on load);
// SIGINT stops both cleanly (exit 0, the run no longer 'running', the server gone).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { api, ROOT, startServer, tempDir } from '../../harness/server.js';

let dir: string;
let port: number;
let demo: ChildProcess;
let output = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** This machine's environment without ganwatch settings, plus the demo's port and database. */
function demoEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('GANWATCH_')) delete env[key];
  return { ...env, GANWATCH_PORT: String(port), GANWATCH_DB: join(dir, 'demo.db') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

before(async () => {
  dir = tempDir('ganwatch-demo-');
  port = await freePort();
});

after(async () => {
  // The whole process group: a failed assertion leaves the demo's server and trainer running, and their inherited
  // output pipes would keep this test process alive.
  if (demo?.pid !== undefined) {
    try {
      process.kill(-demo.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await rm(dir, { recursive: true, force: true });
});

test('points appear and SIGINT stops the trainer and the server cleanly', async (t) => {
  const url = `http://127.0.0.1:${port}`;
  const started = Date.now();
  // A tiny model keeps the test light; the demo's own defaults are what a user gets without these flags.
  demo = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      join(ROOT, 'scripts/demo.ts'),
      '--',
      '--ngf',
      '4',
      '--nef',
      '4',
      '--ndf',
      '4',
      '--batch',
      '4',
      '--latent-count',
      '16',
    ],
    {
      cwd: dir,
      env: demoEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so that after() can end the server and trainer with it
    },
  );
  demo.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  demo.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));

  let run: string | null = null;
  let firstPointMs: number | null = null;
  while (firstPointMs === null && demo.exitCode === null) {
    await sleep(100);
    if (!(await healthy(url))) continue;
    if (run === null) {
      const runs = await api<{ runs: { id: string }[] }>({ url }, 'GET', '/api/v1/runs');
      run = runs.body.runs[0]?.id ?? null;
      if (run === null) continue;
    }
    const metrics = await api<{ metrics: unknown[] }>({ url }, 'GET', `/api/v1/runs/${run}/metrics`);
    if (metrics.body.metrics.length > 0) firstPointMs = Date.now() - started;
  }
  assert.ok(firstPointMs !== null, `the demo exited before any point was stored:\n${output}`);
  t.diagnostic(`first points ${firstPointMs} ms after the demo started`);
  assert.match(output, new RegExp(`dashboard: ${url}/`));
  assert.match(output, new RegExp(`${url}/#/runs/${run}`));

  demo.kill('SIGINT');
  const timeout = new Promise<string>((r) => setTimeout(() => r('timeout'), 600_000).unref());
  const code = await Promise.race([exited, timeout]);
  assert.equal(code, 0, `demo exit ${String(code)}:\n${output}`);
  assert.equal(await healthy(url), false, 'the server the demo started is gone');
  assert.match(output, /training stopped: interrupted by SIGINT/);

  // Reopen the demo's database with a fresh server: the trainer set its status before the server stopped.
  const check = await startServer({ dbPath: join(dir, 'demo.db') });
  try {
    const r = await api<{ status: string; last_step: number }>(check, 'GET', `/api/v1/runs/${run}`);
    assert.notEqual(r.body.status, 'running');
    assert.equal(r.body.status, 'finished');
    assert.ok(r.body.last_step >= 1);
  } finally {
    await check.stop();
  }
});
