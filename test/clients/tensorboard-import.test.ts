// `ganwatch import tensorboard` against a real server: event files written by TensorFlow, PyTorch and Keras (the
// fixtures) and by the tests (every value kind, corrupt records, files growing while --follow tails them) arrive as
// runs, points, media and notes; a restarted import finds its runs again; bad arguments exit 2 with one line.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FrameClient } from '../support/ws.js';
import { runImporter, startImporter } from '../../harness/importer.js';
import { ROOT, api, startServer, tempDir, type RunningServer } from '../../harness/server.js';
import {
  appendBytes,
  histogramSummary,
  imageSummary,
  imageTensor,
  pluginValue,
  png,
  records,
  simpleScalar,
  simpleScalars,
  tensorScalar,
  textSummary,
  writeEventFile,
} from '../../harness/tfevents.js';

const FIXTURES = join(ROOT, 'test/fixtures/tfevents');
const WALL = 1_700_000_000;

let server: RunningServer;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.stop();
});

/** A fresh working folder (the importer's cwd, holding its state) and a log directory inside it. */
function workspace(): { cwd: string; logdir: string } {
  const cwd = tempDir('ganwatch-tb-');
  const logdir = join(cwd, 'logs');
  mkdirSync(logdir);
  return { cwd, logdir };
}

async function runsOf(logdir: string): Promise<any[]> {
  const { body } = await api(server, 'GET', '/api/v1/runs');
  return body.runs.filter((r: any) => r.config['tensorboard.logdir'] === logdir);
}

async function runNamed(logdir: string, name: string): Promise<any> {
  const run = (await runsOf(logdir)).find((r) => r.config['tensorboard.run'] === name);
  assert.ok(run, `no run for '${name}'`);
  return run;
}

async function rawSeries(id: string, metric: string): Promise<Array<[number, number | string, number]>> {
  const { status, body } = await api(server, 'GET', `/api/v1/runs/${id}/series?metric=${encodeURIComponent(metric)}`);
  assert.equal(status, 200, `${metric}: ${JSON.stringify(body)}`);
  assert.equal(body.mode, 'raw');
  return body.points;
}

test('runs written by TensorFlow 1, PyTorch and Keras arrive with their names, steps, values and wall times', async () => {
  const { cwd, logdir } = workspace();
  cpSync(FIXTURES, logdir, { recursive: true });
  const result = await runImporter([logdir, '--server', server.url, '--json', '--tags', 'imported,gan'], cwd);
  assert.equal(result.code, 0, result.stderr);

  const runs = await runsOf(logdir);
  assert.deepEqual(runs.map((r) => r.name).sort(), [
    'lingvo',
    'tensorboard-reducer/duplicate_steps/run_1',
    'tensorboard-reducer/lax/run_1',
    'wandb/complex',
    'wandb/keras',
    'wandb/simple',
  ]);
  for (const r of runs) {
    assert.deepEqual(r.tags, ['tensorboard', 'imported', 'gan']);
    assert.equal(r.status, 'finished');
  }

  // PyTorch add_scalar: the first values and wall times of lax/run_1, as the file holds them.
  const lax = await runNamed(logdir, 'tensorboard-reducer/lax/run_1');
  const foo = await rawSeries(lax.id, 'lax/foo');
  assert.equal(foo.length, 110);
  assert.deepEqual(foo[0], [0, 1.2587659358978271, 1622543341.789234]);
  assert.deepEqual(foo[1]![0], 1);
  assert.equal(foo[1]![1], 1.6152024269104004);
  assert.equal(foo[109]![0], 109);

  // Steps written twice keep the last value (points are upserts), so 200 steps of 210 values.
  const dup = await runNamed(logdir, 'tensorboard-reducer/duplicate_steps/run_1');
  assert.equal((await rawSeries(dup.id, 'dup_steps/foo')).length, 200);

  // TF1 FileWriter: 7 tags per event, steps 1500..185200; tags with ':' are renamed, and say so.
  const lingvo = await runNamed(logdir, 'lingvo');
  const bleu = await rawSeries(lingvo.id, 'bleu/dev');
  assert.equal(bleu.length, 360);
  assert.deepEqual(bleu[0], [1500, 0.11201018840074539, 1534577086.0208557]);
  assert.equal(bleu.at(-1)![0], 185200);
  assert.equal((await rawSeries(lingvo.id, 'bleu/split_dev')).length, 360);
  assert.deepEqual(
    result.reports.filter((r) => r.event === 'renamed' && r.run === 'lingvo').map((r) => [r.tag, r.metric]),
    [
      ['bleu/split:dev', 'bleu/split_dev'],
      ['brevity_penalty/split:dev', 'brevity_penalty/split_dev'],
      ['log_perplexity/split:dev', 'log_perplexity/split_dev'],
    ],
  );

  const summary = result.reports.find((r) => r.event === 'summary').totals;
  assert.equal(summary.runs, 6);
  assert.equal(summary.points, 2520 + 330 + 420 + 747 + 1 + 102);
  assert.equal(summary.problems, 0);
});

