// `npm run bench -- outage [--seconds=N]`: a real trainer (wasm, tiny model) keeps training through a server outage of
// N seconds (default 60): the server is killed with SIGKILL, started again on a new port on the same database, and the
// user tells the trainer the new address by rewriting its --server-file. Reports steps trained during the outage, the
// run's status through it, the gap marker, and whether every step arrived. `test/reliability/outage.test.ts` runs the
// same scenario with a short outage.
import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { METRIC } from '../protocol/metric-names.js';
import { MODEL_METRICS } from '../trainer/models/bicyclegan.js';
import { ROOT, api, startServer, tempDir, type RunningServer } from '../harness/server.js';
import { SMALL_VALIDATION_ARGS, TINY_MODEL_ARGS } from '../harness/trainer.js';

export interface OutageResult {
  run: string;
  outageSeconds: number;
  /** Trainer steps when the server was killed, when the new server came up, and at the end. */
  stepAtKill: number;
  stepAtRestart: number;
  finalStep: number;
  /** Run statuses seen on the new server: before the trainer was told (disconnected), after, at the end. */
  statusBeforeMove: string;
  statusAfterMove: string;
  finalStatus: string;
  /** Seconds from rewriting the server file until the run was running again on the new server. */
  reconnectSeconds: number;
  /** Steps whose points carry a wall time inside the outage (trained while no server was reachable). */
  stepsDuringOutage: number;
  /** Every step metric has every step 1..finalStep exactly once. */
  noGap: boolean;
  missing: string[];
  gapMarker: { from: number; to: number; seconds: number } | null;
  killedAt: number;
  restartedAt: number;
  trainerExit: number | null;
  trainerLog: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  fn: () => Promise<T | null | false | undefined>,
  timeoutMs: number,
  log: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log()}`);
    await sleep(50);
  }
}

/** Writes the server file the way a user's editor or `mv` would: whole, in one rename. */
function writeServerFile(path: string, url: string): void {
  writeFileSync(`${path}.tmp`, `# where the ganwatch server is now\n${url}\n`);
  renameSync(`${path}.tmp`, path);
}

