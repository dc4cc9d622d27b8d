// The trainer's command line: every flag of `npm run train`, its default, its environment variable, and the checks
// that turn a bad value into one GW_ERR_OPTION line (exit code 2). Values are parsed as strings and checked here,
// not by commander, so every message has the same shape and names the flag.
import { Command, CommanderError, Option } from 'commander';
import Value from 'typebox/value';
import { AlertConfig } from '../protocol/alerts.js';
import { gwError, type GanwatchError } from '../protocol/errors.js';
import { METRIC } from '../protocol/metric-names.js';
import { DEFAULT_OPTIONS as MODEL, type BicycleGANOptions } from './models/bicyclegan-options.js';
import type { BackendName } from './backend.js';
import type { Direction } from './data/index.js';

export const EARLY_STOP_METRICS = [METRIC.valL1, METRIC.valSsim, METRIC.valDiversity, METRIC.valFid] as const;
export type EarlyStopMetric = (typeof EARLY_STOP_METRICS)[number];
export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const SIZES = [32, 64, 128, 256] as const;
/** --diag-every's default: measured to cost ≤ 2% of the step time (README, Benchmarks: `npm run bench -- diagnostics`). */
export const DEFAULT_DIAG_EVERY = 10;

/** The model's settings that are flags of their own, under the model's names. */
type ModelFlags = Pick<
  BicycleGANOptions,
  | 'ngf'
  | 'nef'
  | 'ndf'
  | 'nz'
  | 'whereAdd'
  | 'ganMode'
  | 'lambdaAdv'
  | 'lambdaCyc'
  | 'lambdaLatent'
  | 'lambdaKl'
  | 'lrG'
  | 'lrE'
  | 'lrD'
  | 'beta1'
  | 'beta2'
  | 'epsilon'
>;

/** Every resolved option of a training run (what the run's config records, minus the token). */
export interface TrainerOptions extends ModelFlags {
  /** The server URL, or several separated by commas (servers sharing one store, in failover order). */
  server: string;
  /** A file holding the server URL, followed while training (null: none). */
  serverFile: string | null;
  token: string | null;
  name: string | null;
  tags: string[];
  /** Alert settings sent with the new run (rule overrides, auto_apply), as the server's AlertConfig; null: server defaults. */
  alerts: AlertConfig | null;
  dataset: string;
  direction: Direction;
  classes: number;
  epochs: number;
  size: number;
  batch: number;
  seed: number;
  niter: number;
  niterDecay: number;
  clip: number;
  dropout: boolean;
  pushEvery: number;
  /** Every k steps the step's diagnostics (per-layer norms, D's verdicts, E's μ and log σ²) are pushed; 0: never. */
  diagEvery: number;
  valEvery: number;
  valCount: number;
  valZ: number;
  latentCount: number;
  patience: number;
  earlyStopMetric: EarlyStopMetric;
  /** null: `checkpoints/<run id>`. */
  checkpointDir: string | null;
  checkpointEvery: number;
  resume: string | null;
  /** With resume: continue the checkpoint's training as a new run (an A/B branch), leaving its own run untouched. */
  fork: boolean;
  offline: boolean;
  spool: string;
  /** 0: every full batch of the training split. */
  stepsPerEpoch: number;
  backend: BackendName | 'auto';
  fidModel: string | null;
  /** 0: no limit. */
  maxSteps: number;
  /** Seconds to wait for the server to answer at start (0: fail at once). */
  waitServer: number;
}

export interface ParsedArgs {
  options: TrainerOptions;
  /** Options the user set on the command line or through the environment (the rest are defaults). */
  explicit: Set<keyof TrainerOptions>;
}

type Raw = Record<string, string | boolean | string[] | undefined>;

/** The default server URL: GANWATCH_SERVER, else the local server on GANWATCH_PORT, else port 8080. */
export function defaultServer(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GANWATCH_SERVER) return env.GANWATCH_SERVER;
  if (env.GANWATCH_PORT) return `http://127.0.0.1:${env.GANWATCH_PORT}`;
  return 'http://127.0.0.1:8080';
}

