// A real trainer process (wasm, 32 px, widths 8, batch 4) against a real server: every step metric arrives under
// its exact name, validation grids and latent codes arrive, the run records its config and backend, and controls
// from the server act at the next step boundary (set_lr, pause/resume, checkpoint, stop) with their results.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../trainer/backend.js';
import { fileModelSaver } from '../../trainer/eval/model-files.js';
import { MODEL_METRICS } from '../../trainer/models/bicyclegan.js';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { TINY_MODEL_ARGS, spawnTrainer } from '../../harness/trainer.js';

let server: RunningServer;
let dir: string;
let child: ChildProcess;
let stdout = '';
let stderr = '';
let exit: Promise<number | null>;
let run: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 600_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    const early = child.exitCode !== null && what.startsWith('the run id');
    if (Date.now() > deadline || early)
      assert.fail(`timed out waiting for ${what}\n--- trainer stdout\n${stdout}\n--- stderr\n${stderr}`);
    await sleep(100);
  }
}

interface ControlRow {
  id: number;
  action: string;
  status: string;
  result_step: number | null;
  message: string | null;
}

async function control(action: string, args: Record<string, unknown> = {}): Promise<ControlRow> {
  const res = await api<ControlRow>(server, 'POST', `/api/v1/runs/${run}/controls`, { action, args });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = res.body.id;
  return until(`control ${action} to be answered`, async () => {
    const list = await api<{ controls: ControlRow[] }>(server, 'GET', `/api/v1/runs/${run}/controls`);
    const c = list.body.controls.find((x) => x.id === id);
    return c && (c.status === 'applied' || c.status === 'failed') ? c : null;
  });
}

async function lastStep(): Promise<number> {
  const r = await api<{ last_step: number | null }>(server, 'GET', `/api/v1/runs/${run}`);
  return r.body.last_step ?? 0;
}

async function runStatus(): Promise<string> {
  return (await api<{ status: string }>(server, 'GET', `/api/v1/runs/${run}`)).body.status;
}

async function series(metric: string): Promise<[number, number, number][]> {
  const r = await api<{ points: [number, number, number][] }>(
    server,
    'GET',
    `/api/v1/runs/${run}/series?metric=${encodeURIComponent(metric)}&buckets=10000`,
  );
  return r.body.points ?? [];
}

