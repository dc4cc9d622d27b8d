// The PyTorch BicycleGAN example (examples/pytorch-bicyclegan) against a real server, on the synthetic set exported by
// `npm run dataset`: it pushes every metric the alerts read, sample grids and labelled latent codes, and the remedy of
// an alert that its own training tripped (a discriminator far too fast: d_overpowering) reaches its optimizers. The
// test follows the trainer by the lines it prints (steps, control results), never by the clock.
// Needs /usr/bin/python3 with torch, numpy and Pillow (CI installs python3-torch, python3-numpy, python3-pil).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import sharp from 'sharp';
import { after, before, test } from 'node:test';
import { KNOWN_METRICS, METRICS } from '../../protocol/metric-names.js';
import { decodeRgb } from '../../trainer/images.js';
import { ROOT, api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { TINY_MODEL_ARGS } from '../../harness/trainer.js';

const PYTHON = '/usr/bin/python3';
const EXAMPLE = join(ROOT, 'examples/pytorch-bicyclegan/train.py');
const CLIENT = join(ROOT, 'clients/python');

function missing(): string | false {
  if (!existsSync(PYTHON))
    return `${PYTHON} is missing (apt-get install python3 python3-torch python3-numpy python3-pil)`;
  const probe = spawnSync(PYTHON, ['-c', 'import torch, numpy, PIL'], { encoding: 'utf8' });
  return probe.status === 0
    ? false
    : `${PYTHON} lacks torch, numpy or Pillow: ${probe.stderr.trim().split('\n').pop()}`;
}
const skip = missing();
if (skip) console.log(`# example-pytorch: skipped: ${skip}`);

/**
 * What the example pushes: every name the TypeScript trainer pushes each step and at each validation (all but FID,
 * which needs a feature model), as protocol/metric-names.ts declares them.
 */
const PUSHED = KNOWN_METRICS.filter(
  (name) => METRICS[name].source === 'step' || (METRICS[name].source === 'validation' && !name.startsWith('val/fid')),
);

const LR_D = 0.002;
// A discriminator 1000× faster than the generator wins within a few dozen steps; these per-run settings shorten
// d_overpowering's warm-up (1000 points) and persistence (500) so it fires near step 60 instead of 1500. With G that
// slow the rule would raise lr_G; slowG 0 keeps its other remedy, lr_D ×0.5, which is what reaches two optimizers
// (D and D2) here.
const ALERTS = {
  rules: {
    d_overpowering: { for: 2, params: { warmup: 50, baselinePoints: 50, span: 20, evalEvery: 10, slowG: 0 } },
  },
};

/** The lines a child prints, consumed in order; `until` reads on until a line satisfies `check`. */
class Lines {
  readonly seen: string[] = [];
  private readonly iter: AsyncIterator<string>;
  constructor(
    child: ChildProcessWithoutNullStreams,
    private readonly stderr: () => string,
  ) {
    this.iter = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  }

  async until<T>(check: (line: string) => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
    for (;;) {
      const next = await this.iter.next();
      if (next.done) {
        const tail = this.seen.slice(-5).join('\n');
        throw new Error(`the trainer ended before ${what}:\n${tail}\n${this.stderr()}`);
      }
      this.seen.push(next.value);
      const found = await check(next.value);
      if (found !== undefined) return found;
    }
  }
}

interface Example {
  child: ChildProcessWithoutNullStreams;
  lines: Lines;
  stderr: () => string;
  exited: Promise<number>;
}

function startExample(args: string[]): Example {
  const child = spawn(PYTHON, [EXAMPLE, ...args], {
    cwd: ROOT,
    env: { ...process.env, PYTHONPATH: CLIENT, PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: '1' },
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? -1)));
  return { child, lines: new Lines(child, () => stderr), stderr: () => stderr, exited };
}

let server: RunningServer;
const dir = tempDir('ganwatch-example-');
const data = join(dir, 'synth32');
const checkpoints = join(dir, 'ck');
let trainer: Example | undefined;

before(async () => {
  if (skip) return;
  server = await startServer();
  const exported = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'scripts/dataset.ts'), 'synthetic', '--size', '32', '--out', data],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env } },
  );
  assert.equal(exported.status, 0, exported.stderr);
});

after(async () => {
  if (trainer && trainer.child.exitCode === null) {
    trainer.child.kill('SIGKILL');
    await trainer.exited;
  }
  await server?.stop();
});

const example = [
  '--dataset',
  data,
  ...TINY_MODEL_ARGS,
  '--threads',
  '1',
  '--steps-per-epoch',
  '20',
  '--val-every',
  '2',
  '--print-every',
  '1',
  '--max-steps',
  '3000',
];