function opt(flags: string, description: string, defaultValue?: string): Option {
  const o = new Option(flags, description);
  return defaultValue === undefined ? o : o.default(defaultValue);
}

/** The run: its server, identity, alert settings and data. */
function runFlags(env: NodeJS.ProcessEnv): Option[] {
  return [
    opt(
      '--server <url>',
      'ganwatch server, or several comma-separated (failover between servers sharing one store) (env GANWATCH_SERVER; or http://127.0.0.1:$GANWATCH_PORT)',
      defaultServer(env),
    ),
    new Option(
      '--server-file <path>',
      'file holding the server URL; when it changes (or on SIGHUP) the trainer moves to that server',
    ).env('GANWATCH_SERVER_FILE'),
    new Option('--token <token>', 'write token of the server').env('GANWATCH_TOKEN'),
    opt('--name <name>', 'run name (default: dataset, size and time)'),
    opt('--tags <list>', 'comma-separated run tags', ''),
    new Option(
      '--alerts <json>',
      'alert settings for the new run, e.g. \'{"auto_apply":true,"rules":{"training_stall":{"enabled":false}}}\'',
    ),
    opt(
      '--dataset <synthetic|path>',
      "'synthetic' (made in code) or a folder in the pix2pix aligned format (train/, val/)",
      'synthetic',
    ),
    opt('--direction <AtoB|BtoA>', 'aligned data: which half is the input', 'AtoB'),
    opt('--classes <k>', 'synthetic data: number of palettes (classes), 2-8', '4'),
    opt('--epochs <n>', 'epochs to train', '200'),
  ];
}

/** The model: architecture, losses, optimizers and their schedule. */
function modelFlags(): Option[] {
  return [
    opt('--size <px>', 'image side: 32, 64, 128 or 256', String(MODEL.size)),
    opt('--batch <n>', 'batch size (even: it splits in halves for the two branches)', '16'),
    opt('--seed <n>', 'seed of weights, noise, data order and the synthetic shapes', String(MODEL.seed)),
    opt('--ngf <n>', 'generator base width', String(MODEL.ngf)),
    opt('--nef <n>', 'encoder base width', String(MODEL.nef)),
    opt('--ndf <n>', 'discriminator base width', String(MODEL.ndf)),
    opt('--nz <n>', 'latent code size', String(MODEL.nz)),
    opt('--where-add <all|input>', 'inject z into every down-conv of G, or the input only', MODEL.whereAdd),
    opt(
      '--gan-mode <vanilla|lsgan>',
      'GAN loss: log loss (the seed) or least squares (the official code)',
      MODEL.ganMode,
    ),
    opt('--lambda-adv <x>', 'weight of the adversarial losses', String(MODEL.lambdaAdv)),
    opt('--lambda-cyc <x>', 'weight of the image L1 (Cyc_error)', String(MODEL.lambdaCyc)),
    opt('--lambda-latent <x>', 'weight of the latent regression |z - E(G(A,z))|', String(MODEL.lambdaLatent)),
    opt('--lambda-kl <x>', 'weight of the KL term', String(MODEL.lambdaKl)),
    opt('--lr-g <x>', 'generator learning rate', String(MODEL.lrG)),
    opt('--lr-e <x>', 'encoder learning rate', String(MODEL.lrE)),
    opt('--lr-d <x>', 'discriminators learning rate', String(MODEL.lrD)),
    opt('--beta1 <x>', 'Adam beta1', String(MODEL.beta1)),
    opt('--beta2 <x>', 'Adam beta2', String(MODEL.beta2)),
    opt('--epsilon <x>', 'Adam epsilon', String(MODEL.epsilon)),
    opt('--niter <n>', 'epochs at the initial learning rates before the linear decay', String(MODEL.niter)),
    opt('--niter-decay <n>', 'epochs of linear learning-rate decay to 0 (0: no decay)', String(MODEL.niterDecay)),
    opt('--clip <maxnorm>', 'clip each gradient to this global norm (0: off)', String(MODEL.clipMaxNorm)),
    new Option('--no-dropout', 'no dropout in the generator'),
  ];
}