test('TF2 tensor scalars of each dtype arrive with their steps and wall times', async () => {
  const { cwd, logdir } = workspace();
  const dtypes = ['float', 'double', 'half', 'bfloat16', 'int32', 'int64'] as const;
  const events = [];
  for (let step = 0; step < 4; step++) {
    for (const dtype of dtypes) {
      // Values every dtype holds exactly; metadata only on a tag's first value, as tf.summary writes it.
      const value = dtype.startsWith('int') ? step * 3 - 4 : step * 0.5 - 1;
      events.push(
        tensorScalar(step * 10, WALL + step + 0.25, `tf2/${dtype}`, { dtype, value, raw: step % 2 === 1 }, step === 0),
      );
    }
  }
  events.push(simpleScalars(40, WALL + 40, { 'Loss D (real)': 0.5, 'loss/G': Number.NaN }));
  events.push(simpleScalar(41, WALL + 41, 'a_b', 1), simpleScalar(42, WALL + 42, 'a b', 2));
  writeEventFile(join(logdir, 'tf2', 'events.out.tfevents.1.host'), events);
  const result = await runImporter([logdir, '--server', server.url, '--json'], cwd);
  assert.equal(result.code, 0, result.stderr);

  const run = await runNamed(logdir, 'tf2');
  for (const dtype of dtypes) {
    const expected = [0, 1, 2, 3].map((s) => [
      s * 10,
      dtype.startsWith('int') ? s * 3 - 4 : s * 0.5 - 1,
      WALL + s + 0.25,
    ]);
    assert.deepEqual(await rawSeries(run.id, `tf2/${dtype}`), expected, dtype);
  }
  assert.deepEqual(await rawSeries(run.id, 'Loss_D__real_'), [[40, 0.5, WALL + 40]]);
  assert.deepEqual(await rawSeries(run.id, 'loss/G'), [[40, 'NaN', WALL + 40]]);
  assert.ok(
    result.reports.some((r) => r.event === 'renamed' && r.tag === 'Loss D (real)' && r.metric === 'Loss_D__real_'),
  );
  const clash = result.reports.filter((r) => r.event === 'warning');
  assert.deepEqual(
    clash.map((w) => [w.code, w.message]),
    [
      [
        'GW_ERR_TB_NAME_CLASH',
        "Run 'tf2': tags 'a_b' and 'a b' both map to metric 'a_b'; their values share one series",
      ],
    ],
  );
  assert.deepEqual(await rawSeries(run.id, 'a_b'), [
    [41, 1, WALL + 41],
    [42, 2, WALL + 42],
  ]);
});

