// `npm run bench -- alerts-real [--facades=DIR] [--quick] [--only=NAME,...] [--seeds=0,1,2] [--steps=N]
// [--jobs=2] [--out=DIR] [--replay=DIR] [--alerts=JSON]`: real BicycleGAN runs (the trainer as users run it, against a server of the benchmark's own) under a
// matrix of configurations, reporting for every rule whether and at which step it fired. Healthy configurations must
// fire no warn or critical alert (info is allowed); each induced failure must fire the rule it induces within the
// step budget. Prints the rule × configuration table and the precision/recall summary; keeps the database, the
// trainer logs and results.json in --out (default data/bench/alerts-real-TIME).
// --facades=DIR adds the real-data healthy configuration (pix2pix aligned facades, BtoA, 64 px, narrow widths);
// without it that row is skipped and said so. --quick: one seed per configuration. --replay=DIR: no training; the runs
// an earlier alerts-real stored in DIR are replayed into a new server, to measure changed detectors on them.
// An induced run stops once its rule fired, unless --keep-going (then it trains its whole budget).
// --alerts=JSON: alert settings for every run (as the trainer's --alerts), e.g. to try other thresholds; the
// measured table uses none.
// --tables=DIR,...: no training; one table over the results.json that earlier runs of this benchmark left in DIRs.
// --from=DIR [--after=N]: the 32 px configurations do not train the demo's healthy prefix again: the run `demo-sSEED`
// an earlier alerts-real stored in DIR is replayed (its points up to its last checkpoint, DIR/checkpoints/demo-sSEED/
// latest) and continued from that checkpoint, with each configuration's failure switched on from there, for N more
// steps (default 384). On a machine where a step takes seconds this is what makes the matrix affordable.
// --switch-at=N: the configurations that switch a failure on mid-run (cyc_off, kl_collapse, lr_spike, d_momentum;
// default at steps 1000, 1000, 1200, 2000) do so at step N, e.g. to take the remedies' snapshots sooner (with --alerts shortening the
// rules' warm-ups). Such a run also keeps the checkpoint it had just before the switch (snapshots/CONFIG-sSEED/before).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { GAN_RULE_NAMES, METRIC, type Run } from '../protocol/index.js';
import { DEMO_FLAGS } from '../scripts/demo-flags.js';
import { api, ROOT } from '../harness/server.js';
import {
  checkpointControls,
  continueStored,
  flag,
  meanIn,
  control,
  pool,
  replayRuns,
  series,
  snapshot as takeSnapshot,
  startBenchServer,
  table,
  train,
  type BenchServer,
  type Fired,
} from './support/real.js';

/** The rules the matrix measures (change_point makes markers, never alerts). */
export const RULES = GAN_RULE_NAMES.filter((r) => r !== 'change_point');

/** One phase of a run: train until `until` steps with these extra flags (a later phase resumes the same run). */
interface Phase {
  until: number;
  args: readonly string[];
}

export interface Config {
  name: string;
  /** The rule this configuration induces; null for a healthy run (no warn or critical alert expected). */
  induces: string | null;
  /**
   * Failures the configuration is known to have without inducing them, measured apart from the alerts (their rules
   * firing counts as a hit, not as a false alarm).
   */
  known: readonly string[];
  /** What is done to the training, in words. */
  what: string;
  /** The run's base flags (after the demo's, which every 32 px configuration starts from). */
  base: readonly string[];
  phases: readonly Phase[];
  seeds: readonly number[];
}

/**
 * The demo's own failure, which configurations starting from its defaults may have: random z reaching too few of the
 * 4 palettes. Whether a run has it is measured by its validations, not by the alert (`measuredKnown`): on the
 * palettes as drawn until 2026-12-05 every seed had it (val/mode_coverage 0.50–0.72 from epoch 9 on); on today's,
 * seed 0 holds 0.75 from step 704 on and seed 1 dips to 0.63–0.69.
 */
const DEMO_KNOWN: readonly string[] = ['mode_collapse'];

/** Below this mean mode coverage over a run's second half, random z miss modes (the alert's own floor). */
const COVERAGE_FLOOR = 0.75;

/**
 * The failures among a configuration's `known` that the run really has, from its validations: mode collapse when
 * val/mode_coverage averages below COVERAGE_FLOOR over the second half of the run (a run without that metric keeps
 * the configuration's word).
 */
