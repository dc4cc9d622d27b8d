// The trainer's command line as a user meets it: --help lists every flag; bad values, unusable dataset folders and
// an unreachable server each give one line naming the problem and exit code 2 (no stack trace); --resume continues
// the same run at the right step and reaches the values an uninterrupted run reaches.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import { TINY_MODEL_ARGS, spawnTrainer } from '../../harness/trainer.js';

let dir: string;

interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

function train(args: string[], timeoutMs = 600_000): Promise<Outcome> {
  const child = spawnTrainer([...args], {
    cwd: dir,
    env: { ...process.env, GANWATCH_TOKEN: '', GANWATCH_SERVER: '', GANWATCH_PORT: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Exit code 2 and exactly one stderr line holding the code and every `names`, with no stack trace. */
function assertOneLineError(out: Outcome, code: string, ...names: string[]): void {
  assert.equal(out.code, 2, `exit code ${out.code}; stderr: ${out.stderr}`);
  const lines = out.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected, got:\n${out.stderr}`);
  const line = lines[0]!;
  assert.match(line, new RegExp(`^train: ${code}: `));
  for (const n of names) assert.ok(line.includes(n), `"${line}" should name ${n}`);
  assert.doesNotMatch(out.stderr, /\n\s+at /, 'no stack trace');
}

const TINY = ['--backend', 'wasm', ...TINY_MODEL_ARGS];

before(async () => {
  dir = tempDir('ganwatch-cli-');
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('--help lists every flag and exits 0', async () => {
  const out = await train(['--help']);
  assert.equal(out.code, 0, out.stderr);
  const flags = [
    '--server',
    '--token',
    '--name',
    '--tags',
    '--dataset',
    '--direction',
    '--classes',
    '--epochs',
    '--size',
    '--batch',
    '--seed',
    '--ngf',
    '--nef',
    '--ndf',
    '--nz',
    '--where-add',
    '--gan-mode',
    '--lambda-adv',
    '--lambda-cyc',
    '--lambda-latent',
    '--lambda-kl',
    '--lr-g',
    '--lr-e',
    '--lr-d',
    '--beta1',
    '--beta2',
    '--epsilon',
    '--niter',
    '--niter-decay',
    '--clip',
    '--no-dropout',
    '--push-every',
    '--val-every',
    '--val-count',
    '--val-z',
    '--patience',
    '--early-stop-metric',
    '--checkpoint-dir',
    '--checkpoint-every',
    '--resume',
    '--fork',
    '--offline',
    '--spool',
    '--steps-per-epoch',
    '--backend',
    '--fid-model',
    '--max-steps',
  ];
  for (const f of flags) assert.match(out.stdout, new RegExp(`${f}\\b`), `--help should list ${f}`);
});

describe('bad option values give one GW_ERR_OPTION line naming the flag, exit code 2', () => {
  const cases: [string[], string[]][] = [
    [
      ['--batch', '3'],
      ['--batch', 'even'],
    ],
    [
      ['--size', '48'],
      ['--size', '32, 64, 128, 256'],
    ],
    [
      ['--gan-mode', 'wgan'],
      ['--gan-mode', 'vanilla, lsgan'],
    ],
    [['--lr-d', '-0.1'], ['--lr-d']],
    [
      ['--epochs', 'many'],
      ['--epochs', 'many'],
    ],
    [
      ['--early-stop-metric', 'val/foo'],
      ['--early-stop-metric', 'val/L1'],
    ],
    [
      ['--backend', 'tpu'],
      ['--backend', 'wasm'],
    ],
    [['--bogus'], ['--bogus']],
    [['--early-stop-metric', 'val/fid'], ['--fid-model']],
    [
      ['--alerts', '{"rules":{"d_overpowering":{"params":{"accEnter":"0.97"}}}}'],
      ['--alerts', 'rules/d_overpowering/params/accEnter must be number'],
    ],
  ];
  for (const [args, names] of cases) {
    test(args.join(' '), async () => assertOneLineError(await train(args), 'GW_ERR_OPTION', ...names));
  }
});

describe('unusable dataset folders give one line naming the problem, exit code 2', () => {
  test('a missing folder', async () => {
    const missing = join(dir, 'no-such-dataset');
    assertOneLineError(await train([...TINY, '--offline', '--dataset', missing]), 'GW_ERR_DATASET_MISSING', missing);
  });

  test('an empty folder', async () => {
    const empty = join(dir, 'empty');
    await mkdir(join(empty, 'train'), { recursive: true });
    await mkdir(join(empty, 'val'), { recursive: true });
    assertOneLineError(
      await train([...TINY, '--offline', '--dataset', empty]),
      'GW_ERR_DATASET_EMPTY',
      join(empty, 'train'),
    );
  });

  test('a corrupt image', async () => {
    const corrupt = join(dir, 'corrupt');
    await mkdir(join(corrupt, 'train'), { recursive: true });
    await mkdir(join(corrupt, 'val'), { recursive: true });
    await writeFile(join(corrupt, 'train', '1.png'), Buffer.from('this is not a png at all'));
    await writeFile(join(corrupt, 'val', '1.png'), Buffer.from('neither is this'));
    assertOneLineError(await train([...TINY, '--offline', '--dataset', corrupt]), 'GW_ERR_IMAGE_CORRUPT', '1.png');
  });
});

test('an unreachable server gives one GW_ERR_SERVER line with what to do, exit code 2', async () => {
  const out = await train([...TINY, '--server', 'http://127.0.0.1:9', '--spool', join(dir, 'spool-unreachable')]);
  assertOneLineError(out, 'GW_ERR_SERVER', 'http://127.0.0.1:9', '--offline');
});

test('--alerts naming a parameter its rule does not have is refused by the server before training, and no run is made', async () => {
  const server = await startServer();
  try {
    const alerts = JSON.stringify({ rules: { d_overpowering: { params: { accEntr: 0.97 } } } });
    const out = await train([
      ...TINY,
      '--server',
      server.url,
      '--spool',
      join(dir, 'spool-alerts'),
      '--alerts',
      alerts,
    ]);
    assertOneLineError(out, 'GW_ERR_SERVER', 'GW_ERR_UNKNOWN_RULE_PARAM', "'d_overpowering'", "'accEntr'", 'accEnter');
    assert.deepEqual((await api<{ runs: unknown[] }>(server, 'GET', '/api/v1/runs')).body.runs, []);
  } finally {
    await server.stop();
  }
});

test('early stopping counts validation checks without improvement and keeps the best checkpoint', async () => {
  // Learning rates 0: the model never changes, so val/L1 is best at the first check and never improves after it.
  const ck = join(dir, 'ck-early');
  const out = await train([
    ...TINY,
    '--offline',
    '--spool',
    join(dir, 'spool-early'),
    '--checkpoint-dir',
    ck,
    '--epochs',
    '50',
    '--steps-per-epoch',
    '1',
    '--val-every',
    '1',
    '--val-count',
    '2',
    '--val-z',
    '2',
    '--latent-count',
    '4',
    '--patience',
    '2',
    '--lr-g',
    '0',
    '--lr-e',
    '0',
    '--lr-d',
    '0',
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(
    out.stdout,
    /stopped early: early stop: val\/L1 did not improve for 2 validation checks \(best [0-9.]+ at epoch 1, step 1\)/,
  );
  assert.match(out.stdout, /steps +3, 3 epochs/);
  assert.match(out.stdout, new RegExp(`the best checkpoint is kept in ${join(ck, 'best').replace(/[.]/g, '\\.')}`));
  assert.ok(existsSync(join(ck, 'best', 'manifest.json')));
  assert.ok(existsSync(join(ck, 'latest', 'manifest.json')));
});

test('a run whose weights blow up to NaN still validates and ends, saying its latent codes were not pushed', async () => {
  // Learning rates of 1e30: Adam's first steps move every weight by about that much, and float32 overflows to NaN.
  const out = await train([
    ...TINY,
    '--offline',
    '--spool',
    join(dir, 'spool-nan'),
    '--checkpoint-dir',
    join(dir, 'ck-nan'),
    '--epochs',
    '2',
    '--steps-per-epoch',
    '2',
    '--val-every',
    '1',
    '--val-count',
    '2',
    '--val-z',
    '1',
    '--latent-count',
    '4',
    '--patience',
    '0',
    '--lr-g',
    '1e30',
    '--lr-e',
    '1e30',
    '--lr-d',
    '1e30',
  ]);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /validation epoch 1: latent codes not pushed \(the encoder's codes are not finite\)/);
  assert.match(out.stdout, /steps +4, 2 epochs/);
});

describe('--resume', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  const args = (ck: string) => [
    ...TINY,
    '--server',
    server.url,
    '--steps-per-epoch',
    '2',
    '--val-every',
    '1',
    '--val-count',
    '2',
    '--val-z',
    '1',
    '--latent-count',
    '4',
    '--checkpoint-dir',
    ck,
    '--spool',
    join(dir, 'spool'),
  ];

  async function values(run: string, metric: string): Promise<Map<number, number>> {
    const r = await api<{ points: [number, number, number][] }>(
      server,
      'GET',
      `/api/v1/runs/${run}/series?metric=${encodeURIComponent(metric)}&buckets=10000`,
    );
    return new Map(r.body.points.map(([s, v]) => [s, v]));
  }

  test('continues the same run at the right step and matches an uninterrupted run', async () => {
    const ckA = join(dir, 'ck-a');
    const first = await train([...args(ckA), '--max-steps', '3']);
    assert.equal(first.code, 0, first.stderr);
    const run = /^run ([a-z0-9]+): /m.exec(first.stdout)![1]!;
    assert.ok(existsSync(join(ckA, 'latest', 'manifest.json')));

    // Only what must change: the rest (model, data, validation, checkpoint folder) comes from the checkpoint.
    const resumed = await train([
      '--server',
      server.url,
      '--spool',
      join(dir, 'spool'),
      '--resume',
      ckA,
      '--max-steps',
      '5',
    ]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`^run ${run}: `, 'm'), 'the same run id');
    assert.match(resumed.stdout, /resuming from .* at step 3 \(epoch 2, batch 1\)/);
    const info = await api<{ last_step: number; status: string }>(server, 'GET', `/api/v1/runs/${run}`);
    assert.equal(info.body.last_step, 5);
    assert.equal(info.body.status, 'finished');

    const straight = await train([...args(join(dir, 'ck-b')), '--max-steps', '5']);
    assert.equal(straight.code, 0, straight.stderr);
    const other = /^run ([a-z0-9]+): /m.exec(straight.stdout)![1]!;
    assert.notEqual(other, run);
    for (const metric of ['Cyc_error', 'loss/D', 'Latent_mse', 'val/L1']) {
      const a = await values(run, metric);
      const b = await values(other, metric);
      for (const step of [4, 5]) {
        assert.ok(b.has(step), `${metric} at step ${step} in the straight run`);
        assert.equal(a.get(step), b.get(step), `${metric} at step ${step}: resumed vs uninterrupted`);
      }
    }
  });

  test('--fork continues from the checkpoint as a new run, leaves the saved run and its checkpoint untouched, and applies the changed flag from the first step', async () => {
    const ck = join(dir, 'ck-fork');
    const first = await train([...args(ck), '--max-steps', '3', '--name', 'base']);
    assert.equal(first.code, 0, first.stderr);
    const base = /^run ([a-z0-9]+): /m.exec(first.stdout)![1]!;
    const manifest = await readFile(join(ck, 'latest', 'manifest.json'), 'utf8');

    const forked = await train([
      '--server',
      server.url,
      '--spool',
      join(dir, 'spool'),
      '--resume',
      ck,
      '--fork',
      '--max-steps',
      '5',
      '--lambda-latent',
      '2',
    ]);
    assert.equal(forked.code, 0, forked.stderr);
    const fork = /^run ([a-z0-9]+): /m.exec(forked.stdout)![1]!;
    assert.notEqual(fork, base, 'a new run');
    assert.match(forked.stdout, /forking from .* at step 3 \(epoch 2, batch 1\)/);

    const info = await api<{
      name: string;
      last_step: number;
      config: Record<string, unknown>;
      parent_id: string | null;
      fork_step: number | null;
    }>(server, 'GET', `/api/v1/runs/${fork}`);
    assert.equal(info.body.name, 'base (fork at step 3)');
    assert.deepEqual(info.body.config.forked_from, { run: base, step: 3 });
    assert.deepEqual(
      [info.body.parent_id, info.body.fork_step],
      [base, 3],
      'the lineage, as the server has the parent',
    );
    assert.equal(info.body.last_step, 5);
    const lambda = await values(fork, 'lambda/latent');
    assert.deepEqual([...lambda.keys()], [4, 5], 'the fork holds only the steps it trained');
    assert.equal(lambda.get(4), 2);

    const saved = await api<{ last_step: number }>(server, 'GET', `/api/v1/runs/${base}`);
    assert.equal(saved.body.last_step, 3, 'the saved run is untouched');
    assert.equal(await readFile(join(ck, 'latest', 'manifest.json'), 'utf8'), manifest, 'and so is its checkpoint');
  });

  test('--fork without --resume is one GW_ERR_OPTION line', async () => {
    assertOneLineError(await train([...TINY, '--offline', '--fork']), 'GW_ERR_OPTION', '--fork', '--resume');
  });

  test('a folder without a checkpoint is one GW_ERR_CHECKPOINT line', async () => {
    const nothing = join(dir, 'not-a-checkpoint');
    await mkdir(nothing, { recursive: true });
    assertOneLineError(await train([...TINY, '--offline', '--resume', nothing]), 'GW_ERR_CHECKPOINT', nothing);
  });

  test('changing the architecture on resume is refused naming the flag', async () => {
    const out = await train([...TINY, '--offline', '--resume', join(dir, 'ck-a'), '--ngf', '16']);
    assertOneLineError(out, 'GW_ERR_OPTION', '--ngf');
  });
});
