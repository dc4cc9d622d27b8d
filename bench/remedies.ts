// `npm run bench -- remedies [--from=DIR] [--only=CASE,...] [--seeds=0,1,2] [--steps=N] [--jobs=2] [--out=DIR]
// [--facades=DIR]`: does each alert's remedy fix what its rule detects? For every rule, the configuration that induces
// its failure (bench/alerts-real.ts) trains until the rule fires; the trainer's state at that moment is checkpointed,
// and from that one checkpoint, with the same seed, arms continue for N steps as new runs (`npm run train -- --resume
// CK --fork`): one without any change, one with the remedy the alert offered (its action turned into the trainer flag
// that sets the same value from the first step), and alternatives where the seed's remedy is in doubt. The metric the
// rule targets is read back from the server and compared against the arm without a remedy.
// --from=DIR starts from the checkpoints an `alerts-real` run already took (its --out folder) instead of training the
// failures again. --quick: one seed and N = 320.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DISCRIMINATOR_METRICS, METRIC, type ControlCommand, type DiscriminatorKey } from '../protocol/index.js';
import { ROOT } from '../test/support/server.js';
import {
  actionFlags,
  checkpointControls,
  flag,
  meanIn,
  pool,
  series,
  startBenchServer,
  table,
  train,
  type BenchServer,
} from './_real.js';
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
  /** The alerts-real configuration that induces it. */
  config: string;
  arms: readonly Arm[];
  targets: readonly Target[];
  /** Steps each arm trains after the fork. */
  steps: number;
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

const NONE: Arm = { name: 'no remedy', action: null };
const SEED: Arm = { name: "the alert's remedy", action: 'alert' };

function cases(steps: number): Case[] {
  return [
    {
      // The demo's own failure: its default run fires mode_collapse (coverage below 0.75) by step ~1100.
      rule: 'mode_collapse',
      config: 'demo',
      arms: [
        NONE,
        SEED,
        { name: 'λ_latent ×4', action: { action: 'scale_lambda', args: { name: 'latent', factor: 4 } } },
        { name: 'λ_kl ×10', action: { action: 'scale_lambda', args: { name: 'kl', factor: 10 } } },
        { name: 'λ_kl ×100', action: { action: 'scale_lambda', args: { name: 'kl', factor: 100 } } },
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
      config: 'd_high_lr',
      arms: [NONE, SEED],
      targets: [dAccuracy('D'), dAccuracy('D2'), lateMedian(METRIC.gradNormG, '‖∇G‖ (median)', 'higher')],
      steps,
    },
    {
      rule: 'color_distortion',
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
      config: 'lr_spike',
      arms: [NONE, { name: 'every lr ×0.5', action: null }, { name: 'every lr ×0.5 and clipping', action: null }],
      targets: [
        lateMean(METRIC.lossL1, METRIC.lossL1, 'lower'),
        lateMedian(METRIC.gradNormG, '‖∇G‖ (median)', 'lower'),
      ],
      steps,
    },
    {
      rule: 'training_stall',
      config: 'g_frozen',
      arms: [NONE, SEED, { name: 'lr G and E ×10', action: null }],
      targets: [lateMean(METRIC.lossL1, METRIC.lossL1, 'lower'), lateMean(METRIC.lossZL1, METRIC.lossZL1, 'lower')],
      steps,
    },
    {
      rule: 'gradient_oscillation',
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

/** Flags of an arm from the checkpoint's controls (null when the arm's remedy has no trainer flag). */
function armFlags(arm: Arm, alertAction: ControlCommand | null, ck: string): string[] | null {
  const controls = checkpointControls(ck);
  const fmt = (x: number) => String(Number(x.toPrecision(6)));
  if (arm.name === 'every lr ×0.5' || arm.name === 'every lr ×0.5 and clipping') {
    const f = ['--lr-g', fmt(controls.lr.G / 2), '--lr-e', fmt(controls.lr.E / 2), '--lr-d', fmt(controls.lr.D / 2)];
    return arm.name.endsWith('clipping') ? [...f, '--clip', '1'] : f;
  }
  if (arm.name === 'lr G and E ×10') return ['--lr-g', fmt(controls.lr.G * 10), '--lr-e', fmt(controls.lr.E * 10)];
  if (arm.action === null) return [];
  const action = arm.action === 'alert' ? alertAction : arm.action;
  return action === null ? null : actionFlags(action, controls);
}

async function runCase(
  bench: BenchServer,
  c: Case,
  start: { seed: number; step: number; dir: string; alertAction: ControlCommand | null; alert: string },
  out: string,
  jobs: number,
): Promise<CaseResult> {
  const spool = join(out, 'spool');
  const to = start.step + c.steps;
  const arms = await pool(
    c.arms.map((arm) => async (): Promise<ArmResult | null> => {
      const flags = armFlags(arm, start.alertAction, start.dir);
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
      const values: number[] = [];
      for (const t of c.targets) values.push(await t.value(read, start.step + 1, to));
      console.log(`  ${tag}: ${values.map((v) => v.toPrecision(4)).join(', ')} (${r.seconds.toFixed(0)} s)`);
      return { arm: arm.name, flags, runId: r.runId, values };
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
        if (!snap) {
          console.log(`${c.rule}: ${c.config} seed ${r.seed} never fired it: no fork`);
          continue;
        }
        const a = snap.alert;
        console.log(`${c.rule}: forking ${c.config} seed ${r.seed} at step ${snap.step}`);
        results.push(
          await runCase(
            bench,
            c,
            {
              seed: r.seed,
              step: snap.step,
              dir: snap.dir,
              alertAction: a.action,
              alert: `${a.severity} @${a.step}: ${a.message}`,
            },
            out,
            jobs,
          ),
        );
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
