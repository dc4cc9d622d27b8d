// Load benchmark client (a separate process): COUNT live sockets, each subscribed to every run ('*', as the dashboard's
// run list is), until each has received EXPECTED points (every step of every trainer), or for SECONDS at most (a hang
// guard: a loaded machine delivers late, not never). Push latency of a points frame = arrival time − the wall time its trainer stamped when it
// sent the batch. Prints "ready" once every socket is subscribed, then one JSON line: points received per socket and
// a sample of latencies (ms).
// argv: serverUrl count seconds expected
import WebSocket from 'ws';
import { record, type Histogram } from './latency.js';

const [url, countArg, secondsArg, expectedArg] = process.argv.slice(2);
const count = Number(countArg);
const seconds = Number(secondsArg);
const expected = Number(expectedArg ?? Infinity);
const nowMs = (): number => performance.timeOrigin + performance.now();

const latencies: Histogram = {};
const received: number[] = new Array<number>(count).fill(0);
const sockets: WebSocket[] = [];
let subscribed = 0;

for (let i = 0; i < count; i++) {
  const ws = new WebSocket(`${url!.replace(/^http/, 'ws')}/api/v1/live`, { perMessageDeflate: false });
  sockets.push(ws);
  ws.on('open', () => ws.send(JSON.stringify({ type: 'subscribe', runs: ['*'] })));
  ws.on('message', (data) => {
    const frame = JSON.parse(data.toString()) as { type: string; points?: Array<{ wall: number }> };
    if (frame.type === 'subscribed') {
      if (++subscribed === count) process.stdout.write('ready\n');
      return;
    }
    if (frame.type !== 'points' || !frame.points) return;
    received[i]! += frame.points.length;
    let wall = 0;
    for (const p of frame.points) if (p.wall > wall) wall = p.wall;
    record(latencies, nowMs() - wall * 1000);
    if (received.every((n) => n >= expected)) finish();
  });
  ws.on('error', (err) => process.stderr.write(`subscriber ${i}: ${err.message}\n`));
}

let finished = false;
function finish(): void {
  if (finished) return;
  finished = true;
  for (const ws of sockets) ws.terminate();
  // Exit only once the line is flushed: a pipe is asynchronous and exit() would cut it.
  process.stdout.write(JSON.stringify({ received, latencies }) + '\n', () => process.exit(0));
}
setTimeout(finish, seconds * 1000);