export async function outageScenario(outageSeconds: number): Promise<OutageResult> {
  const dir = tempDir('ganwatch-outage-');
  const serverFile = join(dir, 'server.url');
  const first = await startServer();
  writeServerFile(serverFile, first.url);
  let log = '';
  const trainer: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      '--conditions=ganwatch-source',
      join(ROOT, 'trainer/train.ts'),
      '--server',
      first.url,
      '--server-file',
      serverFile,
      '--backend',
      'wasm',
      '--name',
      'outage',
      ...TINY_MODEL_ARGS,
      '--epochs',
      '100000',
      '--steps-per-epoch',
      '8',
      '--val-every',
      '100000',
      ...SMALL_VALIDATION_ARGS,
      '--checkpoint-every',
      '0',
      '--checkpoint-dir',
      join(dir, 'ck'),
      '--spool',
      join(dir, 'spool'),
    ],
    {
      cwd: dir,
      env: { ...process.env, GANWATCH_TOKEN: '', GANWATCH_SERVER: '', GANWATCH_SERVER_FILE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  trainer.stdout!.on('data', (c: Buffer) => (log += c.toString()));
  trainer.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  const trainerLog = () => log;
  const exit = new Promise<number | null>((r) => trainer.once('exit', (code) => r(code)));
  let second: RunningServer | null = null;
  try {
    const run = await until(
      'the trainer to create its run',
      async () => (await api<{ runs: Array<{ id: string }> }>(first, 'GET', '/api/v1/runs')).body.runs[0]?.id,
      120_000,
      trainerLog,
    );
    const lastStep = async (s: RunningServer): Promise<number> =>
      (await api<{ last_step: number | null }>(s, 'GET', `/api/v1/runs/${run}`)).body.last_step ?? 0;
    const status = async (s: RunningServer): Promise<string> =>
      (await api<{ status: string }>(s, 'GET', `/api/v1/runs/${run}`)).body.status;
    await until('training to run', async () => (await lastStep(first)) >= 5, 120_000, trainerLog);

    const stepAtKill = await lastStep(first);
    await first.kill();
    const killedAt = Date.now() / 1000;
    await sleep(outageSeconds * 1000);

    second = await startServer({ dbPath: first.dbPath });
    const restartedAt = Date.now() / 1000;
    const srv = second;
    const stepAtRestart = await lastStep(srv);
    const statusBeforeMove = await status(srv);
    const moved = Date.now();
    writeServerFile(serverFile, srv.url);
    await until(
      'the run to be running again on the new server',
      async () => (await status(srv)) === 'running',
      60_000,
      trainerLog,
    );
    const reconnectSeconds = (Date.now() - moved) / 1000;
    // Let it train a little on the new server, then stop it from the API (it finishes and flushes).
    const resumedFrom = await lastStep(srv);
    await until('training to go on', async () => (await lastStep(srv)) >= resumedFrom + 3, 60_000, trainerLog);
    const statusAfterMove = await status(srv);
    await api(srv, 'POST', `/api/v1/runs/${run}/controls`, { action: 'stop', args: {} });
    const trainerExit = await Promise.race([
      exit,
      new Promise<number>((r) => setTimeout(() => r(-1), 120_000).unref()),
    ]);

    const rows = (
      await api<{ points: Array<{ metric: string; step: number; wall: number }> }>(
        srv,
        'GET',
        `/api/v1/runs/${run}/export?format=json`,
      )
    ).body.points;
    const finalStep = Math.max(...rows.map((r) => r.step));
    const missing: string[] = [];
    for (const metric of MODEL_METRICS) {
      const steps = new Set(rows.filter((r) => r.metric === metric).map((r) => r.step));
      const count = rows.filter((r) => r.metric === metric).length;
      for (let s = 1; s <= finalStep; s++) if (!steps.has(s)) missing.push(`${metric}@${s}`);
      if (count !== steps.size) missing.push(`${metric}: duplicates`);
    }
    const duringOutage = new Set(
      rows.filter((r) => r.metric === METRIC.lossD && r.wall > killedAt && r.wall < restartedAt).map((r) => r.step),
    );
    const markers = (
      await api<{ markers: Array<{ kind: string; evidence: { from: number; to: number; seconds: number } }> }>(
        srv,
        'GET',
        `/api/v1/runs/${run}/markers`,
      )
    ).body.markers;
    const gap = markers.find((m) => m.kind === 'gap');
    return {
      run,
      outageSeconds,
      stepAtKill,
      stepAtRestart,
      finalStep,
      statusBeforeMove,
      statusAfterMove,
      finalStatus: await status(srv),
      reconnectSeconds,
      stepsDuringOutage: duringOutage.size,
      noGap: missing.length === 0,
      missing: missing.slice(0, 20),
      gapMarker: gap ? { from: gap.evidence.from, to: gap.evidence.to, seconds: gap.evidence.seconds } : null,
      killedAt,
      restartedAt,
      trainerExit,
      trainerLog: log,
    };
  } finally {
    if (trainer.exitCode === null && trainer.signalCode === null) trainer.kill('SIGKILL');
    if (second) await second.stop();
    if (first.process.exitCode === null && first.process.signalCode === null) await first.stop();
  }
}

export async function run(args: string[] = []): Promise<void> {
  // `--seconds=N` (npm run bench takes bare words for benchmark names).
  const given = args.find((a) => a.startsWith('--seconds='));
  const seconds = given ? Number(given.split('=')[1]) : 60;
  const r = await outageScenario(seconds);
  const ok =
    r.noGap &&
    r.statusBeforeMove === 'disconnected' &&
    r.statusAfterMove === 'running' &&
    r.gapMarker !== null &&
    r.trainerExit === 0;
  console.log(
    `outage:                       ${r.outageSeconds} s with the server killed (SIGKILL), restarted on a new port, trainer told through --server-file`,
  );
  console.log(
    `trainer steps:                ${r.stepAtKill} at the kill, ${r.finalStep} at the end; ${r.stepsDuringOutage} steps trained during the outage`,
  );
  console.log(
    `run status on the new server: ${r.statusBeforeMove} → ${r.statusAfterMove} (${r.reconnectSeconds.toFixed(1)} s after the file changed) → ${r.finalStatus}`,
  );
  console.log(
    `gap marker:                   ${r.gapMarker ? `${r.gapMarker.seconds} s (from the last write before the kill to the reconnect)` : 'none'}`,
  );
  console.log(
    `every step 1..${r.finalStep} stored:    ${r.noGap ? 'yes, each exactly once' : `NO: missing ${r.missing.join(', ')}`}`,
  );
  console.log(`result:                       ${ok ? 'nothing lost' : 'FAILED'}`);
  if (!ok) {
    console.log(r.trainerLog.slice(-3000));
    process.exitCode = 1;
  }
}
