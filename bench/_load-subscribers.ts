// Load benchmark client (a separate process): COUNT live sockets, each subscribed to every run ('*', as the dashboard's
// run list is), for SECONDS. Push latency of a points frame = arrival time − the wall time its trainer stamped when it
// sent the batch. Prints "ready" once every socket is subscribed, then one JSON line: points received per socket and
// a sample of latencies (ms).
// argv: serverUrl count seconds
import WebSocket from 'ws';
import { record, type Histogram } from './_latency.js';

const [url, countArg, secondsArg] = process.argv.slice(2);
const count = Number(countArg);
const seconds = Number(secondsArg);
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
  });
  ws.on('error', (err) => process.stderr.write(`subscriber ${i}: ${err.message}\n`));
}

setTimeout(() => {
  for (const ws of sockets) ws.terminate();
  // Exit only once the line is flushed: a pipe is asynchronous and exit() would cut it.
  process.stdout.write(JSON.stringify({ received, latencies }) + '\n', () => process.exit(0));
}, seconds * 1000);
