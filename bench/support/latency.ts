// Latency histograms of the load benchmark: each client process records into 0.1 ms buckets (exact enough for
// percentiles, small enough to print as one JSON line), and the benchmark merges them into percentiles.

/** 0.1 ms bucket → count. */
export type Histogram = Record<string, number>;

export function record(h: Histogram, ms: number): void {
  const b = Math.max(0, Math.round(ms * 10));
  h[b] = (h[b] ?? 0) + 1;
}

export function summary(histograms: Histogram[]): { p50: number; p99: number; max: number; count: number } {
  const merged = new Map<number, number>();
  for (const h of histograms)
    for (const [b, n] of Object.entries(h)) merged.set(Number(b), (merged.get(Number(b)) ?? 0) + n);
  const buckets = [...merged].sort((a, b) => a[0] - b[0]);
  const count = buckets.reduce((n, [, c]) => n + c, 0);
  const at = (q: number): number => {
    let seen = 0;
    for (const [b, c] of buckets) if ((seen += c) > q * count) return b / 10;
    return Number.NaN;
  };
  return {
    p50: at(0.5),
    p99: at(0.99),
    max: buckets.length ? buckets[buckets.length - 1]![0] / 10 : Number.NaN,
    count,
  };
}
