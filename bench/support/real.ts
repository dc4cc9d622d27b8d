// Shared machinery of the benchmarks that train for real (alerts-real, remedies): a ganwatch server of their own, a
// live socket recording every alert as it fires, trainers as child processes (`npm run train` itself, so what is
// measured is what a user runs), driven by what they print and by their exit, a bounded pool of them, and reads of
// the runs' series and alerts back from the server.
import { spawn } from 'node:child_process';
import { cpSync, createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import {
  MAX_DISTRIBUTIONS_PER_BATCH,
  METRIC,
  METRIC_PREFIX,
  type Alert,
  type Control,
  type ControlCommand,
  type Distribution,
  type Run,
} from '../../protocol/index.js';
import { api, ROOT, startServer, type RunningServer } from '../../harness/server.js';

/** One alert as it fired: the first firing transition of a (run, rule, key), with the step it fired at. */
export interface Fired {
  rule: string;
  key: string;
  severity: Alert['severity'];
  /** The step of the firing transition (the evaluation at which `for` was reached). */
  step: number;
  /** The step its pending phase began. */
  opened: number | null;
  message: string;
  action: ControlCommand | null;
  /** Resolved later in the run, and at which step. */
  resolvedAt: number | null;
}

type Frame = { type: string; run?: string | Run; alert?: Alert; control?: Control };

/** Records every alert frame of every run from the server's live socket, and the results of controls. */
export class AlertRecorder {
  private readonly byRun = new Map<string, Map<number, Fired>>();
  private readonly firingHooks: Array<(run: string, fired: Fired) => void> = [];
  private readonly controlWaiters = new Map<
    number,
    { run: string; resolve: (c: Control) => void; reject: (e: Error) => void }
  >();
  private readonly controlsDone = new Map<number, Control>();
  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.frame(JSON.parse(data.toString()) as Frame));
  }

  static async open(serverUrl: string): Promise<AlertRecorder> {
    const socket = new WebSocket(`${serverUrl.replace(/^http/, 'ws')}/api/v1/live`);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const rec = new AlertRecorder(socket);
    socket.send(JSON.stringify({ type: 'subscribe', runs: ['*'] }));
    return rec;
  }

  /** Calls `hook` at every first firing of an alert (any run). */
  onFiring(hook: (run: string, fired: Fired) => void): void {
    this.firingHooks.push(hook);
  }

  /** Resolves with the control once the trainer answered it (applied or failed). */
  /**
   * Resolves with the control once the trainer answered it (applied or failed); rejects if the run finishes (or its
   * trainer goes away) first, as a trainer that reached its last step never answers.
   */
  controlDone(id: number, run: string): Promise<Control> {
    const done = this.controlsDone.get(id);
    if (done) return Promise.resolve(done);
    return new Promise((resolve, reject) => this.controlWaiters.set(id, { run, resolve, reject }));
  }

  private frame(f: Frame): void {
    if (f.type === 'control' && f.control && (f.control.status === 'applied' || f.control.status === 'failed')) {
      this.controlsDone.set(f.control.id, f.control);
      this.controlWaiters.get(f.control.id)?.resolve(f.control);
      this.controlWaiters.delete(f.control.id);
      return;
    }
    if (f.type === 'run' && typeof f.run === 'object' && f.run.status !== 'running' && f.run.status !== 'paused') {
      const run = f.run;
      for (const [id, w] of this.controlWaiters) {
        if (w.run !== run.id) continue;
        this.controlWaiters.delete(id);
        w.reject(new Error(`the run is ${run.status} (at step ${run.last_step})`));
      }
      return;
    }
    if (f.type !== 'alert' || !f.alert) return;
    const a = f.alert;
    let run = this.byRun.get(a.run);
    if (!run) this.byRun.set(a.run, (run = new Map()));
    const seen = run.get(a.id);
    const step = typeof a.evidence.step === 'number' ? a.evidence.step : (a.step_opened ?? -1);
    if (!seen && a.state === 'firing') {
      const fired: Fired = {
        rule: a.rule,
        key: a.key,
        severity: a.severity,
        step,
        opened: a.step_opened,
        message: a.message,
        action: a.remedy?.action ?? null,
        resolvedAt: null,
      };
      run.set(a.id, fired);
      for (const hook of this.firingHooks) hook(a.run, fired);
    } else if (seen) {
      if (a.state === 'resolved') seen.resolvedAt = a.step_closed;
      seen.severity = a.severity; // escalation keeps the first firing step
    }
  }

  /** The alerts of a run in the order they fired. */
  alerts(runId: string): Fired[] {
    return [...(this.byRun.get(runId)?.values() ?? [])].sort((a, b) => a.step - b.step);
  }

  close(): void {
    this.socket.close();
  }
}

