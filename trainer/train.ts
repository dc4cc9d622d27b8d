// `npm run train -- [flags]`: trains BicycleGAN on the chosen backend and dataset and streams everything to a
// ganwatch server (or the spool with --offline). A user error prints one line `train: CODE: message` and exits 2;
// Ctrl-C stops at the next step boundary (checkpoint, status finished, flush); a second Ctrl-C exits at once.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { gwError, isGanwatchError, type GanwatchError } from '../protocol/errors.js';
import { METRIC } from '../protocol/metric-names.js';
import type { BackendInfo } from './backend.js';
import { loadCheckpoint, readCheckpointInfo, MANIFEST_FILE } from './checkpoint.js';
import type { PairDataset } from './data/index.js';
import type { LoopResult, LoopState } from './loop.js';
import type { BicycleGAN, NetName, LambdaName } from './models/bicyclegan.js';
import type { Run } from 'ganwatch/client';
import {
  FIXED_ON_RESUME,
  flagOf,
  modelOptions,
  parseTrainerArgs,
  recordedOptions,
  type TrainerOptions,
} from './options.js';
import { Progress, formatSummary } from './progress.js';

/** tfjs, sharp and the monitor client load only once the flags are known good, so --help and flag errors are quick. */
async function loadTrainingModules() {
  const [backend, data, loop, model, monitor, validate, random] = await Promise.all([
    import('./backend.js'),
    import('./data/index.js'),
    import('./loop.js'),
    import('./models/bicyclegan.js'),
    import('ganwatch/client'),
    import('./validate.js'),
    import('./rng.js'),
  ]);
  return {
    initBackend: backend.initBackend,
    openDataset: data.openDataset,
    stepsPerEpoch: loop.stepsPerEpoch,
    TrainingLoop: loop.TrainingLoop,
    validationSeed: loop.validationSeed,
    BicycleGAN: model.BicycleGAN,
    connect: monitor.connect,
    fetchRemoteRun: monitor.fetchRemoteRun,
    parseServers: monitor.parseServers,
    Validator: validate.Validator,
    standardMetrics: validate.standardMetrics,
    loadFid: validate.loadFid,
    isFidUnavailable: validate.isFidUnavailable,
    FidMetric: validate.FidMetric,
    FID_COUNT: validate.FID_COUNT,
    hashSeed: random.hashSeed,
  };
}

/** The folder holding a checkpoint: DIR itself when it has a manifest, else DIR/latest. */
export function resolveResumeDir(dir: string): string {
  if (existsSync(path.join(dir, MANIFEST_FILE))) return dir;
  const latest = path.join(dir, 'latest');
  if (existsSync(path.join(latest, MANIFEST_FILE))) return latest;
  throw gwError('GW_ERR_CHECKPOINT', dir, `no ${MANIFEST_FILE} here nor in ${latest} (no checkpoint was saved here)`);
}

/**
 * A resumed run keeps the options it was started with; flags given now override them, except those that decide
 * the data or the architecture, which must match.
 */
export function mergeResumeOptions(
  saved: Record<string, unknown>,
  now: TrainerOptions,
  explicit: Set<keyof TrainerOptions>,
): TrainerOptions {
  const merged = { ...now } as Record<string, unknown>;
  for (const [key, value] of Object.entries(saved)) {
    if (!(key in now) || key === 'token' || key === 'resume') continue;
    const k = key as keyof TrainerOptions;
    if (explicit.has(k)) {
      if (FIXED_ON_RESUME.includes(k) && JSON.stringify(value) !== JSON.stringify(now[k])) {
        throw gwError(
          'GW_ERR_OPTION',
          `${flagOf(k)} ${JSON.stringify(now[k])} differs from the checkpoint's ${JSON.stringify(value)}; a resumed run keeps its data and architecture`,
        );
      }
      continue;
    }
    merged[k] = value;
  }
  return merged as unknown as TrainerOptions;
}

/**
 * A fork is a new run: it names itself after the run it branches from and keeps its checkpoints apart (the saved
 * run's folder would otherwise be overwritten by every branch), unless the flags say otherwise.
 */
export function forkOptions(o: TrainerOptions, explicit: Set<keyof TrainerOptions>, step: number): TrainerOptions {
  return {
    ...o,
    checkpointDir: explicit.has('checkpointDir') ? o.checkpointDir : null,
    name: explicit.has('name') ? o.name : `${o.name ?? 'run'} (fork at step ${step})`,
  };
}