/** The loop: pushing, validation, early stopping, checkpoints, spool, backend and limits. */
function loopFlags(): Option[] {
  return [
    opt('--push-every <k>', 'push metrics every k steps', '1'),
    opt(
      '--diag-every <k>',
      "every k steps push diagnostics: per-layer weight and gradient norms of G, E, D, D2, histograms of D's and D2's outputs on real and fake per scale and of E's mu and log-variance (0: off)",
      String(DEFAULT_DIAG_EVERY),
    ),
    opt('--val-every <n>', 'validate every n epochs (and at the end)', '5'),
    opt('--val-count <n>', 'fixed validation inputs in the sample grid', '8'),
    opt('--val-z <k>', 'random z per validation input (grid columns and diversity)', '4'),
    opt('--latent-count <n>', 'validation targets whose codes are pushed for t-SNE', '256'),
    opt('--patience <p>', 'early stopping: validation checks without improvement (0: off)', '20'),
    opt('--early-stop-metric <name>', `${EARLY_STOP_METRICS.join(', ')}`, METRIC.valL1),
    opt('--checkpoint-dir <dir>', 'checkpoint folder (holds latest/ and best/; default checkpoints/RUN_ID)'),
    opt('--checkpoint-every <n>', 'save latest/ every n epochs (0: only at the end)', '5'),
    opt(
      '--resume <dir>',
      'continue the run saved in this checkpoint folder (its latest/ or best/, or a folder holding manifest.json)',
    ),
    new Option(
      '--fork',
      'with --resume: continue from the checkpoint as a new run (e.g. to try a remedy against the same start), leaving the saved run as it is',
    ),
    new Option('--offline', 'no server: record into the spool for a later `npm run sync`'),
    opt('--spool <dir>', 'monitor spool folder (unacknowledged data survives crashes here)', '.spool'),
    opt('--steps-per-epoch <n>', 'cap on steps per epoch (0: the whole training split)', '0'),
    opt('--backend <name>', `${BACKEND_CHOICES.join(', ')}`, 'auto'),
    opt('--fid-model <path|url>', 'Inception-style feature model for val/fid (none: no FID)'),
    opt('--max-steps <n>', 'stop after n steps in total (0: no limit)', '0'),
    opt('--wait-server <s>', 'wait up to s seconds for the server to answer at start (0: fail at once)', '0'),
  ];
}

/** The `npm run train` program (commander), without parsing. */
export function buildProgram(env: NodeJS.ProcessEnv = process.env): Command {
  const program = new Command('npm run train --')
    .description(
      'Train BicycleGAN (multimodal image-to-image translation) and stream its metrics, samples and latent codes to a ganwatch server.',
    )
    .helpOption('-h, --help', 'show this help');
  for (const option of [...runFlags(env), ...modelFlags(), ...loopFlags()]) program.addOption(option);
  program
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  return program;
}