async function measuredKnown(bench: BenchServer, runId: string, c: Config): Promise<string[]> {
  if (!c.known.includes('mode_collapse')) return [...c.known];
  const until = (await api<Run>(bench.server, 'GET', `/api/v1/runs/${runId}`)).body.last_step ?? 0;
  const coverage = await series(bench.server.url, runId, METRIC.valModeCoverage);
  const late = meanIn(coverage, until / 2, until);
  if (Number.isNaN(late) || late < COVERAGE_FLOOR) return [...c.known];
  return c.known.filter((k) => k !== 'mode_collapse');
}

/** Steps every 32 px configuration trains: the demo's first 36 epochs of 64 steps, its first ~10 minutes on 2 cores. */
export const BUDGET = 2304;

function configs(
  facades: string | null,
  seeds: readonly number[],
  budget: number,
  switchAt: { cyc: number; kl: number; lr: number; osc: number } = { cyc: 1000, kl: 1000, lr: 1200, osc: 2000 },
): Config[] {
  const demo = (
    name: string,
    induces: string | null,
    what: string,
    phases: readonly Phase[],
    s: readonly number[] = [seeds[0]!],
  ): Config => ({
    name,
    induces,
    known: DEMO_KNOWN,
    what,
    base: DEMO_FLAGS,
    phases,
    seeds: s,
  });
  const all: Config[] = [
    demo('demo', null, "the demo's defaults", [{ until: budget, args: [] }], seeds),
    demo('d_high_lr', 'd_overpowering', 'D lr 20× the default (2e-3)', [{ until: budget, args: ['--lr-d', '2e-3'] }]),
    // D lr ×20 alone does not make D win: with Adam its accuracies fall (0.6–0.8, measured from the demo's step 1555).
    // Nor does it against a trained G slowed ×0.01 (min accuracy ~0.9 after 800 steps, measured): D overpowers a G
    // that never learned, so from the first step G and E learn 100× slower and D 20× faster (the README's demo example).
    demo('d_wins', 'd_overpowering', 'from step 0: G and E lr ×0.01 (2e-6), D lr ×20 (2e-3)', [
      { until: budget, args: ['--lr-g', '2e-6', '--lr-e', '2e-6', '--lr-d', '2e-3'] },
    ]),
    demo('lr_spike', 'divergence', `every lr ×100 at step ${switchAt.lr} (G, E 2e-2; D 1e-2)`, [
      { until: Math.min(switchAt.lr, budget), args: [] },
      { until: budget, args: ['--lr-g', '2e-2', '--lr-e', '2e-2', '--lr-d', '1e-2'] },
    ]),
    demo('cyc_off', 'color_distortion', `λ_cyc 10 → 0.01 at step ${switchAt.cyc}`, [
      { until: Math.min(switchAt.cyc, budget), args: [] },
      { until: budget, args: ['--lambda-cyc', '0.01'] },
    ]),
    demo('kl_collapse', 'mode_collapse', `λ_kl 0.01 → 1 at step ${switchAt.kl} (the codes collapse onto the prior)`, [
      { until: Math.min(switchAt.kl, budget), args: [] },
      { until: budget, args: ['--lambda-kl', '1'] },
    ]),
    demo('g_frozen', 'training_stall', 'G and E lr 0 (the generator does not learn)', [
      { until: budget, args: ['--lr-g', '0', '--lr-e', '0'] },
    ]),
    // Switched on after the rule's baseline (steps 1000–2000): an oscillation there from step 0 would be its baseline.
    // Adam's β1 is fixed for a run (a resume keeps it), so it is 0.95 from step 0 and only D's lr rises at the switch:
    // this configuration does not continue the demo's prefix.
    {
      ...demo(
        'd_momentum',
        'gradient_oscillation',
        `Adam β1 0.95 from step 0; D lr 1e-3 (×10) from step ${switchAt.osc}`,
        [
          { until: Math.min(switchAt.osc, budget), args: [] },
          { until: budget, args: ['--lr-d', '1e-3'] },
        ],
      ),
      base: [...DEMO_FLAGS, '--beta1', '0.95'],
    },
    // The other periodic instability tried: both players' steps ×10 (a GAN's simultaneous gradient play cycles when
    // its steps are too large; ×100 diverges, lr_spike).
    demo('lr_x10', 'gradient_oscillation', `every lr ×10 from step ${switchAt.osc} (G, E 2e-3; D 1e-3)`, [
      { until: Math.min(switchAt.osc, budget), args: [] },
      { until: budget, args: ['--lr-g', '2e-3', '--lr-e', '2e-3', '--lr-d', '1e-3'] },
    ]),
  ];
  if (facades !== null) {
    all.splice(1, 0, {
      name: 'facades64',
      induces: null,
      known: [],
      what: 'facades (real photos), BtoA, 64 px, widths 16, batch 4',
      base: [
        '--dataset',
        facades,
        '--direction',
        'BtoA',
        '--size',
        '64',
        '--ngf',
        '16',
        '--nef',
        '16',
        '--ndf',
        '16',
        '--batch',
        '4',
        '--epochs',
        '10000',
        '--val-every',
        '20',
        '--checkpoint-every',
        '0',
      ],
      phases: [{ until: budget, args: [] }],
      seeds: [seeds[0]!],
    });
  }
  return all;
}