test(
  "an alert's Apply halves the lr of the PyTorch trainer's D and D2 optimizers; checkpoint and stop reach it too",
  { skip, timeout: 900_000 },
  async (t) => {
    trainer = startExample([
      ...example,
      '--name',
      'torch-overpowering',
      '--lr-d',
      String(LR_D),
      '--lr-g',
      '2e-6',
      '--lr-e',
      '2e-6',
      '--alerts',
      JSON.stringify(ALERTS),
      '--server',
      server.url,
      '--checkpoint-dir',
      checkpoints,
      '--spool',
      join(dir, 'spool'),
    ]);
    const { lines } = trainer;
    const run = await lines.until((line) => /^run (\w+): http/.exec(line)?.[1], 'it created its run');

    // Each printed step, look for the alert: what drives the test is the trainer's progress, not a clock.
    let seenAt = 0;
    const alert = await lines.until(async (line) => {
      const step = /^step (\d+) /.exec(line)?.[1];
      if (step === undefined) return undefined;
      seenAt = Number(step);
      const { body } = await api(server, 'GET', `/api/v1/runs/${run}/alerts?rule=d_overpowering`);
      return (body.alerts as { id: number; key: string; remedy: unknown }[]).find((a) => a.key === 'D');
    }, 'd_overpowering fired for D');
    assert.deepEqual((alert.remedy as { action: unknown }).action, {
      action: 'scale_lr',
      args: { net: 'D', factor: 0.5 },
    });
    assert.equal((await api(server, 'POST', `/api/v1/alerts/${alert.id}/apply`)).status, 201);

    const from = await lines.until(
      (line) => /^control #\d+ scale_lr: lr D and D2 ×0\.5 = 0\.001 from step (\d+)$/.exec(line)?.[1],
      'it applied the remedy',
    );
    const checkpoint = await api(server, 'POST', `/api/v1/runs/${run}/controls`, { action: 'checkpoint', args: {} });
    assert.equal(checkpoint.status, 201);
    const saved = await lines.until(
      (line) => /^control #\d+ checkpoint: saved (.+) after step \d+$/.exec(line)?.[1],
      'it saved a checkpoint',
    );
    assert.equal(saved, join(checkpoints, 'latest.pt'));
    const stop = await api(server, 'POST', `/api/v1/runs/${run}/controls`, { action: 'stop', args: {} });
    assert.equal(stop.status, 201);
    await lines.until((line) => (/^done: stopped by a control/.test(line) ? true : undefined), 'it stopped');
    assert.equal(await trainer.exited, 0);
    t.diagnostic(`d_overpowering seen after step ${seenAt}, remedy applied from step ${from}`);

    const control = (await api(server, 'GET', `/api/v1/alerts/${alert.id}`)).body.control;
    assert.equal(control.status, 'applied');
    assert.equal(control.result_step, Number(from));
    // Everything was acknowledged before the trainer exited (finish() waits for it): the whole lr/D series is here.
    const series = await api(server, 'GET', `/api/v1/runs/${run}/series?metric=lr/D&buckets=10000`);
    const points = series.body.points as [number, number][];
    const steps = points.map(([step]) => step);
    assert.ok(steps.includes(Number(from)), `lr/D was pushed at step ${from}`);
    assert.deepEqual(
      steps,
      Array.from({ length: steps.length }, (_, i) => i + 1),
      'every step 1..last, once',
    );
    for (const [step, value] of points)
      assert.equal(value, step < Number(from) ? LR_D : LR_D / 2, `lr/D at step ${step}`);
    // The checkpoint written at the stop holds both discriminators' Adam states: D2's lr was halved too.
    const lrs = spawnSync(
      PYTHON,
      [
        '-c',
        'import json, sys, torch; s = torch.load(sys.argv[1])["model"]["optimizers"]; ' +
          'print(json.dumps({k: s[k]["param_groups"][0]["lr"] for k in s}))',
        join(checkpoints, 'latest.pt'),
      ],
      { encoding: 'utf8' },
    );
    assert.equal(lrs.status, 0, lrs.stderr);
    assert.deepEqual(JSON.parse(lrs.stdout), { G: 2e-6, E: 2e-6, D: LR_D / 2, D2: LR_D / 2 });
  },
);

