// System metrics from the Node client (clients/node/system-metrics.ts), against a real server: samples of the process's
// CPU and memory go at the step logged last; a run records its machine; `systemMetrics: false` pushes none; without
// nvidia-smi there are no GPU metrics and no error; with one (a stand-in script first on PATH, the external program
// faked, nothing of ganwatch) each GPU gets its metrics and the run records the GPU names.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect, type GanwatchError, type Run } from '../../clients/node/index.js';
import { parseNvidiaSmi } from '../../clients/node/system-metrics.js';
import type { Run as RunRecord } from '../../protocol/index.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';

const HANG_GUARD_MS = 60_000;
let server: RunningServer;
const dir = tempDir('ganwatch-system-');
const runs: Run[] = [];
const problems: GanwatchError[] = [];
const savedPath = process.env.PATH;

before(async () => {
  server = await startServer();
});
after(async () => {
  process.env.PATH = savedPath;
  for (const r of runs) await r.close({ timeoutMs: 100 });
  await server.stop();
});

/** A folder for PATH holding, when `csv` is given, an `nvidia-smi` that prints it. */
function pathWith(name: string, csv?: string): string {
  const bin = join(dir, name);
  mkdirSync(bin);
  if (csv !== undefined) {
    writeFileSync(join(bin, 'nvidia-smi'), `#!/bin/sh\ncat <<'CSV'\n${csv}CSV\n`);
    chmodSync(join(bin, 'nvidia-smi'), 0o755);
  }
  return bin;
}

async function open(name: string, extra: Parameters<typeof connect>[0] = {}): Promise<Run> {
  const run = await connect({
    name,
    server: server.url,
    spool: join(dir, 'spool'),
    systemMetrics: true,
    systemIntervalMs: 20,
    onError: (e) => problems.push(e),
    ...extra,
  });
  runs.push(run);
  return run;
}

/** Polls until `fn` is truthy; the bound is a hang guard only. */
async function until<T>(what: string, fn: () => T | null | undefined | false): Promise<T> {
  const end = Date.now() + HANG_GUARD_MS;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Waits until `run` has pushed `samples` system samples after its `logged` steps. */
const sampled = (run: Run, logged: number, samples: number) =>
  until(`${samples} system samples`, () => run.stats().pushed >= logged + samples);

interface MetricRow {
  name: string;
  count: number;
  last_step: number;
  last_value: number;
}
async function metrics(run: Run): Promise<Map<string, MetricRow>> {
  assert.equal(await run.flush(HANG_GUARD_MS), true);
  const res = await api<{ metrics: MetricRow[] }>(server, 'GET', `/api/v1/runs/${run.id}/metrics`);
  return new Map(res.body.metrics.map((m) => [m.name, m]));
}

async function record(run: Run): Promise<RunRecord> {
  return (await api<RunRecord>(server, 'GET', `/api/v1/runs/${run.id}`)).body;
}

test('samples of the CPU and resident memory go at the step logged last, and the run records its machine', async () => {
  process.env.PATH = pathWith('no-gpu');
  const run = await open('system');
  for (let step = 0; step < 5; step++) run.log({ loss: 1 / (step + 1) }, step);
  await sampled(run, 5, 3);
  const got = await metrics(run);
  const cpu = got.get('sys/cpu_percent');
  const rss = got.get('sys/rss_mb');
  assert.ok(cpu && rss, [...got.keys()].join(', '));
  assert.deepEqual([cpu.last_step, rss.last_step], [4, 4]);
  assert.ok(cpu.last_value >= 0, `cpu ${cpu.last_value}`);
  const rssNow = process.memoryUsage.rss() / 2 ** 20;
  assert.ok(rss.last_value > rssNow / 2 && rss.last_value < rssNow * 2, `rss ${rss.last_value} MiB vs ${rssNow}`);

  const stored = await record(run);
  assert.equal(stored.host, os.hostname());
  assert.deepEqual(stored.system, {
    cpu: os.cpus()[0]!.model.trim(),
    cores: os.availableParallelism(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    gpus: [],
  });
});

test('without nvidia-smi on PATH there are no GPU metrics and no error', async () => {
  process.env.PATH = pathWith('still-no-gpu');
  const run = await open('no-gpu');
  run.log({ loss: 1 }, 0);
  await sampled(run, 1, 3);
  const names = [...(await metrics(run)).keys()].sort();
  assert.deepEqual(names, ['loss', 'sys/cpu_percent', 'sys/rss_mb']);
  assert.deepEqual(problems, []);
});

test('systemMetrics: false pushes no system metric while a run sampling as often got several', async () => {
  process.env.PATH = pathWith('opt-out');
  const quiet = await open('opted-out', { systemMetrics: false });
  const sampling = await open('sampling');
  quiet.log({ loss: 1 }, 0);
  sampling.log({ loss: 1 }, 0);
  await sampled(sampling, 1, 3);
  assert.equal(quiet.stats().pushed, 1);
  assert.deepEqual([...(await metrics(quiet)).keys()], ['loss']);
  assert.equal((await record(quiet)).system?.gpus, undefined, 'nvidia-smi is not asked either');
});

test('each GPU nvidia-smi lists gets its utilization, memory and temperature, and the run records the names', async () => {
  const csv = '0, NVIDIA GeForce RTX 3090, 87, 20480, 71\n1, Tesla T4, 3, 512, [N/A]\n';
  process.env.PATH = `${pathWith('two-gpus', csv)}:${savedPath}`;
  const run = await open('gpus');
  run.log({ loss: 1 }, 7);
  await sampled(run, 1, 2);
  const got = await metrics(run);
  const gpuValues = [...got.values()]
    .filter((m) => m.name.startsWith('sys/gpu'))
    .map((m) => [m.name, m.last_value, m.last_step]);
  assert.deepEqual(gpuValues.sort(), [
    ['sys/gpu_mem_mb/0', 20480, 7],
    ['sys/gpu_mem_mb/1', 512, 7],
    ['sys/gpu_temp_c/0', 71, 7],
    ['sys/gpu_util/0', 87, 7],
    ['sys/gpu_util/1', 3, 7],
  ]);
  assert.deepEqual((await record(run)).system?.gpus, ['NVIDIA GeForce RTX 3090', 'Tesla T4']);
});

test("nvidia-smi's CSV: a name may hold commas, a value it does not have is left out, other lines are skipped", () => {
  assert.deepEqual(parseNvidiaSmi('2, Quadro RTX 8000, rev A, [Not Supported], 100, 40\nNVIDIA-SMI has failed\n'), [
    { index: 2, name: 'Quadro RTX 8000, rev A', util: null, memMb: 100, tempC: 40 },
  ]);
});