export interface Result {
  /** The failures the configuration has without inducing them (Config.known). */
  known: readonly string[];
  /** The step training started from: 0, or with --from the stored prefix's checkpoint step. */
  from: number;
  /** The step its last phase trains to. */
  until: number;
  config: string;
  induces: string | null;
  seed: number;
  runId: string;
  seconds: number;
  exit: Array<number | null>;
  /** An induced run stops once its rule fired (and was snapshotted), unless --keep-going: the step it fired at. */
  stoppedAt: number | null;
  alerts: Fired[];
  /**
   * Per rule, the trainer's checkpoint taken when the rule's first warn or critical alert of the run fired (missing:
   * it did not fire, or too close to the end of a phase): bench/remedies.ts forks its arms from these.
   */
  snapshots: Record<string, Snapshot>;
  /**
   * For a configuration that switches its failure on in a later phase: the checkpoint the run had just before (the
   * last one before the failure, which a `divergence` remedy restores) and the flags that switched it on.
   */
  before?: { step: number; dir: string; args: readonly string[] };
}

/** Where the checkpoint taken when a configuration's induced rule fired is kept (bench/remedies.ts starts there). */
export function snapshotDir(out: string, config: string, seed: number, rule: string): string {
  return join(out, 'snapshots', `${config}-s${seed}`, rule);
}

export interface Snapshot {
  step: number;
  dir: string;
  alert: Fired;
}

/** --from: a stored demo run continued from its last checkpoint, and the steps to train after it. */
interface Prefix {
  dir: string;
  after: number;
}

/**
 * With a stored prefix, a 32 px configuration continues the stored demo run of its seed from its last checkpoint as
 * the same run (replayed into this server), its failure's flags (those of its last phase) switched on from there.
 */
async function fromPrefix(
  bench: BenchServer,
  c: Config,
  seed: number,
  out: string,
  prefix: Prefix,
  alerts: string | null,
): Promise<{ phases: Phase[]; ck: string; from: number }> {
  const ck = join(out, 'checkpoints', `${c.name}-s${seed}`);
  const { step } = await continueStored(
    join(prefix.dir, 'bench.db'),
    `demo-s${seed}`,
    join(prefix.dir, 'checkpoints', `demo-s${seed}`, 'latest'),
    bench,
    `${c.name}-s${seed}`,
    join(ck, 'latest'),
    join(out, 'replay', `${c.name}-s${seed}`),
    alerts === null ? null : (JSON.parse(alerts) as Record<string, unknown>),
  );
  return { phases: [{ until: step + prefix.after, args: c.phases.at(-1)!.args }], ck, from: step };
}

