// The robust EWMA-residual CUSUM of docs/detectors.md §8: the exact case, false-alarm rates on stationary noise
// (20 seeds × 50k points each, as the doc), detection delay for 1/2/3σ jumps (200 seeds), and the change_point rule's
// markers. Throughput (10⁶ points) is a benchmark, not a test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RobustCusum } from '../../server/alerts/detectors/cusum.js';
import { changePoint } from '../../server/alerts/detectors/change-point.js';
import { runDetector } from '../support/detector-harness.js';
import { ar1, Rng, steps } from '../support/streams.js';

test('exact: known μ = 0, σ = 1, constant 0 then +5 from t0 = 50 alarms at t0 + 2 with changeAt = t0', () => {
  const c = new RobustCusum({ known: { mean: 0, sd: 1 } });
  const alarms = [];
  for (let t = 0; t < 60; t++) {
    const a = c.push(t < 50 ? 0 : 5, t);
    if (a) alarms.push(a);
  }
  assert.equal(alarms.length, 1);
  assert.deepEqual([alarms[0]?.direction, alarms[0]?.step, alarms[0]?.changeAt], ['up', 52, 50]);
});

type Kind = 'iid' | 'spikes' | 'trend' | 'ar08';

/** False alarms per 10k points over `seeds` runs of `n` points, each with a fresh detector. */
function falseAlarmsPer10k(kind: Kind, seeds = 20, n = 50_000): { rate: number; blocks: number[] } {
  let alarms = 0;
  const blocks: number[] = [];
  for (let s = 1; s <= seeds; s++) {
    const rng = new Rng(1000 * s + kind.length);
    const c = new RobustCusum();
    const series = kind === 'ar08' ? ar1(rng, n, 0.8) : null;
    for (let t = 0; t < n; t++) {
      let x = series ? (series[t] as number) : rng.normal();
      if (kind === 'spikes' && t % 500 === 499) x += 20;
      if (kind === 'trend') x -= (5 * t) / 20_000;
      const a = c.push(x, t);
      if (a && a.direction !== 'nonfinite') alarms++;
    }
    blocks.push(c.blockSize);
  }
  return { rate: alarms / ((seeds * n) / 10_000), blocks };
}

test('iid N(0,1): at most 1 false alarm per 10k points (20 seeds × 50k)', () => {
  const { rate } = falseAlarmsPer10k('iid');
  assert.ok(rate <= 1, `rate ${rate}`);
});

test('isolated 20σ spikes every 500 points: at most 1.5 false alarms per 10k', () => {
  const { rate } = falseAlarmsPer10k('spikes');
  assert.ok(rate <= 1.5, `rate ${rate}`);
});

test('iid plus a −5σ per 20k points trend: at most 1 false alarm per 10k', () => {
  const { rate } = falseAlarmsPer10k('trend');
  assert.ok(rate <= 1, `rate ${rate}`);
});

test('AR(1) φ = 0.8 with the automatic block size: at most 3 false alarms per 10k', () => {
  const { rate, blocks } = falseAlarmsPer10k('ar08');
  assert.ok(rate <= 3, `rate ${rate}`);
  // b = ⌈10·φ̂/(1−φ̂)⌉ ≈ 40 for φ = 0.8
  for (const b of blocks) assert.ok(b >= 15 && b <= 100, `block ${b}`);
});

/** Delay from a jump of `size`σ at t = 3000 to the first upward alarm (a miss: none within 1000 points). */
function delays(size: number, seeds: number): { median: number; misses: number; changeAtErr: number } {
  const d: number[] = [];
  const err: number[] = [];
  let misses = 0;
  for (let s = 1; s <= seeds; s++) {
    const rng = new Rng(77_000 + 1000 * size + s);
    const c = new RobustCusum();
    let got: number | null = null;
    for (let t = 0; t < 4000; t++) {
      const a = c.push(rng.normal() + (t >= 3000 ? size : 0), t);
      if (a && t >= 3000 && a.direction === 'up') {
        got = t - 3000;
        err.push(Math.abs((a.changeAt ?? 0) - 3000));
        break;
      }
    }
    if (got === null) misses++;
    else d.push(got);
  }
  d.sort((a, b) => a - b);
  err.sort((a, b) => a - b);
  return {
    median: d[Math.floor(d.length / 2)] ?? Infinity,
    misses: misses / seeds,
    changeAtErr: err[Math.floor(err.length / 2)] ?? Infinity,
  };
}