test(
  'the PyTorch example pushes every metric the alerts read, with the names the TypeScript trainer uses',
  { skip },
  async () => {
    const run = (await api(server, 'GET', '/api/v1/runs?name=torch-overpowering')).body.runs[0];
    assert.ok(run, 'the first test ran the example');
    const { body } = await api(server, 'GET', `/api/v1/runs/${run.id}/metrics`);
    const names = new Set((body.metrics as { name: string }[]).map((m) => m.name));
    assert.ok(PUSHED.length >= 30, 'the protocol declares what the trainer pushes');
    for (const name of PUSHED) assert.ok(names.has(name), `${name} arrived`);
    assert.equal(run.config.ganMode, 'vanilla');
  },
);

test('the PyTorch example pushes PNG sample grids and latent codes labelled by palette', { skip }, async () => {
  const run = (await api(server, 'GET', '/api/v1/runs?name=torch-overpowering')).body.runs[0];
  const media = (await api(server, 'GET', `/api/v1/runs/${run.id}/media?kind=samples`)).body.media;
  assert.ok(media.length >= 1);
  const grid = media[0];
  assert.deepEqual(grid.meta.labels, ['input', 'target', 'encoded', 'z1', 'z2', 'z3', 'z4']);
  // Fingerprints of the fixed inputs and z, the same at every validation: what Compare's swipe needs.
  for (const key of ['inputs_id', 'z_id'])
    assert.deepEqual(new Set(media.map((m: any) => m.meta[key])), new Set([grid.meta[key]]), key);
  assert.match(grid.meta.inputs_id, /^[0-9a-f]{16}$/);
  assert.notEqual(grid.meta.inputs_id, grid.meta.z_id);
  const png = await fetch(server.url + grid.url);
  const image = await decodeRgb(Buffer.from(await png.arrayBuffer()));
  // 8 rows × 7 columns of 32 px tiles with 2 px gaps.
  assert.deepEqual([image.width, image.height], [7 * 32 + 8 * 2, 8 * 32 + 9 * 2]);

  const epochs = (await api(server, 'GET', `/api/v1/runs/${run.id}/latents`)).body.epochs;
  assert.ok(epochs.length >= 1);
  const latents = (await api(server, 'GET', `/api/v1/runs/${run.id}/latents/${epochs[0].epoch}`)).body;
  const labels = JSON.parse(readFileSync(join(data, 'labels.json'), 'utf8')) as { val: Record<string, number> };
  assert.equal(latents.dim, 8);
  assert.deepEqual(latents.labels, Object.values(labels.val));
});

test(
  'the PyTorch example refuses a missing dataset in one line, exit code 2, and creates no run',
  { skip },
  async () => {
    const bad = startExample([
      '--dataset',
      join(dir, 'nowhere'),
      '--size',
      '32',
      '--server',
      server.url,
      '--name',
      'nowhere',
    ]);
    assert.equal(await bad.exited, 2);
    assert.match(bad.stderr(), /^train\.py: GW_ERR_DATASET_MISSING: Dataset folder '.*nowhere' does not exist\n$/);
    const { body } = await api(server, 'GET', '/api/v1/runs?name=nowhere');
    assert.deepEqual(body.runs, []);
  },
);

test('the PyTorch example trains offline on pix2pix JPEG pairs (resize, crop, flip, BtoA)', { skip }, async () => {
  const root = join(dir, 'jpeg-pairs');
  for (const [split, count] of [
    ['train', 4],
    ['val', 2],
  ] as const) {
    mkdirSync(join(root, split), { recursive: true });
    for (let i = 0; i < count; i++) {
      // 80×40 pairs: halves of 40 px, resized to 36 and cropped to 32 for training, resized to 32 for validation.
      const pixels = Buffer.from(Array.from({ length: 80 * 40 * 3 }, (_, p) => (p * 37 + i * 101) % 256));
      await sharp(pixels, { raw: { width: 80, height: 40, channels: 3 } })
        .jpeg()
        .toFile(join(root, split, `${i + 1}.jpg`));
    }
  }
  const offline = startExample([
    '--dataset', root, '--direction', 'BtoA', '--size', '32', '--ngf', '8', '--nef', '8', '--ndf', '8',
    '--batch', '2', '--max-steps', '2', '--print-every', '1', '--val-count', '2', '--latent-count', '2',
    '--offline', '--spool', join(dir, 'spool-offline'), '--checkpoint-dir', join(dir, 'ck-offline'), '--threads', '1',
  ]); // prettier-ignore
  await offline.lines.until(
    (line) => (/^validation epoch 1 \(step 2\): val\/L1 /.test(line) ? true : undefined),
    'a validation',
  );
  await offline.lines.until((line) => (/^done: reached --max-steps 2/.test(line) ? true : undefined), 'the end');
  assert.equal(await offline.exited, 0, offline.stderr());
  assert.ok(existsSync(join(dir, 'ck-offline', 'latest.pt')));
});
