// `npm run bench -- alerts`: the cost of running every detector on every point, and ingest throughput with the
// detectors on against off, each next to its baseline measured in the same run.
import { KNOWN_METRICS, METRIC_PREFIX, METRICS } from '../protocol/metric-names.js';
import { DETECTOR_FACTORIES } from '../server/alerts/registry.js';
import type { StepValues } from '../server/alerts/types.js';
import { api, startServer } from '../harness/server.js';
import { runIngestClient } from './ingest.js';

/** The metric names the BicycleGAN trainer pushes every step. */
const TRAINER_METRICS = KNOWN_METRICS.filter((name) => METRICS[name].source === 'step');

function stream(steps: number): StepValues[] {
  let seed = 42;
  const rand = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const out: StepValues[] = [];
  for (let s = 0; s < steps; s++) {
    const values = new Map<string, number>();
    for (const name of TRAINER_METRICS) {
      const noise = rand() - 0.5;
      let v = 1 + 0.1 * noise;
      if (name.startsWith(METRIC_PREFIX.lr)) v = 2e-4;
      else if (name.startsWith(METRIC_PREFIX.lambda) || name.startsWith(METRIC_PREFIX.clip)) v = 1;
      else if (name.endsWith('_acc')) v = 0.7 + 0.2 * noise;
      else if (name.startsWith(METRIC_PREFIX.gradNorm)) v = Math.exp(noise);
      values.set(name, v);
    }
    out.push({ step: s, wall: s, values });
  }
  return out;
}

function detectorCost(points: StepValues[]): { ms: number; baselineMs: number } {
  const detectors = DETECTOR_FACTORIES.filter((f) => f.defaults.enabled).map((f) => f.create({ settings: f.defaults }));
  // Baseline: one pass over the same values doing the least a detector must (read every value).
  let t0 = performance.now();
  let sink = 0;
  for (const p of points) for (const v of p.values.values()) sink += v;
  const baselineMs = performance.now() - t0;
  t0 = performance.now();
  for (const p of points) for (const d of detectors) d.observe(p);
  const ms = performance.now() - t0;
  if (sink === 42) console.log(''); // keep the baseline loop from being optimised away
  return { ms, baselineMs };
}

async function ingestRate(detectorsOn: boolean): Promise<number> {
  const server = await startServer();
  if (!detectorsOn) {
    const rules = Object.fromEntries(DETECTOR_FACTORIES.map((f) => [f.rule, { enabled: false }]));
    await api(server, 'PUT', '/api/v1/alerts/config', { rules });
  }
  const id = (await api(server, 'POST', '/api/v1/runs', { name: `bench-alerts-${detectorsOn}` })).body.id;
  const url = `${server.url.replace('http', 'ws')}/api/v1/ingest?run=${id}`;
  const steps = 40_000;
  const ms = await runIngestClient(url, TRAINER_METRICS.join(','), steps, 250, 4);
  await server.stop();
  return (steps * TRAINER_METRICS.length) / (ms / 1000);
}

export async function run(): Promise<void> {
  const steps = Math.ceil(1_000_000 / TRAINER_METRICS.length);
  const points = stream(steps);
  detectorCost(points.slice(0, 2000)); // warm up the JIT
  const { ms, baselineMs } = detectorCost(points);
  const values = steps * TRAINER_METRICS.length;
  console.log(
    `all detectors, ${values.toLocaleString()} points (${steps.toLocaleString()} steps × ${TRAINER_METRICS.length} metrics): ${ms.toFixed(0)} ms (${((ms * 1000) / values).toFixed(2)} µs/point)  (goal < 1000 ms)`,
  );
  console.log(
    `baseline, reading every value once:                 ${baselineMs.toFixed(0)} ms; detectors cost ${(ms / baselineMs).toFixed(0)}× a bare read`,
  );
  // Alternate off/on twice so drift on a shared machine hits both.
  const off: number[] = [];
  const on: number[] = [];
  for (let i = 0; i < 2; i++) {
    off.push(await ingestRate(false));
    on.push(await ingestRate(true));
  }
  const best = (xs: number[]): number => Math.max(...xs);
  console.log(
    `ingest with detectors on:  ${Math.round(best(on)).toLocaleString()} points/s (best of 2; 40,000 steps × ${TRAINER_METRICS.length} metrics)`,
  );
  console.log(`ingest with detectors off: ${Math.round(best(off)).toLocaleString()} points/s (best of 2, same run)`);
  console.log(`ratio on / off:            ${(best(on) / best(off)).toFixed(2)}  (goal ≥ 0.9)`);
}