test('PNG images arrive as media by step, the --samples-tag images as the sample grids', async () => {
  const { cwd, logdir } = workspace();
  const [a, b, c, d] = [png(4, 4, 1), png(4, 4, 2), png(4, 4, 3), png(4, 4, 4)];
  writeEventFile(join(logdir, 'gan', 'events.out.tfevents.1.host'), [
    imageSummary(100, WALL + 1, 'val/grid', a),
    imageSummary(200, WALL + 2, 'val/grid', b),
    imageTensor(200, WALL + 3, 'GAN/fake images', [c, d], true),
  ]);
  const result = await runImporter([logdir, '--server', server.url, '--json', '--samples-tag', 'val/grid'], cwd);
  assert.equal(result.code, 0, result.stderr);

  const run = await runNamed(logdir, 'gan');
  const samples = (await api(server, 'GET', `/api/v1/runs/${run.id}/media?kind=samples`)).body.media;
  assert.deepEqual(
    samples.map((m: any) => [m.epoch, m.step, m.meta]),
    [
      [100, 100, { tensorboard_tag: 'val/grid', wall_time: WALL + 1 }],
      [200, 200, { tensorboard_tag: 'val/grid', wall_time: WALL + 2 }],
    ],
  );
  const stored = await fetch(`${server.url}${samples[1].url}`);
  assert.deepEqual(Buffer.from(await stored.arrayBuffer()), b);

  for (const [kind, bytes] of [
    ['GAN.fake_images', c],
    ['GAN.fake_images.1', d],
  ] as const) {
    const media = (await api(server, 'GET', `/api/v1/runs/${run.id}/media?kind=${kind}`)).body.media;
    assert.equal(media.length, 1, kind);
    assert.equal(media[0].step, 200);
    const res = await fetch(`${server.url}${media[0].url}`);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);
  }
  assert.equal(result.reports.find((r) => r.event === 'summary').totals.images, 4);
});

test('histograms and values of other plugins are counted and skipped, with a one-line summary', async () => {
  const { cwd, logdir } = workspace();
  cpSync(join(FIXTURES, 'wandb'), logdir, { recursive: true });
  writeEventFile(join(logdir, 'extra', 'events.out.tfevents.1.host'), [
    histogramSummary(1, WALL, 'weights'),
    pluginValue(1, WALL, 'hparams/session', 'hparams'),
    simpleScalar(1, WALL, 'loss', 1),
  ]);
  const result = await runImporter([logdir, '--server', server.url], cwd);
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.split('\n').filter((l) => l.startsWith('skipped'));
  assert.deepEqual(lines, [
    'skipped (not imported): 38 histograms, 2 graphs, 1 custom_scalars plugin values, 1 hparams plugin values',
  ]);
  const extra = await runNamed(logdir, 'extra');
  assert.deepEqual(
    (await api(server, 'GET', `/api/v1/runs/${extra.id}/metrics`)).body.metrics.map((m: any) => m.name),
    ['loss'],
  );
});

test('a corrupt or truncated record is reported with its file and offset, and the rest is imported', async () => {
  const { cwd, logdir } = workspace();
  const path = join(logdir, 'bad', 'events.out.tfevents.1.host');
  const events = Array.from({ length: 20 }, (_, i) => simpleScalar(i, WALL + i, 'loss', i));
  writeEventFile(path, events);
  const head = records([{ wall_time: WALL, file_version: 'brain.Event:2' }]).length;
  const sizes = events.map((e) => records([e]).length);
  const offsetOf = (i: number): number => head + sizes.slice(0, i).reduce((a, b) => a + b, 0);
  const bytes = readFileSync(path);
  bytes[offsetOf(5) + 14]! ^= 0xff; // data of step 5
  bytes[offsetOf(12) + 2]! ^= 0x40; // length of step 12
  writeFileSync(path, bytes.subarray(0, offsetOf(19) + 7)); // step 19 cut short

  const result = await runImporter([logdir, '--server', server.url, '--json'], cwd);
  assert.equal(result.code, 1, 'exit code 1 says records were lost');
  const problems = result.reports.filter((r) => r.event === 'problem');
  assert.deepEqual(
    problems.map((p) => [p.file, p.offset]),
    [
      ['events.out.tfevents.1.host', offsetOf(5)],
      ['events.out.tfevents.1.host', offsetOf(12)],
      ['events.out.tfevents.1.host', offsetOf(19)],
    ],
  );
  for (const p of problems) {
    assert.equal(p.code, 'GW_ERR_TB_RECORD');
    assert.ok(p.message.includes(`'${path}', record at byte ${p.offset}`), p.message);
  }
  const run = await runNamed(logdir, 'bad');
  const steps = (await rawSeries(run.id, 'loss')).map((p) => p[0]);
  assert.deepEqual(
    steps,
    Array.from({ length: 19 }, (_, i) => i).filter((s) => s !== 5 && s !== 12),
  );
});

