// Load benchmark client (a separate process): simulated trainers, one ingest socket each, pushing METRICS values per
// step at RATE steps/s for SECONDS, in batches every FLUSH ms as the monitor client does. Each point's wall time is
// the moment its batch is sent, so live subscribers can measure push latency. Prints one JSON line: steps sent and
// acked per run and every ack latency (ms).
// argv: serverUrl runIds(comma) metrics rate seconds flushMs
import WebSocket from 'ws';
import { METRIC_PREFIX, STEP_METRICS } from '../../protocol/metric-names.js';
import { record, type Histogram } from './latency.js';

const [url, runsArg, metricsArg, rateArg, secondsArg, flushArg] = process.argv.slice(2);
const runs = runsArg!.split(',');
const metrics = Number(metricsArg);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const flushMs = Number(flushArg);

const names = Array.from({ length: metrics }, (_, i) => STEP_METRICS[i] ?? `extra/m${i}`);

/** Trainer-like values, so the alert detectors do their ordinary work. */
function valueOf(name: string, s: number, m: number): number {
  const noise = Math.sin(s * 12.9898 + m * 78.233) * 0.5;
  if (name.startsWith(METRIC_PREFIX.lr)) return 2e-4;
  if (name.endsWith('_acc')) return 0.7 + 0.1 * noise;
  if (name.startsWith(METRIC_PREFIX.gradNorm)) return Math.exp(noise);
  return 1 + 0.1 * noise + 1 / (1 + s / 1000);
}

const nowSeconds = (): number => (performance.timeOrigin + performance.now()) / 1000;

interface TrainerResult {
  run: string;
  steps: number;
  ackedSteps: number;
  frames: number;
  errors: string[];
}

const latencies: Histogram = {};

function trainer(run: string): Promise<TrainerResult> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${url!.replace(/^http/, 'ws')}/api/v1/ingest?run=${run}`, { perMessageDeflate: false });
    const sentAt = new Map<number, { t: number; steps: number }>();
    const result: TrainerResult = { run, steps: 0, ackedSteps: 0, frames: 0, errors: [] };
    let seq = 0;
    let timer: NodeJS.Timeout | null = null;
    let t0 = 0;
    const finish = (): void => {
      if (timer) clearInterval(timer);
      ws.close();
      resolve(result);
    };
    const flush = (): void => {
      const due = Math.min(Math.floor(((performance.now() - t0) / 1000) * rate), Math.round(seconds * rate));
      if (due <= result.steps) return;
      const wall = nowSeconds();
      const points = [];
      for (let s = result.steps; s < due; s++) {
        const values: Record<string, number> = {};
        for (let m = 0; m < metrics; m++) values[names[m]!] = valueOf(names[m]!, s, m);
        points.push({ step: s, wall, values });
      }
      sentAt.set(seq, { t: performance.now(), steps: points.length });
      ws.send(JSON.stringify({ type: 'points', seq: seq++, points }));
      result.steps = due;
      result.frames++;
    };
    ws.on('open', () => {
      // Spread the trainers' flushes over the interval, as independent processes would be.
      setTimeout(() => {
        t0 = performance.now();
        timer = setInterval(() => {
          flush();
          if (result.steps >= Math.round(seconds * rate) && timer) {
            clearInterval(timer);
            timer = null;
            // Give the last acks up to 30 s, then report whatever arrived.
            setTimeout(finish, 30_000).unref();
          }
        }, flushMs);
      }, Math.random() * flushMs);
    });
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; seq: number; code?: string; message?: string };
      if (frame.type === 'ack') {
        const sent = sentAt.get(frame.seq);
        if (!sent) return;
        sentAt.delete(frame.seq);
        record(latencies, performance.now() - sent.t);
        result.ackedSteps += sent.steps;
        if (timer === null && sentAt.size === 0 && result.steps >= Math.round(seconds * rate)) finish();
      } else if (frame.type === 'error') {
        result.errors.push(`${frame.code}: ${frame.message}`);
      }
    });
    ws.on('error', (err) => {
      result.errors.push(err.message);
      finish();
    });
  });
}

const results = await Promise.all(runs.map(trainer));
// Exit only once the line is flushed: a pipe is asynchronous and exit() would cut it.
process.stdout.write(JSON.stringify({ results, latencies }) + '\n', () => process.exit(0));
