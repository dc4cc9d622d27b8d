// The metric names as a contract (protocol/metric-names.ts): every name a detector reads is declared there, each rule
// reads exactly the names the declaration says it reads, the README's table says the same, and the real trainer
// (one step and one validation of the model at 32 px) pushes every name the alerts need.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  ALERT_RULE_NAMES,
  ganModeOf,
  KNOWN_METRICS,
  METRIC,
  METRICS,
  isKnownMetric,
  type KnownMetric,
} from '../../protocol/metric-names.js';
import { ControlWatch } from '../../server/alerts/control-watch.js';
import { DETECTOR_FACTORIES } from '../../server/alerts/registry.js';
import type { DetectorFactory, StepValues } from '../../server/alerts/types.js';
import { mergeSettings } from '../../server/alerts/config.js';
import { FISHER_METRIC, SILHOUETTE_METRIC } from '../../server/projections/service.js';
import { initBackend } from '../../trainer/backend.js';
import { SyntheticDataset } from '../../trainer/data/index.js';
import { BicycleGAN } from '../../trainer/models/bicyclegan.js';
import { Validator } from '../../trainer/validate.js';
import { Rng } from '../support/streams.js';
import { ROOT } from '../../harness/server.js';

/** A map that remembers every name looked up with get() or has(). */
class RecordingValues extends Map<string, number> {
  constructor(
    entries: Iterable<[string, number]>,
    private readonly reads: Set<string>,
  ) {
    super(entries);
  }
  override get(name: string): number | undefined {
    this.reads.add(name);
    return super.get(name);
  }
  override has(name: string): boolean {
    this.reads.add(name);
    return super.has(name);
  }
}

/** Plausible values of every step metric ganwatch declares, so each detector walks its ordinary paths. */
function stepValues(rng: Rng): Map<string, number> {
  const v = new Map<string, number>();
  for (const name of KNOWN_METRICS) {
    const c = METRICS[name];
    if (c.source !== 'step') continue;
    if (name.endsWith('_acc')) v.set(name, 0.7 + 0.05 * rng.normal());
    else if (name.startsWith('grad_norm/')) v.set(name, rng.lognormal10(2, 0.1));
    else if (c.rebaseline || name === METRIC.clipMaxNorm) v.set(name, 1e-4);
    else v.set(name, 1 + 0.05 * rng.normal());
  }
  v.set(METRIC.skippedStep, 0);
  return v;
}

const VALIDATION: readonly KnownMetric[] = [METRIC.valL1, METRIC.valSsim, METRIC.valDiversity, METRIC.valModeCoverage];

/** The names `factory` looks up over 1,500 steps (past every warm-up) with a validation every 100 steps. */
function namesRead(factory: DetectorFactory, params: Record<string, number> = {}): Set<string> {
  const reads = new Set<string>();
  const detector = factory.create({ settings: mergeSettings(factory.defaults, { params }) });
  const rng = new Rng(3);
  for (let step = 0; step < 1500; step++) {
    const values = stepValues(rng);
    if (step % 100 === 99) for (const name of VALIDATION) values.set(name, 0.5 + 0.01 * rng.normal());
    const point: StepValues = { step, wall: 1_700_000_000 + step, values: new RecordingValues(values, reads) };
    detector.observe(point);
  }
  return reads;
}

/** Every name each rule reads; early_stop also with each metric it can be told to watch. */
function readsByRule(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of DETECTOR_FACTORIES) {
    const reads = namesRead(f);
    if (f.rule === 'early_stop') for (const metric of [1, 3, 4]) for (const n of namesRead(f, { metric })) reads.add(n);
    out.set(f.rule, reads);
  }
  return out;
}

const READS = readsByRule();

/** The rules the declaration says read `name`. */
function declaredReaders(name: KnownMetric): string[] {
  return Object.keys(METRICS[name].readBy).sort();
}

test('the registry registers exactly the rule names protocol declares, in order', () => {
  assert.deepEqual(
    DETECTOR_FACTORIES.map((f) => f.rule),
    [...ALERT_RULE_NAMES],
  );
});

test('every metric name a detector reads is declared in protocol/metric-names.ts', () => {
  for (const [rule, reads] of READS) {
    for (const name of reads)
      assert.ok(isKnownMetric(name), `${rule} reads '${name}', which protocol does not declare`);
  }
});

test('each rule reads exactly the metrics protocol says it reads', () => {
  for (const rule of ALERT_RULE_NAMES) {
    const declared = KNOWN_METRICS.filter((n) => rule in METRICS[n].readBy).sort();
    assert.deepEqual([...(READS.get(rule) ?? [])].sort(), declared, rule);
  }
});