/** A server of the benchmark's own (a real server on an ephemeral port, a real SQLite file) and its alert recorder. */
export interface BenchServer {
  server: RunningServer;
  alerts: AlertRecorder;
  stop(): Promise<void>;
}

export async function startBenchServer(dir: string): Promise<BenchServer> {
  mkdirSync(dir, { recursive: true });
  // Trainers push every step of several runs at once: the default write rate limit is per client, not per run.
  const server = await startServer({ dbPath: join(dir, 'bench.db'), extraArgs: ['--rate-limit', '0'] });
  const alerts = await AlertRecorder.open(server.url);
  return {
    server,
    alerts,
    async stop() {
      alerts.close();
      await server.stop();
    },
  };
}

export interface TrainerRun {
  runId: string;
  code: number | null;
  seconds: number;
  log: string;
}

/**
 * Runs `npm run train -- ARGS` (tsx trainer/train.ts) against `serverUrl`, its output into `log`. Resolves when it
 * exits (the trainer flushes everything to the server and waits for the acks before exiting), with the run id it
 * printed.
 */
export function train(
  serverUrl: string,
  args: readonly string[],
  log: string,
  spool: string,
  onRunId?: (runId: string) => void,
): Promise<TrainerRun> {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      // The trainer imports the monitor client as the package ganwatch/client; this condition resolves it to its sources.
      '--conditions=ganwatch-source',
      join(ROOT, 'trainer/train.ts'),
      '--server',
      serverUrl,
      '--spool',
      spool,
      ...args,
    ],
    { cwd: ROOT, env: { ...process.env, GANWATCH_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const out = createWriteStream(log);
  let runId: string | null = null;
  let head = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out.write(chunk);
    if (runId === null) {
      head += chunk.toString();
      runId = /^run (\S+): http/m.exec(head)?.[1] ?? null;
      if (runId !== null) onRunId?.(runId);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => out.write(chunk));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      out.end();
      if (runId === null) {
        reject(new Error(`the trainer exited (code ${code}) without creating a run; see ${log}`));
        return;
      }
      resolve({ runId, code, seconds: (performance.now() - t0) / 1000, log });
    });
  });
}

/** Sends a control to a run's trainer and resolves with its answer. */
export async function control(bench: BenchServer, runId: string, command: ControlCommand): Promise<Control> {
  const res = await api<Control>(bench.server, 'POST', `/api/v1/runs/${runId}/controls`, command);
  if (res.status !== 201) throw new Error(`control ${command.action} on ${runId}: HTTP ${res.status}`);
  const done = await bench.alerts.controlDone(res.body.id, runId);
  if (done.status !== 'applied') throw new Error(`control ${command.action} on ${runId} failed: ${done.message}`);
  return done;
}

/**
 * Copies the running trainer's state to `dest` as it is now: pause, checkpoint, copy `checkpointDir/latest`,
 * resume. Paused, the trainer cannot overwrite latest/ before the copy. Resolves with the checkpoint's step.
 */