// 200 seeds as the doc, except 2000 for 1σ: its true miss rate is ≈ 2.5% (5000-seed simulation), so close to the 3% limit
// that 200 seeds (±1.1% sampling error) would make the check depend on the seeds rather than on the detector.
test('detection delay: median ≤ 20 / 7 / 4 points for 1 / 2 / 3σ jumps, misses ≤ 3% (2000 / 200 / 200 seeds)', () => {
  for (const [size, limit, seeds] of [
    [1, 20, 2000],
    [2, 7, 200],
    [3, 4, 200],
  ] as const) {
    const r = delays(size, seeds);
    assert.ok(r.median <= limit, `${size}σ: median delay ${r.median} > ${limit}`);
    assert.ok(r.misses <= 0.03, `${size}σ: misses ${r.misses}`);
    if (size === 3) assert.ok(r.changeAtErr <= 2, `3σ: changeAt median error ${r.changeAtErr}`);
  }
});

test('a run of non-finite values alarms once, then the series goes on', () => {
  const c = new RobustCusum({ known: { mean: 0, sd: 1 } });
  const dirs: string[] = [];
  for (let t = 0; t < 20; t++) {
    const a = c.push(t >= 5 && t < 8 ? Number.NaN : 0, t);
    if (a) dirs.push(`${a.direction}@${a.step}`);
  }
  assert.deepEqual(dirs, ['nonfinite@5']);
});

test('change_point marks a jump on loss/L1 at its start and never emits an alert evaluation', () => {
  const rng = new Rng(5);
  const r = runDetector(
    changePoint,
    steps(4000, (t) => ({
      'loss/L1': 0.2 + 0.01 * rng.normal() + (t >= 3000 ? 0.05 : 0),
      'lr/G': 2e-4,
      'grad_norm/D': rng.lognormal10(1, 0.09),
    })),
  );
  assert.equal(r.evaluations, 0);
  assert.equal(r.transitions.length, 0);
  const l1 = r.markers.filter((m) => m.metric === 'loss/L1');
  assert.equal(l1.length, 1, JSON.stringify(r.markers));
  assert.equal(l1[0]?.direction, 'up');
  assert.ok(l1[0] !== undefined && l1[0].step >= 3000 && l1[0].step <= 3010, `step ${l1[0]?.step}`);
  assert.ok(l1[0] !== undefined && Math.abs((l1[0].changeAt ?? 0) - 3000) <= 2, `changeAt ${l1[0]?.changeAt}`);
  assert.equal(r.markers.filter((m) => m.metric.startsWith('lr/')).length, 0);
});

test('change_point watches grad_norm/* on log10 and marks a ×3 jump', () => {
  const rng = new Rng(9);
  const r = runDetector(
    changePoint,
    steps(3000, (t) => ({ 'grad_norm/G': rng.lognormal10(2, 0.09) * (t >= 2000 ? 3 : 1) })),
  );
  // A stray marker earlier (iid false-alarm rate ≈ 0.5 per 10k points) is allowed; the jump must be marked once.
  const m = r.markers.filter((x) => x.metric === 'grad_norm/G' && x.step >= 2000);
  assert.equal(m.length, 1, JSON.stringify(r.markers));
  assert.equal(m[0]?.changeAt, 2000);
  assert.equal(m[0]?.evidence.transform, 'log10');
  assert.ok(m[0] !== undefined && m[0].step >= 2000 && m[0].step < 2010);
});

test('change_point re-learns after a re-baseline instead of marking the change a remedy made', () => {
  const rng = new Rng(11);
  const stream = () =>
    steps(5000, (t) => ({
      'loss/L1': 0.2 + 0.01 * rng.normal() + (t >= 3000 ? 0.05 : 0),
      'lambda/cyc': t >= 3000 ? 15 : 10,
    }));
  const withRebaseline = runDetector(changePoint, stream());
  assert.equal(withRebaseline.markers.filter((m) => m.metric === 'loss/L1').length, 0);
  const without = runDetector(changePoint, stream(), { rebaselineOnChange: false });
  assert.equal(without.markers.filter((m) => m.metric === 'loss/L1').length, 1);
});
