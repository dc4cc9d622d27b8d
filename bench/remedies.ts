// `npm run bench -- remedies [--from=DIR] [--only=CASE,...] [--seeds=0,1,2] [--steps=N] [--jobs=2] [--out=DIR]
// [--facades=DIR]`: does each alert's remedy fix what its rule detects? For every rule, the configuration that induces
// its failure (bench/alerts-real.ts) trains until the rule fires; the trainer's state at that moment is checkpointed,
// and from that one checkpoint, with the same seed, arms continue for N steps as new runs (`npm run train -- --resume
// CK --fork`): one without any change, one with the remedy the alert offered (its action turned into the trainer flag
// that sets the same value from the first step), and alternatives where the seed's remedy is in doubt. The metric the
// rule targets is read back from the server and compared against the arm without a remedy.
// --from=DIR starts from the checkpoints an `alerts-real` run already took (its --out folder) instead of training the
// failures again. --quick: one seed and N = 320. --arms=0,1,3: only these arms of each case (by their place in the
// case's list; 0 is always the arm without a remedy), where a step costs seconds.
// --checkpoint=DIR: the selected cases fork from this trainer checkpoint instead (no failure is trained first; the
// alert's arm applies the rule's own remedy). --baseline=DB:RUN: the arm without a remedy is not trained but read from
// the run RUN stored in the database DB, which must be the run that checkpoint was saved from, continued unchanged (the
// benchmark checks that every arm's first loss/L1 after the fork equals the stored run's: same weights, same batch).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DISCRIMINATOR_METRICS, METRIC, type ControlCommand, type DiscriminatorKey } from '../protocol/index.js';
import { ROOT, type RunningServer } from '../harness/server.js';
import {
  actionFlags,
  checkpointControls,
  flag,
  meanIn,
  openStored,
  pool,
  series,
  startBenchServer,
  storedRuns,
  table,
  train,
  type BenchServer,
} from './support/real.js';
import { runAlertsReal, type Result as AlertsResult } from './alerts-real.js';

type Series = Array<[number, number]>;
/** Reads a metric of the arm's run over its window (first step after the fork .. last). */
type Read = (metric: string) => Promise<Series>;

interface Target {
  label: string;
  better: 'higher' | 'lower';
  /** The value of an arm, from its series, over steps [from, to]. */
  value(read: Read, from: number, to: number): Promise<number>;
}

interface Arm {
  name: string;
  /** 'alert': the action of the alert that fired; null: no change (the control arm). */
  action: ControlCommand | 'alert' | null;
}

interface Case {
  rule: string;
  /** The action the rule's alert offers (the arm 'alert' applies it when the fork is not a firing's snapshot). */
  remedy: ControlCommand | null;
  /** The alerts-real configuration that induces it. */
  config: string;
  arms: readonly Arm[];
  targets: readonly Target[];
  /** Steps each arm trains after the fork. */
  steps: number;
  /**
   * 'before': fork from the last checkpoint before the configuration switched its failure on (its snapshot at firing
   * is unusable, e.g. NaN weights), with the failure's flags in every arm and the arms' changes applied on top.
   */
  fork?: 'before';
}

/** Mean of a metric over the second half of the window (after the remedy had time to act). */
const lateMean = (metric: string, label: string, better: Target['better']): Target => ({
  label,
  better,
  value: async (read, from, to) => meanIn(await read(metric), from + Math.floor((to - from) / 2), to),
});

/** Mean over the second half of min(real, fake) accuracy of discriminator `d`: 1 = it tells every patch apart. */
const dAccuracy = (d: DiscriminatorKey): Target => ({
  label: `min(${DISCRIMINATOR_METRICS[d].realAcc}, ${DISCRIMINATOR_METRICS[d].fakeAcc})`,
  better: 'lower',
  value: async (read, from, to) => {
    const real = new Map(await read(DISCRIMINATOR_METRICS[d].realAcc));
    const pairs: Series = (await read(DISCRIMINATOR_METRICS[d].fakeAcc)).map(([s, v]) => [
      s,
      Math.min(v, real.get(s) ?? Number.NaN),
    ]);
    return meanIn(pairs, from + Math.floor((to - from) / 2), to);
  },
});

