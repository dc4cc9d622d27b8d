// The Node client as a package: a script outside the repository imports 'ganwatch/client' as an installed dependency
// would (node_modules/ganwatch linking to this repository, as `npm install ../ganwatch` makes it), with plain Node after
// `npm run build:client` (the dist JavaScript) and under tsx with the ganwatch-source condition (the TypeScript
// source). Each runs the README's TensorFlow.js example against a real server: every step arrives, a set_lr control is
// applied from the step it names, and a stop control ends the script with status finished.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, api, startServer, tempDir, type RunningServer } from '../../harness/server.js';

const TSX_SOURCE = ['--import', import.meta.resolve('tsx'), '--conditions=ganwatch-source'];
let server: RunningServer;
let consumer: string;

/** A project folder with only ganwatch (and tfjs, which the example trains with) in its node_modules. */
function makeConsumer(): string {
  const dir = tempDir('ganwatch-consumer-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-trainer', private: true, type: 'module' }));
  mkdirSync(join(dir, 'node_modules', '@tensorflow'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'ganwatch'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/@tensorflow/tfjs'), join(dir, 'node_modules/@tensorflow/tfjs'), 'dir');
  copyFileSync(join(ROOT, 'clients/node/example.mjs'), join(dir, 'train.mjs'));
  return dir;
}

before(async () => {
  const build = spawnSync('npm', ['run', 'build:client'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  server = await startServer();
  consumer = makeConsumer();
});

after(async () => {
  await server.stop();
});

/** Where 'ganwatch/client' resolves from the consumer with these node flags. */
function resolved(flags: string[]): string {
  const out = spawnSync(
    process.execPath,
    [...flags, '--input-type=module', '-e', "console.log(import.meta.resolve('ganwatch/client'))"],
    { cwd: consumer, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } },
  );
  assert.equal(out.status, 0, out.stderr);
  return out.stdout.trim();
}

test('plain node resolves ganwatch/client to the built JavaScript, with its type declarations beside it', () => {
  const entry = resolved([]);
  assert.match(entry, /\/dist\/clients\/node\/index\.js$/);
  assert.ok(existsSync(new URL(entry)), entry);
  assert.ok(existsSync(join(ROOT, 'dist/clients/node/index.d.ts')));
});

test('the ganwatch-source condition resolves ganwatch/client to the TypeScript source', () => {
  assert.match(resolved(['--conditions=ganwatch-source']), /\/clients\/node\/index\.ts$/);
});

test('a TypeScript consumer type-checks against the built declarations', () => {
  symlinkSync(join(ROOT, 'node_modules/@types'), join(consumer, 'node_modules/@types'), 'dir');
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
      },
      files: ['check.ts'],
    }),
  );
  writeFileSync(
    join(consumer, 'check.ts'),
    [
      "import { connect, type Control } from 'ganwatch/client';",
      "const run = await connect({ name: 'typed', server: ['http://a:1', 'http://b:2'] });",
      'run.log({ loss: 1 }, 0);',
      'run.takeControls().forEach((c: Control) => run.answer(c.id, true, 0));',
      '// @ts-expect-error: values are numbers (an untyped package would make this line an error: unused directive)',
      "run.log({ loss: 'high' }, 1);",
      'export {};',
    ].join('\n'),
  );
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', consumer], {
    encoding: 'utf8',
  });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});

/** The example script as a child process, with its stdout lines observable. */
class Script {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(flags: string[]) {
    this.child = spawn(process.execPath, [...flags, 'train.mjs', '--server', server.url], {
      cwd: consumer,
      // No NODE_OPTIONS: plain node must not get tsx or the source condition from the test runner.
      env: { ...process.env, NODE_OPTIONS: '', GANWATCH_TOKEN: '', GANWATCH_SERVER: '', GANWATCH_PORT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString()));
    this.child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Waits until stdout matches `pattern` (the script reports its progress there). */
  async until(pattern: RegExp, timeoutMs = 120_000): Promise<RegExpExecArray> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.stdout);
      if (m) return m;
      assert.ok(this.child.exitCode === null, `the script exited early:\n${this.stdout}\n${this.stderr}`);
      assert.ok(Date.now() < end, `no ${pattern} in time:\n${this.stdout}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

interface ControlRow {
  id: number;
  status: string;
  result_step: number | null;
  message: string | null;
}

/** Sends a control to the run and waits until the script has answered it. */
async function control(run: string, action: string, args: object): Promise<ControlRow> {
  const sent = await api<{ id: number }>(server, 'POST', `/api/v1/runs/${run}/controls`, { action, args });
  assert.equal(sent.status, 201);
  const end = Date.now() + 60_000;
  for (;;) {
    const list = await api<{ controls: ControlRow[] }>(server, 'GET', `/api/v1/runs/${run}/controls`);
    const row = list.body.controls.find((c) => c.id === sent.body.id);
    if (row && row.status !== 'pending' && row.status !== 'sent') return row;
    assert.ok(Date.now() < end, `control ${action} was not answered in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const [how, flags] of [
  ['plain node, after npm run build:client', []],
  ['tsx from source', TSX_SOURCE],
] as const) {
  describe(`the README example run with ${how}`, () => {
    test('logs every step, applies set_lr from the step it reports, stops when told, and finishes the run', async () => {
      const script = new Script([...flags]);
      const [, run] = await script.until(/^run ([a-z0-9]+): /m);
      await script.until(/^step 100: /m);
      const setLr = await control(run!, 'set_lr', { net: 'G', value: 0.01 });
      assert.equal(setLr.status, 'applied');
      assert.match(setLr.message ?? '', /^lr = 0\.01 from step \d+$/);
      const stop = await control(run!, 'stop', {});
      assert.equal(stop.status, 'applied');
      assert.equal(await script.exited, 0, script.stderr);
      assert.match(script.stdout, /^finished: everything stored$/m);

      const last = stop.result_step!;
      const changed = setLr.result_step!;
      assert.ok(changed > 100 && last >= changed, JSON.stringify({ changed, last }));
      const exported = await api<{ points: Array<{ metric: string; step: number; value: number }> }>(
        server,
        'GET',
        `/api/v1/runs/${run}/export?format=json`,
      );
      const lr = new Map<number, number>();
      for (const p of exported.body.points.filter((x) => x.metric === 'lr')) {
        assert.ok(!lr.has(p.step), `lr at step ${p.step} stored once`);
        lr.set(p.step, p.value);
      }
      assert.equal(lr.size, last, `steps 0..${last - 1} stored`);
      for (let s = 0; s < last; s++) assert.equal(lr.get(s), s < changed ? 0.05 : 0.01, `lr at step ${s}`);
      const losses = exported.body.points.filter((x) => x.metric === 'loss/mse');
      assert.equal(losses.length, last);
      const stored = await api<{ name: string; status: string; tags: string[] }>(server, 'GET', `/api/v1/runs/${run}`);
      assert.deepEqual(
        [stored.body.name, stored.body.status, stored.body.tags],
        ['linear fit', 'finished', ['example']],
      );
    });
  });
}