before(async () => {
  server = await startServer();
  dir = tempDir('ganwatch-smoke-');
  // A tiny image → feature model stands in for Inception-v3 (no real weights here): FID runs end to end.
  await initBackend('wasm');
  const features = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [32, 32, 3], filters: 8, kernelSize: 3, activation: 'relu' }),
      tf.layers.globalAveragePooling2d({}),
    ],
  });
  await features.save(fileModelSaver(join(dir, 'fid-model')));
  features.dispose();
  child = spawnTrainer(
    [
      '--server',
      server.url,
      '--backend',
      'wasm',
      '--name',
      'smoke',
      '--tags',
      'test,smoke',
      ...TINY_MODEL_ARGS,
      '--epochs',
      '1000',
      '--steps-per-epoch',
      '4',
      '--val-every',
      '1',
      '--val-count',
      '3',
      '--val-z',
      '2',
      '--latent-count',
      '24',
      '--patience',
      '0',
      '--checkpoint-dir',
      join(dir, 'ck'),
      '--spool',
      join(dir, 'spool'),
      '--fid-model',
      join(dir, 'fid-model'),
    ],
    { cwd: dir, env: { ...process.env, GANWATCH_TOKEN: '', GANWATCH_SERVER: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  run = await until('the run id on stdout', async () => /^run ([a-z0-9]+): /m.exec(stdout)?.[1]);
});

after(async () => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

test('every step metric (the model names and perf/*) arrives under its exact name', async () => {
  const wanted = [...MODEL_METRICS, 'perf/step_ms', 'perf/images_per_s'];
  const names = await until('all step metrics', async () => {
    const r = await api<{ metrics: { name: string }[] }>(server, 'GET', `/api/v1/runs/${run}/metrics`);
    const have = new Set(r.body.metrics.map((m) => m.name));
    return wanted.every((n) => have.has(n)) ? have : null;
  });
  for (const n of wanted) assert.ok(names.has(n), `missing ${n}`);
});

test('the run records its options, the model config, the backend, the device and the host', async () => {
  const r = await api<{
    config: Record<string, any>;
    backend: string;
    device: string;
    host: string;
    tags: string[];
    status: string;
  }>(server, 'GET', `/api/v1/runs/${run}`);
  assert.equal(r.body.backend, 'wasm');
  assert.match(r.body.device, /wasm/);
  assert.ok(r.body.host.length > 0);
  assert.deepEqual(r.body.tags, ['test', 'smoke']);
  const c = r.body.config;
  assert.equal(c.batch, 4);
  assert.equal(c.size, 32);
  assert.equal(c.lrD, 0.0001);
  assert.equal(c.earlyStopMetric, 'val/L1');
  assert.equal(c.model.ngf, 8);
  assert.equal(c.model.lambdaCyc, 10);
  assert.equal(c.data.kind, 'synthetic');
  assert.equal(c.token, null);
});

test('validation pushes val/L1, val/ssim, val/diversity, val/mode_coverage, val/fid with val/fid_n, a sample grid with its layout, and labelled latent codes', async () => {
  const media = await until('a sample grid', async () => {
    const r = await api<{ media: { kind: string; meta: Record<string, any>; url: string; epoch: number }[] }>(
      server,
      'GET',
      `/api/v1/runs/${run}/media`,
    );
    return r.body.media.length > 0 ? r.body.media : null;
  });
  const m = media[0]!;
  assert.equal(m.kind, 'samples');
  assert.equal(m.meta.rows, 3);
  assert.equal(m.meta.columns, 5);
  assert.deepEqual(m.meta.labels, ['input', 'target', 'encoded', 'z1', 'z2']);
  const png = await fetch(server.url + m.url);
  assert.equal(png.headers.get('content-type'), 'image/png');

  const latents = await until('latent codes', async () => {
    const r = await api<{ epochs: { epoch: number }[] }>(server, 'GET', `/api/v1/runs/${run}/latents`);
    return r.body.epochs.length > 0 ? r.body.epochs : null;
  });
  const set = await api<{ dim: number; count: number; labels: number[] | null }>(
    server,
    'GET',
    `/api/v1/runs/${run}/latents/${latents[0]!.epoch}`,
  );
  assert.equal(set.body.dim, 8);
  assert.equal(set.body.count, 24);
  assert.deepEqual(set.body.labels!.slice(0, 5), [0, 1, 2, 3, 0]);
  for (const metric of ['val/L1', 'val/ssim', 'val/diversity', 'val/mode_coverage', 'val/fid']) {
    await until(metric, async () => (await series(metric)).length > 0);
  }
  const n = await series('val/fid_n');
  assert.equal(n[0]?.[1], 64, 'FID over the 64 validation items');
  assert.match(stdout, /val\/fid: .*fid-model \(8 features\)/);
});

test('set_lr on D is applied at the next step boundary and the pushed lr/D shows it from the reported step', async () => {
  const c = await control('set_lr', { net: 'D', value: 0.0123 });
  assert.equal(c.status, 'applied', c.message ?? '');
  assert.ok(c.result_step !== null && c.result_step > 0);
  const points = await until('lr/D at the control step', async () => {
    const p = await series('lr/D');
    return p.some(([s]) => s >= c.result_step!) ? p : null;
  });
  for (const [step, value] of points) {
    if (step >= c.result_step) assert.equal(value, 0.0123, `lr/D at step ${step}`);
    else assert.equal(value, 0.0001, `lr/D at step ${step}`);
  }
});

test('scale_lambda and set_clip show in lambda/latent and clip/max_norm; an invalid control fails with a reason', async () => {
  const c = await control('scale_lambda', { name: 'latent', factor: 2 });
  assert.equal(c.status, 'applied');
  const clip = await control('set_clip', { max_norm: 5 });
  assert.equal(clip.status, 'applied');
  await until('lambda/latent and clip/max_norm at the control steps', async () => {
    const l = await series('lambda/latent');
    const k = await series('clip/max_norm');
    const lv = l.find(([s]) => s === c.result_step)?.[1];
    const kv = k.find(([s]) => s === clip.result_step)?.[1];
    return lv === 1 && kv === 5;
  });
  const bad = await control('resume');
  assert.equal(bad.status, 'failed');
  assert.match(bad.message ?? '', /not paused/);
});

test('pause stops stepping with status paused while controls are still answered; resume continues', async () => {
  const p = await control('pause');
  assert.equal(p.status, 'applied');
  assert.equal(
    await until('status paused', async () => ((await runStatus()) === 'paused' ? 'paused' : null)),
    'paused',
  );
  const at = await lastStep();
  assert.ok(at <= p.result_step!, `points after the pause step: ${at} > ${p.result_step}`);
  const ck = await control('checkpoint');
  assert.equal(ck.status, 'applied', ck.message ?? '');
  assert.ok(existsSync(join(dir, 'ck', 'latest', 'manifest.json')));
  await sleep(1000);
  assert.equal(await lastStep(), at, 'no step while paused');
  const r = await control('resume');
  assert.equal(r.status, 'applied');
  await until('steps after resume', async () => (await lastStep()) > at);
  assert.equal(await runStatus(), 'running');
});

test('stop finishes cleanly: checkpoint, status finished, exit code 0', async () => {
  const s = await control('stop');
  assert.equal(s.status, 'applied');
  const timeout = new Promise<string>((r) => setTimeout(() => r('timeout'), 600_000).unref());
  const code = await Promise.race([exit, timeout]);
  assert.equal(code, 0, `exit ${String(code)}\n${stderr}`);
  assert.equal(await runStatus(), 'finished');
  assert.ok(existsSync(join(dir, 'ck', 'latest', 'manifest.json')));
  assert.match(stdout, /training stopped: stopped by control/);
  assert.match(stdout, new RegExp(`dashboard +${server.url.replace(/[.]/g, '\\.')}/#/runs/${run}`));
  assert.equal(stderr.trim(), '');
});