export async function snapshot(
  bench: BenchServer,
  runId: string,
  checkpointDir: string,
  dest: string,
): Promise<number> {
  try {
    await control(bench, runId, { action: 'pause', args: {} });
  } catch (err) {
    // The trainer ended first: its next start (a later phase resuming the run) gets the pause; let it resume at once.
    await api(bench.server, 'POST', `/api/v1/runs/${runId}/controls`, { action: 'resume', args: {} });
    throw err;
  }
  try {
    const saved = await control(bench, runId, { action: 'checkpoint', args: {} });
    rmSync(dest, { recursive: true, force: true });
    cpSync(join(checkpointDir, 'latest'), dest, { recursive: true });
    return saved.result_step ?? -1;
  } finally {
    await control(bench, runId, { action: 'resume', args: {} });
  }
}

/** Runs `jobs` with at most `concurrency` at a time; results in the jobs' order. */
export async function pool<T>(jobs: ReadonlyArray<() => Promise<T>>, concurrency: number): Promise<T[]> {
  const results = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return results;
}

/** Every stored point of one metric of a run, as [step, value] (NaN for non-finite values). */
export async function series(serverUrl: string, runId: string, metric: string): Promise<Array<[number, number]>> {
  const q = `metric=${encodeURIComponent(metric)}&buckets=10000`;
  const res = await api<{ mode: string; points?: Array<[number, number | string]> }>(
    { url: serverUrl },
    'GET',
    `/api/v1/runs/${runId}/series?${q}`,
  );
  if (res.status !== 200) throw new Error(`series ${metric} of ${runId}: HTTP ${res.status}`);
  return (res.body.points ?? []).map(([s, v]) => [s, typeof v === 'number' ? v : Number.NaN]);
}

/** Mean of the values of `points` whose step lies in [from, to]. */
export function meanIn(points: ReadonlyArray<[number, number]>, from: number, to: number): number {
  let s = 0;
  let n = 0;
  for (const [step, v] of points) {
    if (step >= from && step <= to && Number.isFinite(v)) {
      s += v;
      n++;
    }
  }
  return n > 0 ? s / n : Number.NaN;
}

/** The controls a checkpoint holds (lrs, λs, clipping), from its manifest. */
export interface CheckpointControls {
  step: number;
  lr: { G: number; E: number; D: number };
  lambdas: { adv: number; cyc: number; latent: number; kl: number };
  clip: number;
}

export function checkpointControls(dir: string): CheckpointControls {
  const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    model: {
      steps: number;
      baseLr: { G: number; E: number; D: number };
      lambdas: CheckpointControls['lambdas'];
      clipMaxNorm: number;
    };
  };
  return {
    step: m.model.steps,
    lr: { G: m.model.baseLr.G, E: m.model.baseLr.E, D: m.model.baseLr.D },
    lambdas: m.model.lambdas,
    clip: m.model.clipMaxNorm,
  };
}

const LR_FLAG = { G: '--lr-g', E: '--lr-e', D: '--lr-d', D2: '--lr-d' } as const;
const LAMBDA_FLAG = { adv: '--lambda-adv', cyc: '--lambda-cyc', latent: '--lambda-latent', kl: '--lambda-kl' } as const;

/**
 * The trainer flags that make a resumed run start with `action` applied to the checkpoint's controls: the same model
 * setters the control would call (BicycleGAN.setLr, setLambda, setClip), but from the first resumed step, so the two
 * arms of an A/B differ in nothing else. Run controls (pause, stop, ...) have no flag: null.
 */
export function actionFlags(action: ControlCommand, ck: CheckpointControls): string[] | null {
  const num = (x: number) => String(Number(x.toPrecision(6)));
  switch (action.action) {
    case 'set_lr':
      return [LR_FLAG[action.args.net], num(action.args.value)];
    case 'scale_lr': {
      const net = action.args.net === 'D2' ? 'D' : action.args.net;
      return [LR_FLAG[net], num(ck.lr[net] * action.args.factor)];
    }
    case 'set_lambda':
      return [LAMBDA_FLAG[action.args.name], num(action.args.value)];
    case 'scale_lambda':
      return [LAMBDA_FLAG[action.args.name], num(ck.lambdas[action.args.name] * action.args.factor)];
    case 'set_clip':
      return ['--clip', num(action.args.max_norm)];
    default:
      return null;
  }
}