test('--follow imports a half-written record once complete, appended records and a new run while it runs', async () => {
  const { cwd, logdir } = workspace();
  const first = join(logdir, 'train', 'events.out.tfevents.1.host');
  let size = writeEventFile(first, [simpleScalars(0, WALL, { 'loss/D': 1.2, D_real_acc: 0.6 })]);
  // The writer is in the middle of a record when the importer starts: that is not an error while following.
  const split = records([simpleScalars(1, WALL + 1, { 'loss/D': 1.1, D_real_acc: 0.6 })]);
  appendBytes(first, split.subarray(0, 10));
  const importer = startImporter([logdir, '--server', server.url, '--json', '--follow', '--interval', '0.1'], cwd);
  try {
    const caughtUp = await importer.next((r) => r.event === 'caught_up');
    assert.equal(caughtUp.totals.problems, 0);
    assert.deepEqual(
      importer.reports.filter((r) => r.event === 'batch').map((r) => r.to),
      [size],
    );
    const run = await runNamed(logdir, 'train');
    assert.equal(run.status, 'running');

    appendBytes(first, split.subarray(10));
    size += split.length;
    await importer.next((r) => r.event === 'batch' && r.run === 'train' && r.to === size);

    const more = records([2, 3, 4].map((s) => simpleScalars(s, WALL + s, { 'loss/D': 1 - s / 10, D_real_acc: 0.6 })));
    appendBytes(first, more);
    size += more.length;
    await importer.next((r) => r.event === 'batch' && r.run === 'train' && r.to === size);
    assert.deepEqual(
      (await rawSeries(run.id, 'loss/D')).map((p) => p[0]),
      [0, 1, 2, 3, 4],
    );

    const second = join(logdir, 'eval', 'events.out.tfevents.2.host');
    const secondSize = writeEventFile(second, [simpleScalar(7, WALL + 7, 'fid', 41.5)]);
    const created = await importer.next((r) => r.event === 'run' && r.run === 'eval');
    assert.equal(created.created, true);
    await importer.next((r) => r.event === 'batch' && r.run === 'eval' && r.to === secondSize);
    assert.deepEqual(await rawSeries(created.id, 'fid'), [[7, 41.5, WALL + 7]]);

    assert.deepEqual(
      importer.reports.filter((r) => r.event === 'problem' || r.event === 'warning'),
      [],
    );
  } finally {
    assert.equal(await importer.stop('SIGTERM'), 0);
  }
  assert.equal((await runNamed(logdir, 'train')).status, 'disconnected');
});

test('a run followed from its TensorBoard logs gets the GAN alerts: a NaN loss raises divergence', async () => {
  const { cwd, logdir } = workspace();
  const path = join(logdir, 'gan', 'events.out.tfevents.1.host');
  writeEventFile(path, [simpleScalars(0, WALL, { 'loss/D': 1.3, 'loss/G': 0.7 })]);
  const importer = startImporter([logdir, '--server', server.url, '--json', '--follow', '--interval', '0.1'], cwd);
  const live = await FrameClient.connect(`${server.url.replace('http', 'ws')}/api/v1/live`);
  try {
    const { id } = await importer.next((r) => r.event === 'run' && r.run === 'gan');
    live.send({ type: 'subscribe', runs: [id] });
    await importer.next((r) => r.event === 'caught_up');
    appendBytes(path, records([simpleScalars(1, WALL + 1, { 'loss/D': Number.NaN, 'loss/G': 0.7 })]));
    const frame = await live.next((f) => f.type === 'alert' && f.alert.rule === 'divergence', 60_000);
    assert.equal(frame.alert.run, id);
    assert.equal(frame.alert.key, 'nonfinite');
    assert.equal(frame.alert.step_opened, 1);
  } finally {
    await live.close();
    assert.equal(await importer.stop('SIGINT'), 0);
  }
});