/** Median of a metric over the second half of the window (gradient norms are heavy-tailed). */
const lateMedian = (metric: string, label: string, better: Target['better']): Target => ({
  label,
  better,
  value: async (read, from, to) => {
    const half = from + Math.floor((to - from) / 2);
    const v = (await read(metric))
      .filter(([s, x]) => s >= half && s <= to && Number.isFinite(x))
      .map(([, x]) => x)
      .sort((a, b) => a - b);
    return v.length ? (v[Math.floor(v.length / 2)] as number) : Number.NaN;
  },
});

/** Steps the arm trained before its first non-finite loss/L1 (the whole window when none). */
const finiteSteps: Target = {
  label: 'steps before the first NaN',
  better: 'higher',
  value: async (read, from, to) => {
    const bad = (await read(METRIC.lossL1)).find(([s, v]) => s >= from && s <= to && !Number.isFinite(v));
    return bad === undefined ? to - from + 1 : bad[0] - from;
  },
};

const NONE: Arm = { name: 'no remedy', action: null };
const SEED: Arm = { name: "the alert's remedy", action: 'alert' };

function cases(steps: number): Case[] {
  return [
    {
      // The demo's own failure: its default run fires mode_collapse (coverage below 0.75) by step ~1100.
      rule: 'mode_collapse',
      remedy: { action: 'scale_lambda', args: { name: 'latent', factor: 2 } },
      config: 'demo',
      arms: [
        NONE,
        SEED,
        // Candidates where λ_latent does not help: reconstruction pressure on E and G (λ_cyc), a faster encoder, and
        // codes pulled toward the prior the random z are drawn from (λ_kl).
        { name: 'λ_cyc ×2', action: { action: 'scale_lambda', args: { name: 'cyc', factor: 2 } } },
        { name: 'lr E ×5', action: { action: 'scale_lr', args: { net: 'E', factor: 5 } } },
        { name: 'λ_kl ×10', action: { action: 'scale_lambda', args: { name: 'kl', factor: 10 } } },
        { name: 'λ_latent ×4', action: { action: 'scale_lambda', args: { name: 'latent', factor: 4 } } },
      ],
      targets: [
        lateMean(METRIC.valModeCoverage, METRIC.valModeCoverage, 'higher'),
        lateMean(METRIC.valSsim, METRIC.valSsim, 'higher'),
        lateMean(METRIC.lossKl, METRIC.lossKl, 'lower'),
      ],
      steps,
    },
    {
      rule: 'd_overpowering',
      remedy: { action: 'scale_lr', args: { net: 'D', factor: 0.5 } },
      // D lr ×20 alone does not make D win (alerts-real): the configuration where the rule fires is d_wins.
      config: 'd_wins',
      arms: [
        NONE,
        SEED,
        { name: 'lr D ×0.1', action: { action: 'scale_lr', args: { net: 'D', factor: 0.1 } } },
        { name: 'lr G and E ×100', action: null },
        { name: 'lr G ×10', action: { action: 'scale_lr', args: { net: 'G', factor: 10 } } },
      ],
      targets: [dAccuracy('D'), dAccuracy('D2'), lateMedian(METRIC.gradNormG, '‖∇G‖ (median)', 'higher')],
      steps,
    },
    {
      rule: 'color_distortion',
      remedy: { action: 'scale_lambda', args: { name: 'cyc', factor: 1.5 } },
      config: 'cyc_off',
      arms: [
        NONE,
        SEED,
        { name: 'λ_cyc = 10 (the default)', action: { action: 'set_lambda', args: { name: 'cyc', value: 10 } } },
      ],
      targets: [lateMean(METRIC.lossL1, METRIC.lossL1, 'lower'), lateMean(METRIC.valSsim, METRIC.valSsim, 'higher')],
      steps,
    },
    {
      rule: 'divergence',
      remedy: null,
      config: 'lr_spike',
      fork: 'before',
      arms: [
        NONE,
        { name: 'every lr ×0.5', action: null },
        { name: 'every lr ×0.5 and clipping', action: null },
        { name: 'every lr ×0.25 and clipping', action: null },
        { name: 'every lr ×0.1', action: null },
      ],
      targets: [
        finiteSteps,
        lateMean(METRIC.lossL1, METRIC.lossL1, 'lower'),
        lateMedian(METRIC.gradNormG, '‖∇G‖ (median)', 'lower'),
      ],
      steps,
    },
    {
      rule: 'training_stall',
      remedy: null,
      config: 'g_frozen',
      arms: [NONE, SEED, { name: 'lr G and E ×10', action: null }],
      targets: [lateMean(METRIC.lossL1, METRIC.lossL1, 'lower'), lateMean(METRIC.lossZL1, METRIC.lossZL1, 'lower')],
      steps,
    },
    {
      rule: 'gradient_oscillation',
      remedy: { action: 'scale_lr', args: { net: 'D', factor: 0.5 } },
      config: 'd_momentum',
      arms: [NONE, SEED],
      targets: [lateMedian(METRIC.gradNormD, '‖∇D‖ (median)', 'lower'), dAccuracy('D')],
      steps,
    },
  ];
}