/** Model controls given explicitly on a resume replace those the checkpoint restored. */
function applyExplicitControls(
  model: BicycleGAN,
  o: TrainerOptions,
  explicit: Set<keyof TrainerOptions>,
  log: (s: string) => void,
): void {
  const lrs: [keyof TrainerOptions, NetName][] = [
    ['lrG', 'G'],
    ['lrE', 'E'],
    ['lrD', 'D'],
  ]; // setLr('D') sets D2 too
  for (const [key, net] of lrs) {
    if (!explicit.has(key)) continue;
    const lr = o[key] as number;
    model.setLr(net, lr);
    log(`resume: ${flagOf(key)} ${lr} replaces the checkpoint's`);
  }
  const lambdas: [keyof TrainerOptions, LambdaName][] = [
    ['lambdaAdv', 'adv'],
    ['lambdaCyc', 'cyc'],
    ['lambdaLatent', 'latent'],
    ['lambdaKl', 'kl'],
  ];
  for (const [key, name] of lambdas) {
    if (!explicit.has(key)) continue;
    const lambda = o[key] as number;
    model.setLambda(name, lambda);
    log(`resume: ${flagOf(key)} ${lambda} replaces the checkpoint's`);
  }
  if (explicit.has('clip')) {
    model.setClip(o.clip);
    log(`resume: --clip ${o.clip} replaces the checkpoint's`);
  }
}

function defaultName(o: TrainerOptions, dataset: PairDataset): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  const when = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return `${dataset.name} ${o.size}px ${when}`;
}

function describeBackend(info: BackendInfo): string[] {
  const lines = [`backend: ${info.name} on ${info.device}`];
  for (const f of info.fallbacks) lines.push(`  skipped ${f}`);
  if (info.name === 'wasm' || info.name === 'cpu') {
    lines.push(
      '  (no GPU backend: small models train best here, e.g. --size 32 --ngf 16 --nef 16 --ndf 16 as `npm run demo` uses)',
    );
  }
  return lines;
}

type TrainingModules = Awaited<ReturnType<typeof loadTrainingModules>>;

/** What --resume found: the checkpoint folder and the trainer state saved with it. */
interface Resume {
  dir: string;
  state: LoopState;
}

/** Runs the trainer with `argv` (flags only); resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseTrainerArgs(argv);
  if (parsed === null) return 0;
  const { explicit } = parsed;
  const { options, resume } = await readResume(parsed.options, explicit);
  const out = (s: string) => console.log(s);

  const m = await loadTrainingModules();
  const backend = await m.initBackend(options.backend);
  for (const line of describeBackend(backend)) out(line);
  const { dataset, perEpoch } = await openTrainingData(m, options, out);

  const model = new m.BicycleGAN(modelOptions(options));
  const progress = new Progress();
  let monitor: Run | null = null;
  let loop: InstanceType<TrainingModules['TrainingLoop']> | null = null;
  try {
    if (resume) {
      await loadCheckpoint(resume.dir, model);
      applyExplicitControls(model, options, explicit, out);
    }
    const counts = model.paramCounts();
    out(`model: BicycleGAN ${options.size}px, parameters G ${counts.G}, E ${counts.E}, D ${counts.D}, D2 ${counts.D2}`);
    const recorded = recordedOptions(options);
    const config = runConfig(recorded, model, dataset, perEpoch, options, resume);
    monitor = await connectMonitor(m, options, { config, dataset, backend, resume, progress });
    const runId = monitor.id;
    const checkpointDir = options.checkpointDir ?? path.join('checkpoints', runId ?? monitor.spoolKey);
    announceRun(monitor, options, resume, out);

    const validator = await createValidator(m, options, dataset, progress, out);
    loop = new m.TrainingLoop({
      options,
      model,
      dataset,
      monitor,
      validator,
      progress,
      checkpointDir,
      runId,
      spoolKey: monitor.spoolKey,
      recordedOptions: recorded,
      ...(resume ? { resume: resume.state } : {}),
    });
    stopOnSignals(loop, progress, options.spool);

    const result: LoopResult = await loop.run();
    const finished = loop.monitor ?? monitor; // a rollback moved training to a child run
    monitor = null;
    await finishRun(finished, result, options);
    return 0;
  } catch (err) {
    const current = loop?.monitor ?? monitor;
    if (monitor && current) await reportFailure(current);
    throw err;
  } finally {
    model.dispose();
  }
}

/** --resume: reads the checkpoint's trainer state and merges its options with the flags given now. */
async function readResume(
  given: TrainerOptions,
  explicit: Set<keyof TrainerOptions>,
): Promise<{ options: TrainerOptions; resume: Resume | null }> {
  if (given.resume === null) return { options: given, resume: null };
  const dir = resolveResumeDir(given.resume);
  const info = await readCheckpointInfo(dir);
  const state = info.extra.trainer as LoopState | undefined;
  if (!state || typeof state !== 'object' || !Array.isArray(state.rngState)) {
    throw gwError('GW_ERR_CHECKPOINT', dir, 'it holds no trainer state (was it saved by `npm run train`?)');
  }
  let options = mergeResumeOptions(state.options, given, explicit);
  if (options.fork) options = forkOptions(options, explicit, state.step);
  return { options, resume: { dir, state } };
}