async function runConfig(
  bench: BenchServer,
  c: Config,
  seed: number,
  out: string,
  alerts: string | null,
  keepGoing: boolean,
  prefix: Prefix | null,
): Promise<Result> {
  const tag = `${c.name}-s${seed}`;
  let ck = join(out, 'checkpoints', tag);
  const spool = join(out, 'spool');
  let runId = '';
  let seconds = 0;
  let phases = c.phases;
  let resumeFirst = false;
  let from = 0;
  if (prefix !== null && c.base === DEMO_FLAGS) {
    ({ phases, ck, from } = await fromPrefix(bench, c, seed, out, prefix, alerts));
    resumeFirst = true;
    console.log(`  ${tag}: continues the stored demo-s${seed} from step ${from}`);
  }
  const snapshots: Record<string, Snapshot> = {};
  // One snapshot at a time (pause, checkpoint, copy, resume), in the order the rules fired.
  let taking: Promise<void> = Promise.resolve();
  const exit: Array<number | null> = [];
  let stopped: number | null = null;
  let before: Result['before'];
  for (const [i, phase] of phases.entries()) {
    if (stopped !== null) break;
    if ((i > 0 || resumeFirst) && phase.args.length > 0 && existsSync(join(ck, 'latest', 'manifest.json'))) {
      // The last checkpoint before the failure is switched on, kept apart (later checkpoints replace latest/).
      const dir = join(out, 'snapshots', tag, 'before');
      rmSync(dir, { recursive: true, force: true });
      cpSync(join(ck, 'latest'), dir, { recursive: true });
      before = { step: checkpointControls(dir).step, dir, args: phase.args };
    }
    const common = ['--max-steps', String(phase.until), '--checkpoint-dir', ck, '--patience', '0', ...phase.args];
    const args =
      i === 0 && !resumeFirst
        ? [
            ...c.base,
            '--seed',
            String(seed),
            '--name',
            tag,
            '--tags',
            'alerts-real',
            ...(alerts === null ? [] : ['--alerts', alerts]),
            ...common,
          ]
        : ['--resume', ck, ...common];
    const onRunId = (id: string) => {
      runId = id;
      // When a rule first fires (warn or critical, and not about to end the phase), keep the trainer's state of
      // that moment for the remedies benchmark.
      bench.alerts.onFiring((run, fired) => {
        if (run !== id || fired.severity === 'info' || fired.rule in snapshots) return;
        if (fired.step >= phase.until - 4) return;
        const dest = snapshotDir(out, c.name, seed, fired.rule);
        snapshots[fired.rule] = { step: -1, dir: dest, alert: fired };
        const induced = fired.rule === c.induces;
        taking = taking
          .then(() => takeSnapshot(bench, id, ck, dest))
          .then(
            async (step) => {
              snapshots[fired.rule]!.step = step;
              // An induced failure has shown what it was run for: the rest of its budget is not needed.
              if (induced && !keepGoing) {
                stopped = fired.step;
                await control(bench, id, { action: 'stop', args: {} });
              }
            },
            (err: unknown) => {
              delete snapshots[fired.rule];
              console.log(`  ${tag}: no snapshot for ${fired.rule}: ${(err as Error).message}`);
            },
          );
      });
    };
    const r = await train(bench.server.url, args, join(out, 'logs', `${tag}.${i}.log`), spool, onRunId);
    // An exited trainer answers no more controls: a snapshot or stop still waiting for one is given up.
    await Promise.race([taking, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    seconds += r.seconds;
    exit.push(r.code);
    console.log(
      `  ${tag} phase ${i + 1}/${phases.length}: to step ${phase.until}, exit ${r.code}, ${r.seconds.toFixed(0)} s`,
    );
  }
  return {
    from,
    until: phases.at(-1)!.until,
    config: c.name,
    induces: c.induces,
    known: runId ? await measuredKnown(bench, runId, c) : c.known,
    seed,
    runId,
    seconds,
    exit,
    stoppedAt: stopped,
    alerts: bench.alerts.alerts(runId),
    snapshots,
    ...(before === undefined ? {} : { before }),
  };
}

/**
 * --replay=DIR: instead of training, replays the runs an earlier alerts-real stored (DIR/bench.db) into this
 * benchmark's server, so changed detectors are measured on the same real streams in minutes.
 */
async function replayConfigs(
  bench: BenchServer,
  from: string,
  work: ReadonlyArray<{ c: Config; seed: number }>,
  out: string,
  alerts: string | null,
): Promise<Result[]> {
  const runs = await replayRuns(
    join(from, 'bench.db'),
    bench,
    out,
    alerts === null ? null : (JSON.parse(alerts) as Record<string, unknown>),
  );
  const results: Result[] = [];
  for (const { c, seed } of work) {
    const runId = runs.get(`${c.name}-s${seed}`);
    if (runId === undefined) {
      console.log(`  ${c.name}-s${seed}: not in ${from}`);
      continue;
    }
    // The stored run's own length (it may have stopped before the budget).
    const until = (await api<Run>(bench.server, 'GET', `/api/v1/runs/${runId}`)).body.last_step ?? 0;
    results.push({
      from: 0,
      until,
      config: c.name,
      induces: c.induces,
      known: await measuredKnown(bench, runId, c),
      seed,
      runId,
      seconds: 0,
      exit: [],
      alerts: [],
      snapshots: {},
      stoppedAt: null,
    });
  }
  return results;
}

/**
 * For a replayed run: the run's own last checkpoint (kept in the replayed folder) stands for the snapshot of every
 * rule whose first warn or critical alert fired before it, so bench/remedies.ts can fork from it (the rule was firing
 * at that checkpoint's step).
 */
function storedSnapshots(from: string, r: Result): Record<string, Snapshot> {
  const dir = join(from, 'checkpoints', `${r.config}-s${r.seed}`, 'latest');
  if (!existsSync(join(dir, 'manifest.json'))) return {};
  const step = checkpointControls(dir).step;
  const snapshots: Record<string, Snapshot> = {};
  for (const a of r.alerts) {
    if (a.severity === 'info' || a.rule in snapshots || a.step > step || a.resolvedAt !== null) continue;
    snapshots[a.rule] = { step, dir, alert: a };
  }
  return snapshots;
}

const SEV = { info: 'i', warn: 'W', critical: 'C' } as const;

/** One table cell: the first firing step of each alert of `rule` (several keys: D/D2 ...), W = warn, C = critical, i = info. */
function cell(r: Result, rule: string): string {
  const fired = r.alerts.filter((a) => a.rule === rule);
  if (fired.length === 0) return '—';
  return fired
    .map(
      (a) =>
        `${SEV[a.severity]}${a.step}${a.key ? ` ${a.key.replace(/^grad_norm\//, '∇').replace(/^loss\//, '')}` : ''}`,
    )
    .join(', ');
}

function summarise(results: readonly Result[]): string {
  const lines: string[] = [];
  const header = ['configuration', 'seed', 'steps', ...RULES];
  const has = (r: Result, rule: string) => r.induces === rule || r.known.includes(rule);
  const fires = (r: Result, rule: string) => r.alerts.some((a) => a.rule === rule && a.severity !== 'info');
  const rows = results.map((r) => [
    `${r.config}${r.induces ? ` (→ ${r.induces})` : ''}${r.known.length ? ` (has ${r.known.join(', ')})` : ''}${r.induces === null && r.known.length === 0 ? ' (healthy)' : ''}`,
    String(r.seed),
    `${r.from > 0 ? `${r.from}→` : ''}${r.stoppedAt !== null ? `${r.stoppedAt} (stopped)` : String(r.until)}`,
    ...RULES.map((rule) => {
      const c = cell(r, rule);
      return has(r, rule) ? `**${c}**` : c;
    }),
  ]);
  lines.push(table(header, rows));
  lines.push(
    'cells: the step each alert fired at (W warn, C critical, i info; key after it); — none. Bold: a failure the run has ' +
      '(induced, or known).',
  );
  // Per rule: hits over the runs that have its failure (induced or known), false alarms over those that do not.
  const per: string[][] = [];
  for (const rule of RULES) {
    const present = results.filter((r) => has(r, rule));
    const tp = present.filter((r) => fires(r, rule)).length;
    const absent = results.filter((r) => !has(r, rule));
    const fa = absent.filter((r) => fires(r, rule));
    per.push([
      rule,
      present.length ? `${tp}/${present.length}` : 'not present',
      `${fa.length}/${absent.length}${fa.length ? ` (${fa.map((r) => r.config).join(', ')})` : ''}`,
      tp + fa.length ? (tp / (tp + fa.length)).toFixed(2) : 'n/a',
      present.length ? (tp / present.length).toFixed(2) : 'n/a',
    ]);
  }
  lines.push(
    table(
      [
        'rule',
        'warn/critical where the failure is (induced or known)',
        'warn/critical where it is not',
        'precision',
        'recall',
      ],
      per,
    ),
  );
  return lines.join('\n\n');
}

/** Trains the matrix and prints its tables; the results (with the snapshots taken when induced rules fired). */
export async function runAlertsReal(args: readonly string[]): Promise<Result[]> {
  const quick = args.includes('--quick');
  const facadesArg = flag(args, '--facades');
  const facades = facadesArg === null ? null : resolve(facadesArg);
  const seeds = (flag(args, '--seeds') ?? (quick ? '0' : '0,1,2')).split(',').map(Number);
  const budget = Number(flag(args, '--steps') ?? BUDGET);
  const jobs = Number(flag(args, '--jobs') ?? 2);
  const only = flag(args, '--only')?.split(',') ?? null;
  const replay = flag(args, '--replay');
  const alertSettings = flag(args, '--alerts');
  const fromArg = flag(args, '--from');
  const prefix: Prefix | null =
    fromArg === null ? null : { dir: resolve(fromArg), after: Number(flag(args, '--after') ?? 384) };
  const out = resolve(flag(args, '--out') ?? join(ROOT, 'data', 'bench', `alerts-real-${Date.now()}`));
  mkdirSync(join(out, 'logs'), { recursive: true });

  const at = (name: string, fallback: number) => Number(flag(args, name) ?? fallback);
  const switchAt = {
    cyc: at('--switch-at', 1000),
    kl: at('--switch-at', 1000),
    lr: at('--switch-at', 1200),
    osc: at('--switch-at', 2000),
  };
  let list = configs(facades, seeds, budget, switchAt);
  const tables = flag(args, '--tables');
  if (tables !== null) {
    // No training: one table over the results.json of earlier runs of this benchmark (e.g. a replay and a --from run).
    const known = new Map(list.map((c) => [c.name, c.known]));
    const all = tables
      .split(',')
      .flatMap((dir) =>
        (JSON.parse(readFileSync(join(resolve(dir), 'results.json'), 'utf8')) as { results: Result[] }).results.map(
          (r) => ({ ...r, known: r.known ?? known.get(r.config) ?? [] }),
        ),
      );
    console.log(summarise(all));
    return all;
  }
  // Every configuration on every seed (bench/remedies.ts forks each induced failure of each seed).
  if (args.includes('--all-seeds')) list = list.map((c) => ({ ...c, seeds }));
  if (only) list = list.filter((c) => only.includes(c.name));
  if (facades === null && (only === null || only.includes('facades64')))
    console.log('facades64: skipped (give the facades folder with --facades=DIR)');
  const work = list.flatMap((c) => c.seeds.map((seed) => ({ c, seed })));
  console.log(
    `${work.length} runs of ${budget} steps, ${jobs} at a time; output in ${out}\n` +
      list
        .map(
          (c) => `  ${c.name}: ${c.what}${c.induces ? ` (→ ${c.induces})` : ' (healthy)'}; seeds ${c.seeds.join(',')}`,
        )
        .join('\n'),
  );

  const bench = await startBenchServer(out);
  const t0 = performance.now();
  let results: Result[];
  try {
    results =
      replay === null
        ? await pool(
            work.map(
              ({ c, seed }) =>
                () =>
                  runConfig(bench, c, seed, out, alertSettings, args.includes('--keep-going'), prefix),
            ),
            jobs,
          )
        : await replayConfigs(bench, resolve(replay), work, out, alertSettings);
    await new Promise((r) => setTimeout(r, 500)); // the last alert frames of the last run
    results = results.map((r) => ({ ...r, alerts: bench.alerts.alerts(r.runId) }));
    if (replay !== null) results = results.map((r) => ({ ...r, snapshots: storedSnapshots(resolve(replay), r) }));
  } finally {
    await bench.stop();
  }
  writeFileSync(join(out, 'results.json'), JSON.stringify({ budget, results }, null, 2));
  console.log(`\n${work.length} runs in ${((performance.now() - t0) / 60000).toFixed(1)} min\n`);
  console.log(summarise(results));
  for (const r of results) {
    for (const a of r.alerts) {
      console.log(
        `  ${r.config} s${r.seed} ${a.rule}${a.key ? `/${a.key}` : ''} ${a.severity} @${a.step}${a.resolvedAt !== null ? ` (resolved @${a.resolvedAt})` : ''}: ${a.message}`,
      );
    }
  }
  return results;
}

export async function run(args: string[] = []): Promise<void> {
  await runAlertsReal(args);
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