interface ArmResult {
  arm: string;
  flags: string[];
  runId: string;
  values: number[];
}

interface CaseResult {
  rule: string;
  config: string;
  seed: number;
  forkStep: number;
  alert: string;
  arms: ArmResult[];
}

/**
 * Flags of an arm from the checkpoint's controls (null when the arm's remedy has no trainer flag). `failure`: the
 * flags that switch the failure on, in force in every arm (a fork from before the failure); the arm's change is applied
 * to the controls they set.
 */
function armFlags(
  arm: Arm,
  alertAction: ControlCommand | null,
  ck: string,
  failure: readonly string[] = [],
): string[] | null {
  const controls = checkpointControls(ck);
  const given = (name: string) => {
    const i = failure.indexOf(name);
    return i >= 0 ? Number(failure[i + 1]) : null;
  };
  controls.lr = {
    G: given('--lr-g') ?? controls.lr.G,
    E: given('--lr-e') ?? controls.lr.E,
    D: given('--lr-d') ?? controls.lr.D,
  };
  const fmt = (x: number) => String(Number(x.toPrecision(6)));
  const scaled = /^every lr ×([0-9.]+)( and clipping)?$/.exec(arm.name);
  if (scaled !== null) {
    const k = Number(scaled[1]);
    const f = ['--lr-g', fmt(controls.lr.G * k), '--lr-e', fmt(controls.lr.E * k), '--lr-d', fmt(controls.lr.D * k)];
    return [...failure, ...f, ...(scaled[2] ? ['--clip', '1'] : [])];
  }
  const ge = /^lr G and E ×([0-9.]+)$/.exec(arm.name);
  if (ge !== null) {
    const k = Number(ge[1]);
    return [...failure, '--lr-g', fmt(controls.lr.G * k), '--lr-e', fmt(controls.lr.E * k)];
  }
  if (arm.action === null) return [...failure];
  const action = arm.action === 'alert' ? alertAction : arm.action;
  const f = action === null ? null : actionFlags(action, controls);
  return f === null ? null : [...failure, ...f];
}

/** The arm without a remedy, read from a stored run that continued the checkpoint unchanged (--baseline). */
interface Baseline {
  url: string;
  runId: string;
}

async function runCase(
  bench: BenchServer,
  c: Case,
  start: {
    seed: number;
    step: number;
    dir: string;
    alertAction: ControlCommand | null;
    alert: string;
    failure?: readonly string[];
  },
  out: string,
  jobs: number,
  baseline: Baseline | null = null,
): Promise<CaseResult> {
  const spool = join(out, 'spool');
  const to = start.step + c.steps;
  const values = async (read: Read): Promise<number[]> => {
    const v: number[] = [];
    for (const t of c.targets) v.push(await t.value(read, start.step + 1, to));
    return v;
  };
  const stored: ArmResult | null =
    baseline === null
      ? null
      : {
          arm: NONE.name,
          flags: [],
          runId: baseline.runId,
          values: await values((metric) => series(baseline.url, baseline.runId, metric)),
        };
  const firstL1 = async (url: string, runId: string): Promise<number | undefined> =>
    (await series(url, runId, METRIC.lossL1)).find(([s]) => s === start.step + 1)?.[1];
  const arms = await pool(
    c.arms.map((arm) => async (): Promise<ArmResult | null> => {
      if (stored !== null && arm === NONE) return stored;
      const flags = armFlags(arm, start.alertAction, start.dir, start.failure);
      if (flags === null) return null;
      const tag = `${c.rule}-${arm.name.replace(/[^a-z0-9]+/gi, '_')}-s${start.seed}`;
      const r = await train(
        bench.server.url,
        [
          '--resume',
          start.dir,
          '--fork',
          '--name',
          tag,
          '--max-steps',
          String(to),
          '--checkpoint-dir',
          join(out, 'checkpoints', tag),
          '--checkpoint-every',
          '0',
          '--patience',
          '0',
          ...flags,
        ],
        join(out, 'logs', `${tag}.log`),
        spool,
      );
      const read: Read = (metric) => series(bench.server.url, r.runId, metric);
      const got = await values(read);
      console.log(`  ${tag}: ${got.map((v) => v.toPrecision(4)).join(', ')} (${r.seconds.toFixed(0)} s)`);
      if (baseline !== null) {
        // The stored run stands for this arm's twin only if both made the same first step from the checkpoint.
        const mine = await firstL1(bench.server.url, r.runId);
        const theirs = await firstL1(baseline.url, baseline.runId);
        if (mine === undefined || mine !== theirs)
          throw new Error(`--baseline: loss/L1 at step ${start.step + 1} is ${mine} here, ${theirs} in the stored run`);
      }
      return { arm: arm.name, flags, runId: r.runId, values: got };
    }),
    jobs,
  );
  return {
    rule: c.rule,
    config: c.config,
    seed: start.seed,
    forkStep: start.step,
    alert: start.alert,
    arms: arms.filter((a): a is ArmResult => a !== null),
  };
}