/** Opens the dataset and checks that one batch fits in its training split. */
async function openTrainingData(
  m: TrainingModules,
  options: TrainerOptions,
  out: (s: string) => void,
): Promise<{ dataset: PairDataset; perEpoch: number }> {
  const dataset = await m.openDataset(options.dataset, {
    size: options.size,
    direction: options.direction,
    classes: options.classes,
    seed: options.seed,
  });
  const perEpoch = m.stepsPerEpoch(dataset.trainLength, options.batch, options.stepsPerEpoch);
  if (perEpoch < 1) {
    throw gwError(
      'GW_ERR_OPTION',
      `--batch ${options.batch} is larger than the training split of ${options.dataset} (${dataset.trainLength} items)`,
    );
  }
  out(
    `dataset: ${dataset.name}, ${dataset.trainLength} train / ${dataset.valLength} val pairs at ${dataset.size}px; ${perEpoch} steps per epoch`,
  );
  return { dataset, perEpoch };
}

/** The config a new run records: the options, the model, the data, and the run it forks from if any. */
function runConfig(
  recorded: Record<string, unknown>,
  model: BicycleGAN,
  dataset: PairDataset,
  perEpoch: number,
  options: TrainerOptions,
  resume: Resume | null,
): Record<string, unknown> {
  return {
    ...recorded,
    model: model.config(),
    data: dataset.describe(),
    params: model.paramCounts(),
    stepsPerEpoch: perEpoch,
    ...(options.fork && resume
      ? { forked_from: { run: resume.state.runId ?? resume.state.spoolKey, step: resume.state.step } }
      : {}),
  };
}

/** Creates the run on the server (or the spool), or reattaches to the resumed one. */
async function connectMonitor(
  m: TrainingModules,
  options: TrainerOptions,
  run: {
    config: Record<string, unknown>;
    dataset: PairDataset;
    backend: BackendInfo;
    resume: Resume | null;
    progress: Progress;
  },
): Promise<Run> {
  const { resume, progress } = run;
  const resumeRun = resume && !options.fork ? (resume.state.runId ?? resume.state.spoolKey ?? undefined) : undefined;
  const parent = options.fork && resume ? await forkParent(m, options, resume) : null;
  const serverFile = options.serverFile;
  // A server file, when it names a server, wins over --server: it is where the user says the server is now.
  return m.connect({
    server: options.server,
    ...(options.token ? { token: options.token } : {}),
    spool: options.spool,
    offline: options.offline,
    waitMs: options.waitServer * 1000,
    ...(serverFile !== null
      ? {
          serverFile,
          onServerChange: (servers: readonly string[]) =>
            progress.log(
              `monitor: server is now ${servers.join(', ')} (from ${serverFile}); unacknowledged data is resent there`,
            ),
        }
      : {}),
    ...(resumeRun
      ? { resume: resumeRun }
      : {
          name: options.name ?? defaultName(options, run.dataset),
          config: run.config,
          tags: options.tags,
          ...(options.alerts ? { alerts: options.alerts } : {}),
          backend: run.backend.name,
          device: run.backend.device.slice(0, 200),
          ...(parent ? { parent } : {}),
        }),
    onError: (err: GanwatchError) => progress.log(`monitor: ${err.code}: ${err.message}`),
  });
}

/**
 * A --fork records its lineage (parent_id, fork_step) when the checkpoint's run is on the server it trains to; a
 * checkpoint from elsewhere (another store, an offline run) forks without one, as its config's forked_from still says.
 */
async function forkParent(
  m: TrainingModules,
  options: TrainerOptions,
  resume: Resume,
): Promise<{ id: string; step: number } | null> {
  const id = resume.state.runId;
  if (options.offline || !id || options.serverFile !== null) return null;
  try {
    const server = m.parseServers(options.server)[0];
    if (!server) return null;
    await m.fetchRemoteRun(server, options.token ?? undefined, id);
    return { id, step: resume.state.step };
  } catch {
    return null;
  }
}