/** The value of `--name=value` among a benchmark's arguments (bench/run.ts takes bare words for benchmark names). */
export function flag(args: readonly string[], name: string): string | null {
  const hit = args.find((a) => a.startsWith(`${name}=`));
  return hit === undefined ? null : hit.slice(name.length + 1);
}

/** Formats a table of strings with padded columns (markdown pipes, so it pastes into the README). */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

interface ExportedPoint {
  metric: string;
  step: number;
  value: number | string;
  wall: number;
}

/**
 * The points of an exported run as its trainer pushed them: per step, the training record, then (at the steps that
 * validated) the validation record (`val/*` and `perf/val_ms`), which the trainer pushes separately at the same step.
 */
export function pushedRecords(
  points: readonly ExportedPoint[],
): Array<{ step: number; wall: number; values: Record<string, number | string> }> {
  const byStep = new Map<
    number,
    { train: Record<string, number | string>; val: Record<string, number | string>; wall: number; valWall: number }
  >();
  for (const p of points) {
    let s = byStep.get(p.step);
    if (!s) byStep.set(p.step, (s = { train: {}, val: {}, wall: p.wall, valWall: p.wall }));
    const isVal = p.metric.startsWith(METRIC_PREFIX.val) || p.metric === METRIC.perfValMs;
    (isVal ? s.val : s.train)[p.metric] = p.value;
    if (isVal) s.valWall = Math.max(s.valWall, p.wall);
    else s.wall = Math.min(s.wall, p.wall);
  }
  const out: Array<{ step: number; wall: number; values: Record<string, number | string> }> = [];
  for (const step of [...byStep.keys()].sort((a, b) => a - b)) {
    const s = byStep.get(step)!;
    if (Object.keys(s.train).length) out.push({ step, wall: s.wall, values: s.train });
    if (Object.keys(s.val).length) out.push({ step, wall: s.valWall, values: s.val });
  }
  return out;
}

/** Opens a copy of an earlier benchmark's database (`fromDb`, with its WAL) in a server of its own, for reading. */
export async function openStored(fromDb: string, scratch: string): Promise<RunningServer> {
  mkdirSync(scratch, { recursive: true });
  const copy = join(scratch, 'replay-source.db');
  cpSync(fromDb, copy);
  for (const ext of ['-wal', '-shm']) {
    try {
      cpSync(fromDb + ext, copy + ext);
    } catch {
      // no WAL left: the source server checkpointed it on exit
    }
  }
  return startServer({ dbPath: copy });
}

interface StoredRun {
  id: string;
  name: string;
  config: Record<string, unknown>;
  tags: string[];
}

/**
 * Pushes a stored run's points (steps ≤ `maxStep`) into `bench`'s server as a new run, in the order its trainer pushed
 * them, so the server's detectors see the stream the real training produced. Resolves with the new run's id.
 */