/** Flag name of an option key, for messages: lrD → --lr-d. */
export function flagOf(key: string): string {
  if (key === 'dropout') return '--no-dropout';
  if (key === 'clip') return '--clip';
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** One schema error of --alerts in words, e.g. "rules/d_overpowering/params/accEnter must be number". */
function describeSettingsError(e: { instancePath: string; keyword: string; message: string }): string {
  const where = e.instancePath.replace(/^\//, '') || 'the settings';
  // TypeBox reports a field the schema does not allow as the `false` schema.
  return e.keyword === 'boolean' ? `${where} is not a known setting` : `${where} ${e.message}`;
}

function bad(flag: string, must: string, got: unknown): GanwatchError {
  return gwError('GW_ERR_OPTION', `${flag} ${must}, got '${String(got)}'`);
}

/** --server: one URL or a comma-separated list, each an http(s) URL; normalized without trailing slashes. */
function serverList(text: string): string {
  const urls = text
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) throw bad('--server', 'must be an http:// or https:// URL', text);
  for (const url of urls) {
    if (!/^https?:\/\/[^\s/,]+/.test(url)) {
      const what =
        urls.length > 1
          ? `must hold http:// or https:// URLs separated by commas; '${url}' is not one`
          : 'must be an http:// or https:// URL';
      throw bad('--server', what, text);
    }
  }
  return urls.map((u) => u.replace(/\/+$/, '')).join(',');
}

function int(raw: Raw, key: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const s = String(raw[key]);
  const n = Number(s);
  if (s.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
    throw bad(flagOf(key), `must be ${range}`, s);
  }
  return n;
}

function num(raw: Raw, key: string, check: (n: number) => boolean, must: string): number {
  const s = String(raw[key]);
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || !check(n)) throw bad(flagOf(key), `must be ${must}`, s);
  return n;
}

function choice<T extends string>(raw: Raw, key: string, choices: readonly T[]): T {
  const s = String(raw[key]);
  if (!(choices as readonly string[]).includes(s)) throw bad(flagOf(key), `must be one of ${choices.join(', ')}`, s);
  return s as T;
}

function str(raw: Raw, key: string): string | null {
  const v = raw[key];
  if (v === undefined) return null;
  const s = String(v);
  if (s.trim() === '') throw bad(flagOf(key), 'must not be empty', s);
  return s;
}

/** Turns a commander failure (unknown flag, missing value) into GW_ERR_OPTION. */
function fromCommander(err: CommanderError): GanwatchError {
  const text = err.message.replace(/^error:\s*/, '').split('\n')[0] ?? err.message;
  return gwError('GW_ERR_OPTION', `${text} (see --help)`);
}

/**
 * Parses the trainer's arguments (without node and the script). Returns null when --help was shown.
 * Throws GW_ERR_OPTION naming the flag for any bad value.
 */
export function parseTrainerArgs(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
  out: (s: string) => void = (s) => process.stdout.write(s),
): ParsedArgs | null {
  const program = buildProgram(env);
  program.configureOutput({ writeOut: out, writeErr: () => undefined });
  if (!runCommander(program, argv)) return null;
  const raw = program.opts<Raw>();
  const explicit = explicitKeys(program, raw, env);
  const tags = parseTags(raw);
  const server = serverList(String(raw.server));
  const alerts = parseAlerts(raw);
  const name = parseName(raw);
  const options: TrainerOptions = {
    ...runValues(raw, { server, name, tags, alerts }),
    ...modelValues(raw),
    ...loopValues(raw),
  };
  checkCombinations(options);
  return { options, explicit };
}

/** Runs commander on argv; false when it only showed help (or the version). */
function runCommander(program: Command, argv: readonly string[]): boolean {
  try {
    program.parse([...argv], { from: 'user' });
    return true;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version')
        return false;
      throw fromCommander(err);
    }
    throw err;
  }
}

/** The options the user set (flag or environment), which a resumed run keeps over its checkpoint's. */
function explicitKeys(program: Command, raw: Raw, env: NodeJS.ProcessEnv): Set<keyof TrainerOptions> {
  const explicit = new Set<keyof TrainerOptions>();
  for (const key of Object.keys(raw)) {
    const source = program.getOptionValueSource(key);
    if (source === 'cli' || source === 'env') explicit.add(key as keyof TrainerOptions);
  }
  if (env.GANWATCH_SERVER || env.GANWATCH_PORT) explicit.add('server');
  return explicit;
}