test('a required metric is read by some rule, and the alert engine re-baselines on exactly the lr and λ names', () => {
  for (const name of KNOWN_METRICS) {
    const c = METRICS[name];
    if (c.required) assert.ok(declaredReaders(name).length > 0, `${name} is required but no rule reads it`);
    const watch = new ControlWatch();
    watch.see(name, 1);
    assert.equal(watch.see(name, 2), c.rebaseline === true, `${name}: a change re-baselines`);
  }
});

test('the latent statistics the server derives are pushed under the declared names', () => {
  assert.equal(SILHOUETTE_METRIC, METRIC.valLatentSilhouette);
  assert.equal(FISHER_METRIC, METRIC.valLatentFisher);
  assert.equal(METRICS[METRIC.valLatentSilhouette].source, 'server');
});

/** The README's "Metric names the alerts read" table: name → rules named in the "read by" cell, and the last cell. */
function readmeTable(): Map<string, { rules: string[]; everyRule: boolean; required: boolean }> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('### Metric names the alerts read');
  assert.ok(at >= 0, 'README has a "Metric names the alerts read" section');
  const rows = new Map<string, { rules: string[]; everyRule: boolean; required: boolean }>();
  const lines = readme.slice(at).split('\n');
  let seen = false;
  for (const line of lines.slice(1)) {
    if (!line.startsWith('|')) {
      if (seen) break;
      continue;
    }
    seen = true;
    const cells = line.split(' | ').map((c) => c.replace(/^\|\s*|\s*\|$/g, '').trim());
    const name = /^`([^`]+)`$/.exec(cells[0] ?? '')?.[1];
    if (name === undefined) continue; // the header and its rule
    const readBy = cells[2] ?? '';
    const rules = [...readBy.matchAll(/`([a-z_]+)`/g)]
      .map((m) => m[1]!)
      .filter((r) => (ALERT_RULE_NAMES as readonly string[]).includes(r));
    rows.set(name, {
      rules: rules.sort(),
      everyRule: readBy.includes('every rule'),
      required: cells[3] === '**required**',
    });
  }
  return rows;
}

test('the README table lists every metric the alerts read, with its rules and whether it is required', () => {
  const table = readmeTable();
  const read = KNOWN_METRICS.filter((n) => declaredReaders(n).length > 0 || METRICS[n].rebaseline);
  assert.deepEqual([...table.keys()].sort(), [...read].sort());
  for (const name of read) {
    const row = table.get(name)!;
    assert.deepEqual(row.rules, declaredReaders(name), `${name}: rules`);
    assert.equal(row.everyRule, METRICS[name].rebaseline === true, `${name}: re-baseline`);
    assert.equal(row.required, METRICS[name].required, `${name}: required`);
  }
});

// ------------------------------------------------------------------ the real trainer

before(async () => {
  await initBackend('wasm');
});

test('one step and one validation of the real model push every metric the alerts read (FID needs a model)', async () => {
  const dataset = new SyntheticDataset({ size: 32, trainCount: 8, valCount: 4, seed: 1 });
  const model = new BicycleGAN({ size: 32, ngf: 8, nef: 8, ndf: 8, seed: 1 });
  const rng = new Rng(1);
  const batch = await dataset.trainBatch([0, 1, 2, 3], () => rng.uniform());
  const shape: [number, number, number, number] = [batch.count, batch.size, batch.size, batch.channels];
  const [a, b] = [tf.tensor4d(batch.a, shape), tf.tensor4d(batch.b, shape)];
  const step = model.trainStep(a, b);
  tf.dispose([a, b]);
  const validator = await Validator.create(dataset, 8, { valCount: 2, valZ: 2, latentCount: 0, seed: 1 });
  const validation = await validator.run(model);
  model.dispose();

  const pushed = new Set([...Object.keys(step), ...Object.keys(validation.metrics)]);
  for (const name of KNOWN_METRICS) {
    const c = METRICS[name];
    const read = declaredReaders(name).length > 0 || c.rebaseline === true;
    // FID needs a feature model (--fid-model); skipped_step is other trainers' (a loss scaler's); the training loop,
    // not the model's step, times the step (perf/*: trainer/loop.ts).
    if (!read || name === METRIC.valFid || c.source === 'client' || name.startsWith('perf/')) continue;
    assert.ok(pushed.has(name), `${name} (${c.required ? 'required' : 'optional'}) is pushed`);
  }
});

test('the GAN loss is read from ganwatch’s ganMode, or from gan_mode as the official code’s options name it', () => {
  assert.equal(ganModeOf({ ganMode: 'lsgan' }), 'lsgan');
  assert.equal(ganModeOf({ gan_mode: 'lsgan', lr: 2e-4 }), 'lsgan');
  assert.equal(ganModeOf({ ganMode: 'vanilla', gan_mode: 'lsgan' }), 'vanilla');
  assert.equal(ganModeOf({ gan_mode: 3 }), undefined);
  assert.equal(ganModeOf({}), undefined);
});