function announceRun(monitor: Run, options: TrainerOptions, resume: Resume | null, out: (s: string) => void): void {
  if (monitor.url !== null) out(`run ${monitor.id}: ${monitor.url}`);
  else out(`run ${monitor.spoolKey} (offline): recorded in ${path.join(options.spool, monitor.spoolKey)}`);
  if (resume) {
    const s = resume.state;
    out(
      `${options.fork ? 'forking' : 'resuming'} from ${resume.dir} at step ${s.step} (epoch ${s.epoch}, batch ${s.batchInEpoch})`,
    );
  }
}

/** The validation metrics (FID when a feature model is available) and the validator computing them. */
async function createValidator(
  m: TrainingModules,
  options: TrainerOptions,
  dataset: PairDataset,
  progress: Progress,
  out: (s: string) => void,
) {
  const metrics = m.standardMetrics(options.nz, m.validationSeed(options.seed));
  const fid = await m.loadFid(options.fidModel);
  if (m.isFidUnavailable(fid)) {
    if (options.earlyStopMetric === METRIC.valFid && options.patience > 0) {
      throw gwError('GW_ERR_OPTION', `--early-stop-metric val/fid, but there is no FID: ${fid.unavailable}`);
    }
    out(`val/fid: not computed: ${fid.unavailable}`);
  } else {
    const n = Math.min(m.FID_COUNT, dataset.valLength);
    metrics.push(new m.FidMetric(fid, n, options.nz, m.hashSeed(options.seed, 0xf1d)));
    out(`val/fid: ${fid.source} (${fid.featureDim} features), ${n} generated vs ${n} real validation images`);
  }
  return m.Validator.create(
    dataset,
    options.nz,
    {
      valCount: options.valCount,
      valZ: options.valZ,
      latentCount: options.latentCount,
      seed: m.validationSeed(options.seed),
    },
    metrics,
    (problem) => progress.log(`validation: ${problem}`),
  );
}

/** The first SIGINT/SIGTERM stops at the next step boundary; a second one exits at once. */
function stopOnSignals(loop: InstanceType<TrainingModules['TrainingLoop']>, progress: Progress, spool: string): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      progress.log(`${signal} again: exiting now (what was not sent stays in ${spool})`);
      process.exit(130);
    }
    progress.log(
      `${signal}: stopping after this step (checkpoint, then status finished); press Ctrl-C again to exit at once`,
    );
    loop.requestStop('interrupted', `interrupted by ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** Flushes the monitor and prints the summary, saying where any unsent data waits. */
async function finishRun(finished: Run, result: LoopResult, options: TrainerOptions): Promise<void> {
  // A server that is gone will not ack: do not keep the user waiting for it (the spool keeps everything).
  const settled = await finished.finish({ timeoutMs: finished.stats().connected ? 15_000 : 2_000 });
  const stats = finished.stats();
  let spoolNote: string | null = null;
  if (options.offline) {
    spoolNote = `offline: upload with  npm run sync -- --spool ${options.spool} --server URL`;
  } else if (!settled) {
    spoolNote = `not all data reached the server (${stats.unackedBatches} batches, ${stats.pendingUploads} uploads): they stay in ${options.spool}; send them with  npm run sync -- --spool ${options.spool} --server ${stats.server}`;
  }
  const es = result.earlyStop;
  console.log(
    formatSummary({
      steps: result.step,
      stepsThisRun: result.stepsThisRun,
      epochs: result.epochs,
      elapsedMs: result.elapsedMs,
      reason:
        result.reason === 'completed'
          ? 'finished'
          : `${result.reason === 'early-stop' ? 'stopped early' : 'stopped'}: ${result.message}`,
      best:
        es.best !== null
          ? { metric: es.metric, value: es.best, epoch: es.bestEpoch ?? 0, step: es.bestStep ?? 0 }
          : null,
      checkpointDir: result.latestCheckpoint ? path.dirname(result.latestCheckpoint) : null,
      bestCheckpoint: result.bestCheckpoint,
      dashboardUrl: finished.url,
      spoolNote,
    }),
  );
}

/** Tells the server the run failed; whatever is unsent stays in the spool. */
async function reportFailure(monitor: Run): Promise<void> {
  try {
    await monitor.fail({ timeoutMs: 5_000 });
  } catch {
    // The original error matters more.
  }
}

function reportFatal(err: unknown): number {
  if (isGanwatchError(err)) {
    const hint = err.code === 'GW_ERR_SERVER' ? ' (start a server with `npm start`, or train with --offline)' : '';
    console.error(`train: ${err.code}: ${err.message}${hint}`);
    return err.status >= 100 ? 2 : err.status;
  }
  console.error('train: unexpected error (a bug; please report it with this trace):');
  console.error(err);
  return 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => process.exit(reportFatal(err)),
  );
}