function parseTags(raw: Raw): string[] {
  const tags = String(raw.tags ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  if (tags.some((t) => t.length > 64)) throw bad('--tags', 'must hold tags of at most 64 characters', raw.tags);
  return tags;
}

/** --alerts: a JSON object of alert settings, or null when not given. */
function parseAlerts(raw: Raw): AlertConfig | null {
  const alertsText = str(raw, 'alerts');
  if (alertsText === null) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(alertsText);
  } catch (err) {
    throw bad('--alerts', `must be JSON (${(err as Error).message})`, alertsText);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw bad('--alerts', 'must be a JSON object', alertsText);
  // The shape is checked here, before any training (an offline run would otherwise carry malformed settings to its
  // sync); rule and parameter names are the server's to know: it refuses unknown ones when the run is created.
  if (!Value.Check(AlertConfig, parsed)) {
    const problem = Value.Errors(AlertConfig, parsed)[0];
    throw bad(
      '--alerts',
      `must be alert settings: ${problem ? describeSettingsError(problem) : 'invalid'}`,
      alertsText,
    );
  }
  return parsed;
}

function parseName(raw: Raw): string | null {
  const name = str(raw, 'name');
  if (name !== null && name.length > 200)
    throw bad('--name', 'must be at most 200 characters', `${name.slice(0, 20)}…`);
  return name;
}

/** The run's server, identity and data (the options before the model's). */
function runValues(
  raw: Raw,
  parsed: { server: string; name: string | null; tags: string[]; alerts: AlertConfig | null },
): Pick<
  TrainerOptions,
  'server' | 'serverFile' | 'token' | 'name' | 'tags' | 'alerts' | 'dataset' | 'direction' | 'classes' | 'epochs'
> {
  return {
    server: parsed.server,
    serverFile: str(raw, 'serverFile'),
    token: typeof raw.token === 'string' && raw.token !== '' ? raw.token : null,
    name: parsed.name,
    tags: [...new Set(parsed.tags)],
    alerts: parsed.alerts,
    dataset: str(raw, 'dataset') ?? 'synthetic',
    direction: choice(raw, 'direction', ['AtoB', 'BtoA'] as const),
    classes: int(raw, 'classes', 2, 8),
    epochs: int(raw, 'epochs', 1),
  };
}

/** The model's architecture, losses and optimizers. */
function modelValues(raw: Raw) {
  return {
    size: Number(choice(raw, 'size', SIZES.map(String))),
    batch: int(raw, 'batch', 2, 4096),
    seed: int(raw, 'seed', 0, 0xffffffff),
    ngf: int(raw, 'ngf', 1, 4096),
    nef: int(raw, 'nef', 1, 4096),
    ndf: int(raw, 'ndf', 2, 4096),
    nz: int(raw, 'nz', 1, 1024),
    whereAdd: choice(raw, 'whereAdd', ['all', 'input'] as const),
    ganMode: choice(raw, 'ganMode', ['vanilla', 'lsgan'] as const),
    lambdaAdv: num(raw, 'lambdaAdv', (n) => n >= 0, 'a number >= 0'),
    lambdaCyc: num(raw, 'lambdaCyc', (n) => n >= 0, 'a number >= 0'),
    lambdaLatent: num(raw, 'lambdaLatent', (n) => n >= 0, 'a number >= 0'),
    lambdaKl: num(raw, 'lambdaKl', (n) => n >= 0, 'a number >= 0'),
    lrG: num(raw, 'lrG', (n) => n >= 0, 'a number >= 0'),
    lrE: num(raw, 'lrE', (n) => n >= 0, 'a number >= 0'),
    lrD: num(raw, 'lrD', (n) => n >= 0, 'a number >= 0'),
    beta1: num(raw, 'beta1', (n) => n >= 0 && n < 1, 'in [0, 1)'),
    beta2: num(raw, 'beta2', (n) => n >= 0 && n < 1, 'in [0, 1)'),
    epsilon: num(raw, 'epsilon', (n) => n > 0, 'a number > 0'),
    niter: int(raw, 'niter', 0),
    niterDecay: int(raw, 'niterDecay', 0),
    clip: num(raw, 'clip', (n) => n >= 0, 'a number >= 0 (0: off)'),
    dropout: raw.dropout !== false,
  } satisfies Partial<TrainerOptions>;
}

/** Pushing, validation, early stopping, checkpoints, the spool and the backend. */
function loopValues(raw: Raw) {
  return {
    pushEvery: int(raw, 'pushEvery', 1),
    diagEvery: int(raw, 'diagEvery', 0),
    valEvery: int(raw, 'valEvery', 1),
    valCount: int(raw, 'valCount', 1, 64),
    valZ: int(raw, 'valZ', 1, 16),
    latentCount: int(raw, 'latentCount', 0, 5000),
    patience: int(raw, 'patience', 0),
    earlyStopMetric: choice(raw, 'earlyStopMetric', EARLY_STOP_METRICS),
    checkpointDir: str(raw, 'checkpointDir'),
    checkpointEvery: int(raw, 'checkpointEvery', 0),
    resume: str(raw, 'resume'),
    fork: raw.fork === true,
    offline: raw.offline === true,
    spool: str(raw, 'spool') ?? '.spool',
    stepsPerEpoch: int(raw, 'stepsPerEpoch', 0),
    backend: choice(raw, 'backend', BACKEND_CHOICES),
    fidModel: str(raw, 'fidModel'),
    maxSteps: int(raw, 'maxSteps', 0),
    waitServer: num(raw, 'waitServer', (n) => n >= 0 && n <= 3600, 'a number of seconds from 0 to 3600'),
  } satisfies Partial<TrainerOptions>;
}

/** Checks between flags, once each is valid on its own. */
function checkCombinations(options: TrainerOptions): void {
  if (options.fork && options.resume === null)
    throw gwError('GW_ERR_OPTION', '--fork needs --resume DIR (the checkpoint to branch from)');
  if (options.batch % 2 !== 0)
    throw bad('--batch', 'must be even (the batch splits in halves for the two branches)', options.batch);
  if (options.earlyStopMetric === METRIC.valFid && options.fidModel === null && options.patience > 0) {
    throw gwError('GW_ERR_OPTION', '--early-stop-metric val/fid needs --fid-model (no FID is computed without one)');
  }
  if (options.earlyStopMetric === METRIC.valDiversity && options.valZ < 2 && options.patience > 0) {
    throw gwError(
      'GW_ERR_OPTION',
      '--early-stop-metric val/diversity needs --val-z 2 or more (diversity compares outputs of different z)',
    );
  }
}

/** The model's options from the trainer's. */
export function modelOptions(o: TrainerOptions): Partial<BicycleGANOptions> {
  return {
    size: o.size,
    nz: o.nz,
    ngf: o.ngf,
    nef: o.nef,
    ndf: o.ndf,
    whereAdd: o.whereAdd,
    ganMode: o.ganMode,
    lambdaAdv: o.lambdaAdv,
    lambdaCyc: o.lambdaCyc,
    lambdaLatent: o.lambdaLatent,
    lambdaKl: o.lambdaKl,
    lrG: o.lrG,
    lrE: o.lrE,
    lrD: o.lrD,
    beta1: o.beta1,
    beta2: o.beta2,
    epsilon: o.epsilon,
    clipMaxNorm: o.clip,
    useDropout: o.dropout,
    niter: o.niter,
    niterDecay: o.niterDecay,
    seed: o.seed,
  };
}

/** What the run's config records: every option except the token. */
export function recordedOptions(o: TrainerOptions): Record<string, unknown> {
  const { token: _token, ...rest } = o;
  return { ...rest, token: o.token === null ? null : '(set)' };
}

/** Options that decide the data or the architecture: a resumed run keeps them from its checkpoint. */
export const FIXED_ON_RESUME: readonly (keyof TrainerOptions)[] = [
  'dataset',
  'direction',
  'classes',
  'size',
  'batch',
  'seed',
  'ngf',
  'nef',
  'ndf',
  'nz',
  'whereAdd',
  'ganMode',
  'dropout',
  'beta1',
  'beta2',
  'epsilon',
  'niter',
  'niterDecay',
  'stepsPerEpoch',
  'valCount',
  'valZ',
  'latentCount',
  'earlyStopMetric',
  'offline',
];
