// Specification of the two point-driven general rules through the engine's state machine (test/support's harness):
// throughput_drop on must-fire, must-not-fire and resolving streams of perf/images_per_s, and the user_threshold
// detector's matching, durations and resolution.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { UserRule } from '../../protocol/index.js';
import { mergeSettings } from '../../server/alerts/config.js';
import { throughputDrop } from '../../server/alerts/detectors/throughput-drop.js';
import { AlertStateMachine, type Transition } from '../../server/alerts/state.js';
import type { StepValues } from '../../server/alerts/types.js';
import { compare, metricMatcher, userThreshold } from '../../server/alerts/user-rules.js';
import { describe, runDetector } from '../support/detector-harness.js';
import { Rng } from '../support/streams.js';

/** perf/images_per_s around `level(t)` with 5% noise and, every 50 steps, one slow step (a validation). */
function* throughput(n: number, level: (t: number) => number, seed = 1): Generator<StepValues> {
  const rng = new Rng(seed);
  for (let t = 0; t < n; t++) {
    const x = level(t) * (1 + 0.05 * rng.normal()) * (t % 50 === 49 ? 0.1 : 1);
    yield { step: t, wall: 1_700_000_000 + t, values: new Map([['perf/images_per_s', x]]) };
  }
}

test('throughput_drop fires when the throughput falls to a third and resolves when it recovers', () => {
  const r = runDetector(
    throughputDrop,
    throughput(2000, (t) => (t >= 800 && t < 1400 ? 40 : 120)),
  );
  const fired = r.firstFiring();
  assert.ok(fired, describe(r));
  assert.ok(fired.step > 800 && fired.step < 900, describe(r));
  assert.equal(fired.evaluation.severity, 'warn');
  assert.match(
    fired.evaluation.message,
    /Throughput fell to (3[89]|4[01])(\.\d+)? images\/s, below 0.5 × its median 1[12]\d/,
  );
  const resolved = r.into('resolved');
  assert.equal(resolved.length, 1, describe(r));
  assert.ok(resolved[0]!.step > 1400 && resolved[0]!.step < 1500, describe(r));
  assert.equal(r.into('firing').length, 1, describe(r));
});

test('throughput_drop stays silent on noise, slow validation steps and a 30% slowdown', () => {
  const r = runDetector(
    throughputDrop,
    throughput(3000, (t) => (t < 1500 ? 120 : 84), 2),
  );
  assert.equal(r.into('firing').length, 0, describe(r));
});

test('a lasting drop does not become the new normal: the alert stays firing', () => {
  const r = runDetector(
    throughputDrop,
    throughput(4000, (t) => (t < 600 ? 100 : 30), 3),
  );
  assert.equal(r.into('firing').length, 1, describe(r));
  assert.equal(r.into('resolved').length, 0, describe(r));
});

const rule = (over: Partial<UserRule>): UserRule => ({
  id: 7,
  run: null,
  name: 'r',
  metric: 'loss/D',
  comparison: '>',
  value: 2,
  for: { steps: 1 },
  severity: 'warn',
  enabled: true,
  created_at: 0,
  updated_at: 0,
  ...over,
});

/** Feeds user rules values per step (trainer walls `every` seconds apart); transitions per key. */
function feed(
  rules: UserRule[],
  series: Array<Record<string, number>>,
  every = 1,
): Array<Transition & { key: string }> {
  const settings = mergeSettings(userThreshold.defaults);
  const detector = userThreshold.create({ settings, userRules: rules });
  const machines = new Map<string, AlertStateMachine>();
  const out: Array<Transition & { key: string }> = [];
  series.forEach((values, step) => {
    const evaluations =
      detector.observe({ step, wall: step * every, values: new Map(Object.entries(values)) })?.evaluations ?? [];
    for (const ev of evaluations) {
      let m = machines.get(ev.key);
      if (!m) machines.set(ev.key, (m = new AlertStateMachine(settings)));
      const t = m.feed(ev, step);
      if (t) out.push({ ...t, key: ev.key });
    }
  });
  return out;
}

test('user rules: comparisons, metric patterns, and NaN never satisfying a threshold', () => {
  assert.deepEqual(
    (['>', '>=', '<', '<=', '==', '!='] as const).map((c) => compare(2, c, 2)),
    [false, true, false, true, true, false],
  );
  const m = metricMatcher('grad_norm/D*');
  assert.deepEqual(['grad_norm/D', 'grad_norm/D2', 'grad_norm/G', 'xgrad_norm/D'].map(m), [true, true, false, false]);
  assert.equal(metricMatcher('val/fid')('val/fid_n'), false);
  assert.equal(metricMatcher('a.b')('axb'), false); // '.' is a character, not any character
  assert.deepEqual(
    feed([rule({})], [{ 'loss/D': Number.NaN }, { 'loss/D': Number.POSITIVE_INFINITY }]).map(
      (t) => `${t.to}@${t.step}`,
    ),
    ['firing@1'],
  );
});

test('user rules: "for N steps" counts steps held, "for N minutes" the trainer’s wall time; one value below resolves', () => {
  const byStep = feed(
    [rule({ for: { steps: 3 } })],
    [3, 3, 1, 3, 3, 3, 3, 0].map((v) => ({ 'loss/D': v })),
  );
  assert.deepEqual(
    byStep.map((t) => `${t.from}→${t.to}@${t.step}`),
    ['ok→firing@5', 'firing→resolved@7'],
  );
  const byTime = feed(
    [rule({ for: { minutes: 2 } })],
    [3, 3, 3, 3].map((v) => ({ 'loss/D': v })),
    60,
  );
  assert.deepEqual(
    byTime.map((t) => `${t.to}@${t.step}`),
    ['firing@2'],
  );
  const disabled = feed([rule({ enabled: false })], [{ 'loss/D': 9 }]);
  assert.deepEqual(disabled, []);
});

test('user rules: a pattern judges each matching metric apart, at most maxMetrics of them', () => {
  const t = feed(
    [rule({ metric: 'grad_norm/*', value: 100 })],
    [
      { 'grad_norm/G': 150, 'grad_norm/D': 5 },
      { 'grad_norm/G': 5, 'grad_norm/D': 150 },
    ],
  );
  assert.deepEqual(
    t.map((x) => `${x.key} ${x.to}@${x.step}`),
    ['7:grad_norm/G firing@0', '7:grad_norm/G resolved@1', '7:grad_norm/D firing@1'],
  );
  const settings = mergeSettings(userThreshold.defaults, { params: { maxMetrics: 1 } });
  const capped = userThreshold.create({ settings, userRules: [rule({ metric: '*' })] });
  const out = capped.observe({
    step: 0,
    wall: 0,
    values: new Map([
      ['a', 9],
      ['b', 9],
    ]),
  });
  assert.deepEqual(
    out?.evaluations.map((e) => e.key),
    ['7:a'],
  );
});