function report(c: Case, results: readonly CaseResult[]): string {
  const mine = results.filter((r) => r.rule === c.rule);
  if (mine.length === 0) return `${c.rule}: no fork (the rule did not fire in ${c.config})`;
  const header = ['arm', ...c.targets.map((t) => `${t.label} (${t.better} is better)`), 'better than no remedy'];
  const rows = c.arms.map((arm) => {
    const cells = c.targets.map((t, ti) => {
      const vals = mine.map((r) => r.arms.find((a) => a.arm === arm.name)?.values[ti]).filter((v) => v !== undefined);
      if (vals.length === 0) return 'n/a';
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const base = mine.map((r) => r.arms.find((a) => a.arm === NONE.name)?.values[ti] ?? Number.NaN);
      const deltas = vals.map((v, i) => v - (base[i] as number));
      const spread =
        vals.length > 1 ? ` [${Math.min(...vals).toPrecision(3)}–${Math.max(...vals).toPrecision(3)}]` : '';
      const d = deltas.reduce((a, b) => a + b, 0) / deltas.length;
      return arm === NONE
        ? `${mean.toPrecision(3)}${spread}`
        : `${mean.toPrecision(3)}${spread} (Δ ${d >= 0 ? '+' : ''}${d.toPrecision(2)})`;
    });
    const t0 = c.targets[0] as Target;
    const wins = mine.filter((r) => {
      const a = r.arms.find((x) => x.arm === arm.name)?.values[0];
      const b = r.arms.find((x) => x.arm === NONE.name)?.values[0];
      return a !== undefined && b !== undefined && (t0.better === 'higher' ? a > b : a < b);
    }).length;
    return [arm.name, ...cells, arm === NONE ? '—' : `${wins}/${mine.length} seeds (on ${t0.label})`];
  });
  const forks = mine.map((r) => `seed ${r.seed}: step ${r.forkStep} (${r.alert})`).join('; ');
  return `### ${c.rule} (from ${c.config}, ${c.steps} steps after the fork)\nforks: ${forks}\n\n${table(header, rows)}`;
}

/** --checkpoint=DIR [--baseline=DB:RUN]: every selected case forks from one given checkpoint. */
async function fromCheckpoint(
  list: readonly Case[],
  dir: string,
  baselineArg: string | null,
  out: string,
  jobs: number,
): Promise<void> {
  const { step } = checkpointControls(dir);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    extra: { trainer: { options: { seed: number } } };
  };
  const seed = manifest.extra.trainer.options.seed;
  const bench = await startBenchServer(out);
  let source: RunningServer | null = null;
  const results: CaseResult[] = [];
  try {
    let baseline: Baseline | null = null;
    if (baselineArg !== null) {
      const at = baselineArg.lastIndexOf(':');
      const [db, name] = [baselineArg.slice(0, at), baselineArg.slice(at + 1)];
      source = await openStored(resolve(db), join(out, 'baseline'));
      const run = (await storedRuns(source)).find((r) => r.name === name || r.id === name);
      if (!run) throw new Error(`--baseline: no run ${name} in ${db}`);
      baseline = { url: source.url, runId: run.id };
    }
    for (const c of list) {
      console.log(`${c.rule}: forking ${dir} (seed ${seed}) at step ${step}`);
      const alert = `the rule's remedy, from the checkpoint at step ${step}`;
      results.push(await runCase(bench, c, { seed, step, dir, alertAction: c.remedy, alert }, out, jobs, baseline));
    }
  } finally {
    await source?.stop();
    await bench.stop();
  }
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2));
  for (const c of list) console.log(`${report(c, results)}\n`);
}