test('a restarted import finds its runs again, resumes where it was, and adds each text to the notes once', async () => {
  const { cwd, logdir } = workspace();
  const path = join(logdir, 'run', 'events.out.tfevents.1.host');
  const firstSize = writeEventFile(path, [
    textSummary(0, WALL, 'config', 'lr=2e-4, λ_latent=0.5'),
    ...[0, 1, 2].map((s) => simpleScalar(s, WALL + s, 'loss', s)),
  ]);
  const first = await runImporter([logdir, '--server', server.url, '--json'], cwd);
  assert.equal(first.code, 0, first.stderr);
  const id = first.reports.find((r) => r.event === 'run').id;

  appendBytes(path, records([simpleScalar(3, WALL + 3, 'loss', 3), textSummary(3, WALL + 3, 'eval', 'FID 41.5')]));
  const second = await runImporter([logdir, '--server', server.url, '--json'], cwd);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(
    second.reports.filter((r) => r.event === 'run').map((r) => [r.id, r.created]),
    [[id, false]],
  );
  const batches = second.reports.filter((r) => r.event === 'batch');
  assert.deepEqual(
    batches.map((b) => [b.from, b.records]),
    [[firstSize, 2]],
  );

  // Without its state file the import reads everything again, into the same run, and nothing doubles.
  rmSync(join(cwd, '.ganwatch-import'), { recursive: true });
  const third = await runImporter([logdir, '--server', server.url, '--json'], cwd);
  assert.equal(third.code, 0, third.stderr);
  assert.deepEqual(
    third.reports.filter((r) => r.event === 'run').map((r) => [r.id, r.created]),
    [[id, false]],
  );
  assert.equal((await runsOf(logdir)).length, 1);
  const run = (await api(server, 'GET', `/api/v1/runs/${id}`)).body;
  assert.equal(run.notes, '[step 0] config: lr=2e-4, λ_latent=0.5\n[step 3] eval: FID 41.5');
  assert.deepEqual(
    (await rawSeries(id, 'loss')).map((p) => p[0]),
    [0, 1, 2, 3],
  );
});

for (const [name, args, expected] of [
  ['a missing LOGDIR', [], /missing required argument 'logdir'/],
  ['a LOGDIR that does not exist', ['/nonexistent/ganwatch-logs'], /GW_ERR_TB_LOGDIR: .*no such directory/],
  [
    'a file instead of a directory',
    [join(FIXTURES, 'lingvo/events.out.tfevents.test')],
    /GW_ERR_TB_LOGDIR: .*is a file/,
  ],
  ['a LOGDIR without event files', [tempDir('ganwatch-tb-empty-')], /GW_ERR_TB_LOGDIR: .*holds no event files/],
  ['a bad --server URL', [FIXTURES, '--server', 'not a url'], /GW_ERR_OPTION: .*not a URL/],
  ['a --server that is not http', [FIXTURES, '--server', 'ftp://127.0.0.1:1'], /GW_ERR_OPTION: .*http/],
  ['an unreachable server', [FIXTURES, '--server', 'http://127.0.0.1:1'], /GW_ERR_SERVER: .*unreachable/],
] as const) {
  test(`${name} gives a one-line error and exit code 2`, async () => {
    const { cwd } = workspace();
    const result = await runImporter([...args], cwd);
    assert.equal(result.code, 2, result.stderr);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0]!, expected);
  });
}
