// The arithmetic of distributions: merging consecutive histograms (a downsampled read) keeps the overall min and max
// as its outer edges, keeps every total exactly, and spreads counts in proportion to overlap; the separation of two
// histograms is the probability that a draw from one exceeds a draw from the other.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  histogramOf,
  histogramProblem,
  histogramQuantile,
  histogramSeparation,
  histogramTotal,
  mergeHistograms,
  type Histogram,
} from '../../protocol/histogram.js';

/** A deterministic pseudo-random sequence (xorshift), so a failing case can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('merging spans the overall min..max, preserves the total and the non-finite count, and stays a valid histogram', () => {
  const next = random(7);
  for (let trial = 0; trial < 200; trial++) {
    const parts: Histogram[] = [];
    let lo = Infinity;
    let hi = -Infinity;
    let total = 0;
    let nonFinite = 0;
    for (let p = 0; p < 1 + Math.floor(next() * 6); p++) {
      const centre = (next() - 0.5) * 100;
      const values = Array.from({ length: 1 + Math.floor(next() * 300) }, () => centre + (next() - 0.5) * next() * 50);
      if (next() < 0.3) values.push(Number.NaN);
      const h = histogramOf(values, 1 + Math.floor(next() * 64));
      parts.push(h);
      lo = Math.min(lo, h.edges[0]!);
      hi = Math.max(hi, h.edges[h.edges.length - 1]!);
      total += histogramTotal(h);
      nonFinite += h.nonFinite;
    }
    const merged = mergeHistograms(parts);
    assert.equal(histogramProblem(merged), null, `trial ${trial}`);
    assert.equal(merged.edges[0], lo);
    assert.equal(merged.edges[merged.edges.length - 1], hi);
    assert.equal(histogramTotal(merged), total);
    assert.equal(merged.nonFinite, nonFinite);
    assert.ok(merged.counts[0]! > 0 && merged.counts[merged.counts.length - 1]! > 0, 'the extremes hold a value');
    assert.equal(merged.counts.length, Math.max(...parts.map((h) => h.counts.length)));
  }
});

test('counts are rebinned in proportion to overlap', () => {
  // [0, 2) with 4 values and [2, 4] with 8, merged onto 2 buckets over 0..4: each lands in its own bucket.
  assert.deepEqual(
    mergeHistograms(
      [
        { edges: [0, 2], counts: [4], nonFinite: 0 },
        { edges: [2, 4], counts: [8], nonFinite: 0 },
      ],
      2,
    ),
    {
      edges: [0, 2, 4],
      counts: [4, 8],
      nonFinite: 0,
    },
  );
  // One bucket [0, 4] of 8 values spread over 4 target buckets: 2 each.
  const spread = mergeHistograms([{ edges: [0, 4], counts: [8], nonFinite: 0 }], 4);
  assert.deepEqual(spread.counts, [2, 2, 2, 2]);
  // A zero-width histogram (one distinct value) lands in the bucket holding that value.
  const point = mergeHistograms(
    [
      { edges: [3, 3], counts: [5], nonFinite: 0 },
      { edges: [0, 4], counts: [4], nonFinite: 0 },
    ],
    4,
  );
  assert.deepEqual(point.counts, [1, 1, 1, 6]);
});

test('a lone extreme value is not rounded away: the outer buckets keep at least one value', () => {
  // 1,000 values in [0, 1] and one at 100: the merged histogram over 0..100 has 10 buckets; the top one holds the 100.
  const body = histogramOf(
    Array.from({ length: 1000 }, (_, i) => i / 999),
    10,
  );
  const outlier = histogramOf([100], 10);
  const merged = mergeHistograms([body, outlier]);
  assert.equal(merged.edges[10], 100);
  assert.equal(merged.counts[9], 1);
  assert.equal(histogramTotal(merged), 1001);
  assert.equal(histogramQuantile(merged, 1), 100);
});

test('merging only empty or non-finite histograms gives an empty histogram with the non-finite count', () => {
  assert.deepEqual(
    mergeHistograms([
      { edges: [], counts: [], nonFinite: 2 },
      { edges: [], counts: [], nonFinite: 3 },
    ]),
    { edges: [], counts: [], nonFinite: 5 },
  );
  assert.deepEqual(mergeHistograms([histogramOf([2, 2, 2]), histogramOf([2])]), {
    edges: [2, 2],
    counts: [4],
    nonFinite: 0,
  });
});

test('separation: disjoint histograms give 1 (or 0 swapped), identical ones 0.5', () => {
  const high = histogramOf(Array.from({ length: 500 }, (_, i) => 0.9 + i / 5000));
  const low = histogramOf(Array.from({ length: 500 }, (_, i) => i / 5000));
  assert.equal(histogramSeparation(high, low), 1);
  assert.equal(histogramSeparation(low, high), 0);
  assert.equal(histogramSeparation(low, low), 0.5);
});

test('separation of two overlapping uniform spreads is P(X > Y) to within 1/128', () => {
  // X ~ U(0.5, 1.5), Y ~ U(0, 1): P(X > Y) = 1 − ½·½·½ = 0.875.
  const x = histogramOf(Array.from({ length: 10_000 }, (_, i) => 0.5 + (i + 0.5) / 10_000));
  const y = histogramOf(Array.from({ length: 10_000 }, (_, i) => (i + 0.5) / 10_000));
  assert.ok(Math.abs(histogramSeparation(x, y) - 0.875) < 1 / 128, String(histogramSeparation(x, y)));
  assert.ok(Math.abs(histogramSeparation(y, x) - 0.125) < 1 / 128);
});

test('separation is NaN when either histogram holds no finite value', () => {
  const some = histogramOf([1, 2, 3]);
  assert.ok(Number.isNaN(histogramSeparation(some, histogramOf([Number.NaN]))));
  assert.ok(Number.isNaN(histogramSeparation(histogramOf([]), some)));
});
