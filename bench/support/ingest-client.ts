// Ingest benchmark client (a separate process): pushes METRICS × STEPS points over the ingest socket with a window of
// frames in flight, and prints the elapsed time once the last frame is acked.
import WebSocket from 'ws';
import { METRIC, METRIC_PREFIX } from '../../protocol/metric-names.js';

// METRICS is a count (names m0/loss, m1/loss, ...) or a comma-separated list of metric names.
// With --start-on-go it prints `ready` once connected and starts on a line on stdin, so that several clients, each
// started in its own process, send at the same moment (their start-up is then not part of what is measured).
const [url, metricsArg, stepsArg, perFrameArg, windowArg, startArg] = process.argv.slice(2);
const listed = /^\d+$/.test(metricsArg!) ? null : metricsArg!.split(',');
const metrics = listed ? listed.length : Number(metricsArg);
const steps = Number(stepsArg);
const stepsPerFrame = Number(perFrameArg);
const window = Number(windowArg);
const names = listed ?? Array.from({ length: metrics }, (_, i) => `m${i}/loss`);

/** Trainer-like values for trainer metric names (so the alert detectors do real work), a sine wave otherwise. */
function valueOf(name: string, s: number, m: number): number {
  const noise = Math.sin(s * 12.9898 + m * 78.233) * 0.5;
  if (name.startsWith(METRIC_PREFIX.lr)) return 2e-4;
  if (name.startsWith(METRIC_PREFIX.lambda) || name.startsWith(METRIC_PREFIX.clip)) return 1;
  if (name.endsWith('_acc')) return 0.7 + 0.1 * noise;
  if (name.startsWith(METRIC_PREFIX.gradNorm)) return Math.exp(noise);
  if (name.startsWith(METRIC_PREFIX.loss) || name === METRIC.cycError || name === METRIC.latentMse)
    return 1 + 0.1 * noise;
  return s === 654_321 && m === 0 ? 1e6 : Math.sin(s / 1000 + m);
}

function frame(seq: number): string {
  const points = [];
  const from = seq * stepsPerFrame;
  for (let s = from; s < Math.min(steps, from + stepsPerFrame); s++) {
    const values: Record<string, number> = {};
    for (let m = 0; m < metrics; m++) values[names[m]!] = valueOf(names[m]!, s, m);
    points.push({ step: s, wall: 1_700_000_000 + s / 100, values });
  }
  return JSON.stringify({ type: 'points', seq, points });
}

const frames = Math.ceil(steps / stepsPerFrame);
const socket = new WebSocket(url!);
socket.on('open', () => {
  if (startArg !== '--start-on-go') return start();
  process.stdout.write('ready\n');
  process.stdin.once('data', start);
});

function start(): void {
  let next = 0;
  let acked = 0;
  const t0 = performance.now();
  const pump = (): void => {
    while (next < frames && next - acked < window) socket.send(frame(next++));
  };
  socket.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    if (msg.type !== 'ack') {
      console.error('unexpected frame', msg);
      process.exit(1);
    }
    acked++;
    if (acked === frames) {
      console.log(JSON.stringify({ ms: performance.now() - t0, frames }));
      socket.close();
    } else pump();
  });
  pump();
}
socket.on('error', (e) => {
  console.error(e);
  process.exit(1);
});