export async function run(args: string[] = []): Promise<void> {
  const quick = args.includes('--quick');
  const steps = Number(flag(args, '--steps') ?? (quick ? 320 : 768));
  const seeds = (flag(args, '--seeds') ?? (quick ? '0' : '0,1,2')).split(',').map(Number);
  const jobs = Number(flag(args, '--jobs') ?? 2);
  const only = flag(args, '--only')?.split(',') ?? null;
  const from = flag(args, '--from');
  const out = resolve(flag(args, '--out') ?? join(ROOT, 'data', 'bench', `remedies-${Date.now()}`));
  mkdirSync(join(out, 'logs'), { recursive: true });
  let list = cases(steps);
  if (only) list = list.filter((c) => only.includes(c.rule));
  const armsArg = flag(args, '--arms');
  if (armsArg !== null) {
    const keep = new Set(armsArg.split(',').map(Number));
    list = list.map((c) => ({ ...c, arms: c.arms.filter((_, i) => i === 0 || keep.has(i)) }));
  }

  const checkpoint = flag(args, '--checkpoint');
  const baselineArg = flag(args, '--baseline');
  if (checkpoint !== null) {
    await fromCheckpoint(list, resolve(checkpoint), baselineArg, out, jobs);
    return;
  }

  // Where each case starts: the checkpoint taken when its rule fired in the inducing configuration.
  let induced: AlertsResult[];
  if (from !== null) {
    const file = join(resolve(from), 'results.json');
    if (!existsSync(file)) throw new Error(`--from=${from}: no results.json there (an alerts-real --out folder)`);
    induced = (JSON.parse(readFileSync(file, 'utf8')) as { results: AlertsResult[] }).results;
  } else {
    const configs = [...new Set(list.map((c) => c.config))];
    console.log(`training the failures first: ${configs.join(', ')} (seeds ${seeds.join(',')})`);
    induced = await runAlertsReal([
      `--only=${configs.join(',')}`,
      `--seeds=${seeds.join(',')}`,
      `--jobs=${jobs}`,
      `--out=${join(out, 'failures')}`,
      '--all-seeds',
    ]);
  }

  const bench = await startBenchServer(out);
  const results: CaseResult[] = [];
  const t0 = performance.now();
  try {
    for (const c of list) {
      for (const r of induced.filter((x) => x.config === c.config && seeds.includes(x.seed))) {
        const snap = r.snapshots[c.rule];
        const a = snap?.alert ?? r.alerts.find((x) => x.rule === c.rule && x.severity !== 'info');
        if (!a) {
          console.log(`${c.rule}: ${c.config} seed ${r.seed} never fired it: no fork`);
          continue;
        }
        const alert = `${a.severity} @${a.step}: ${a.message}`;
        if (c.fork === 'before') {
          if (!r.before) {
            console.log(`${c.rule}: ${c.config} seed ${r.seed} kept no checkpoint from before its failure: no fork`);
            continue;
          }
          console.log(`${c.rule}: forking ${c.config} seed ${r.seed} at step ${r.before.step} (before the failure)`);
          const start = { seed: r.seed, step: r.before.step, dir: r.before.dir, alertAction: a.action, alert };
          results.push(await runCase(bench, c, { ...start, failure: r.before.args }, out, jobs));
          continue;
        }
        if (!snap) {
          console.log(`${c.rule}: ${c.config} seed ${r.seed} kept no snapshot at its firing: no fork`);
          continue;
        }
        console.log(`${c.rule}: forking ${c.config} seed ${r.seed} at step ${snap.step}`);
        const start = { seed: r.seed, step: snap.step, dir: snap.dir, alertAction: a.action, alert };
        results.push(await runCase(bench, c, start, out, jobs));
      }
    }
  } finally {
    await bench.stop();
  }
  writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 2));
  console.log(`\nforks trained in ${((performance.now() - t0) / 60000).toFixed(1)} min; output in ${out}\n`);
  for (const c of list) console.log(`${report(c, results)}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run(process.argv.slice(2));
