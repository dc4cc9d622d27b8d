// Test support for the wasm kernel tests: seeded inputs, so a failing case reproduces.

/** Deterministic standard-normal-ish values (LCG + Box–Muller). */
export function randomValues(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 1) / 4294967297;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/** Number of elements of a shape. */
export const size = (s: number[]): number => s.reduce((a, b) => a * b, 1);