async function replayRun(
  source: RunningServer,
  r: StoredRun,
  bench: BenchServer,
  name: string,
  alerts: Record<string, unknown> | null,
  maxStep = Infinity,
): Promise<string> {
  const res = await fetch(`${source.url}/api/v1/runs/${r.id}/export?format=json`);
  const exported = (await res.json()) as { points: ExportedPoint[]; distributions?: Distribution[] };
  const points = exported.points.filter((p) => p.step <= maxStep);
  const histograms = (exported.distributions ?? []).filter((d) => d.step <= maxStep).sort((a, b) => a.step - b.step);
  const created = await api<{ id: string }>(bench.server, 'POST', '/api/v1/runs', {
    name,
    config: r.config,
    tags: r.tags,
    ...(alerts ? { alerts } : {}),
  });
  if (created.status !== 201) throw new Error(`replay: creating ${name}: HTTP ${created.status}`);
  const records = pushedRecords(points);
  // Histograms follow the points of their steps, as the trainer sends them; so the chunks are short when a run has
  // any (a detector reading them must not see them hundreds of steps late).
  const chunk = histograms.length > 0 ? 50 : 2000;
  let sentHistograms = 0;
  for (let i = 0; i < records.length; i += chunk) {
    const part = records.slice(i, i + chunk);
    const sent = await api(bench.server, 'POST', `/api/v1/runs/${created.body.id}/points`, { points: part });
    if (sent.status !== 200) throw new Error(`replay: points of ${name}: HTTP ${sent.status}`);
    const upTo = i + chunk >= records.length ? Infinity : part[part.length - 1]!.step;
    let end = sentHistograms;
    while (end < histograms.length && histograms[end]!.step <= upTo) end++;
    for (let j = sentHistograms; j < end; j += MAX_DISTRIBUTIONS_PER_BATCH) {
      const distributions = histograms.slice(j, Math.min(end, j + MAX_DISTRIBUTIONS_PER_BATCH));
      const stored = await api(bench.server, 'POST', `/api/v1/runs/${created.body.id}/distributions`, {
        distributions,
      });
      if (stored.status !== 200) throw new Error(`replay: distributions of ${name}: HTTP ${stored.status}`);
    }
    sentHistograms = end;
  }
  return created.body.id;
}

export async function storedRuns(source: RunningServer): Promise<StoredRun[]> {
  return (await api<{ runs: StoredRun[] }>(source, 'GET', '/api/v1/runs')).body.runs.reverse();
}

/**
 * Replays every run stored in the database `fromDb` (an earlier benchmark's) into `bench`'s server, point records in
 * the order the trainer pushed them, so the server's detectors (as the code now defines them) see the same streams
 * the real training produced. Resolves with the new run id of each old run name.
 */
export async function replayRuns(
  fromDb: string,
  bench: BenchServer,
  scratch: string,
  alerts: Record<string, unknown> | null = null,
): Promise<Map<string, string>> {
  const source = await openStored(fromDb, scratch);
  const made = new Map<string, string>();
  try {
    for (const r of await storedRuns(source)) made.set(r.name, await replayRun(source, r, bench, r.name, alerts));
  } finally {
    await source.stop();
  }
  return made;
}

/**
 * Continues a stored run (`name` in `fromDb`, saved with its checkpoint in `checkpoint`) on `bench`'s server: its points
 * up to the checkpoint's step are replayed into a new run called `as`, and a copy of the checkpoint in `dest` is made to
 * continue that run, so a trainer resumed from `dest` trains on from the checkpoint's step with detectors that have
 * seen the whole prefix. Many configurations then share one trained prefix instead of each training it again.
 */
export async function continueStored(
  fromDb: string,
  name: string,
  checkpoint: string,
  bench: BenchServer,
  as: string,
  dest: string,
  scratch: string,
  alerts: Record<string, unknown> | null = null,
): Promise<{ runId: string; step: number }> {
  const step = checkpointControls(checkpoint).step;
  const source = await openStored(fromDb, scratch);
  let runId: string;
  try {
    const r = (await storedRuns(source)).find((x) => x.name === name);
    if (!r) throw new Error(`${fromDb} holds no run named ${name}`);
    runId = await replayRun(source, r, bench, as, alerts, step);
  } finally {
    await source.stop();
  }
  rmSync(dest, { recursive: true, force: true });
  cpSync(checkpoint, dest, { recursive: true });
  const file = join(dest, 'manifest.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as { extra: { trainer: { runId: string; spoolKey: string } } };
  m.extra.trainer.runId = runId;
  m.extra.trainer.spoolKey = runId;
  writeFileSync(file, JSON.stringify(m));
  return { runId, step };
}
