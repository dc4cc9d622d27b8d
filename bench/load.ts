// `npm run bench -- load [--seconds=N]`: 32 simulated trainers (real ingest sockets, in 4 client processes) each push
// 20 metrics at 100 steps/s in 200 ms batches, while 20 live subscribers (2 processes) watch every run, for 60 s on
// loopback. Reports points lost (goal 0), p50/p99 ack latency (goal p99 ≤ 100 ms), p50/p99 live-push latency, and the
// server's RSS (goal ≤ 500 MB). Baseline in the same run: the same trainers' ack latency with no subscribers, 10 s.
// `test/reliability/load.test.ts` runs a short version with the zero-loss assertion. `npm run bench -- pg` runs the same
// load on two servers sharing one PostgreSQL store (runLoad's `servers` and `location`).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, api, startServer, type RunningServer } from '../harness/server.js';
import { summary, type Histogram } from './support/latency.js';

export interface LoadOptions {
  trainers: number;
  subscribers: number;
  seconds: number;
  metrics?: number;
  stepsPerSecond?: number;
  flushMs?: number;
  trainerProcesses?: number;
  subscriberProcesses?: number;
  /** Servers sharing the store (default 1); trainer and subscriber processes are spread over them. */
  servers?: number;
  /** The store (default: a fresh SQLite file); several servers need a postgres:// URL. */
  location?: string;
}

export interface LoadResult {
  trainers: number;
  subscribers: number;
  seconds: number;
  /** Values the trainers sent, values acknowledged, values stored (from the server's metric counts). */
  sent: number;
  acked: number;
  stored: number;
  lost: number;
  errors: string[];
  ackMs: { p50: number; p99: number; max: number; count: number };
  liveMs: { p50: number; p99: number; max: number; count: number };
  /** Points each subscriber received, against the steps all trainers sent. */
  livePointsPerSubscriber: { min: number; expected: number };
  rssMb: { peak: number; end: number };
  /** Server CPU time over the push (all servers together), as a percentage of one core. */
  serverCpuPercent: number;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024;
  } catch {
    return Number.NaN;
  }
}

/** Runs a client script in its own process; resolves with its last stdout line parsed as JSON. */
function client<T>(script: string, args: string[], onReady?: () => void): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/support', script), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (onReady && out.includes('ready\n')) {
      const ready = onReady;
      onReady = undefined;
      ready();
    }
  });
  return new Promise((resolve, reject) =>
    child.once('close', (code) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${script} exited ${code} without a result: ${out.slice(-500)}`));
      }
    }),
  );
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const metrics = o.metrics ?? 20;
  const rate = o.stepsPerSecond ?? 100;
  const flushMs = o.flushMs ?? 200;
  const trainerProcs = Math.max(1, Math.min(o.trainers, o.trainerProcesses ?? 4));
  const subscriberProcs = o.subscribers === 0 ? 0 : Math.max(1, Math.min(o.subscribers, o.subscriberProcesses ?? 2));
  const server = await startServer(o.location ? { dbPath: o.location } : {});
  const servers: RunningServer[] = [server];
  for (let i = 1; i < (o.servers ?? 1); i++) servers.push(await startServer({ dbPath: server.dbPath }));
  try {
    const runs: string[] = [];
    for (let i = 0; i < o.trainers; i++)
      runs.push((await api<{ id: string }>(server, 'POST', '/api/v1/runs', { name: `load-${i}` })).body.id);

    // Subscribers first (they watch the whole time the trainers push, plus a margin for the last frames).
    const subscriberRuns: Array<Promise<{ received: number[]; latencies: Histogram }>> = [];
    // A subscriber process that dies before it is ready fails the run at once instead of leaving it waiting.
    await new Promise<void>((allReady, failed) => {
      let ready = 0;
      if (subscriberProcs === 0) return allReady();
      for (let p = 0; p < subscriberProcs; p++) {
        const n = Math.floor(o.subscribers / subscriberProcs) + (p < o.subscribers % subscriberProcs ? 1 : 0);
        const watching = client<{ received: number[]; latencies: Histogram }>(
          'load-subscribers.ts',
          // Each subscriber ends once it has every step of every trainer; the seconds are only a hang guard.
          [server.url, String(n), String(o.seconds + 120), String(o.trainers * rate * o.seconds)],
          () => ++ready === subscriberProcs && allReady(),
        );
        watching.catch(failed);
        subscriberRuns.push(watching);
      }
    });

    let peak = 0;
    const pids = servers.map((s) => s.process.pid!);
    const cpu = (): number => pids.reduce((n, pid) => n + cpuSeconds(pid), 0);
    const sampler = setInterval(() => (peak = Math.max(peak, ...pids.map((pid) => rssMb(pid, 'VmRSS')))), 250);
    const cpu0 = cpu();
    const t0 = performance.now();
    const trainerRuns: Array<
      Promise<{
        results: Array<{ run: string; steps: number; ackedSteps: number; errors: string[] }>;
        latencies: Histogram;
      }>
    > = [];
    for (let p = 0; p < trainerProcs; p++) {
      const mine = runs.filter((_, i) => i % trainerProcs === p);
      trainerRuns.push(
        client('load-trainers.ts', [
          servers[p % servers.length]!.url,
          mine.join(','),
          String(metrics),
          String(rate),
          String(o.seconds),
          String(flushMs),
        ]),
      );
    }
    const trained = await Promise.all(trainerRuns);
    const serverCpuPercent = ((cpu() - cpu0) / ((performance.now() - t0) / 1000)) * 100;
    const watched = await Promise.all(subscriberRuns);
    clearInterval(sampler);
    peak = Math.max(peak, ...pids.map((pid) => rssMb(pid, 'VmHWM')));
    const endRss = Math.max(...pids.map((pid) => rssMb(pid, 'VmRSS')));

    let stored = 0;
    for (const id of runs) {
      const list = (await api<{ metrics: Array<{ count: number }> }>(server, 'GET', `/api/v1/runs/${id}/metrics`)).body
        .metrics;
      stored += list.reduce((n, m) => n + m.count, 0);
    }
    const results = trained.flatMap((t) => t.results);
    const sentSteps = results.reduce((n, r) => n + r.steps, 0);
    const ackedSteps = results.reduce((n, r) => n + r.ackedSteps, 0);
    const received = watched.flatMap((w) => w.received);
    return {
      trainers: o.trainers,
      subscribers: o.subscribers,
      seconds: o.seconds,
      sent: sentSteps * metrics,
      acked: ackedSteps * metrics,
      stored,
      lost: sentSteps * metrics - stored,
      errors: results.flatMap((r) => r.errors).slice(0, 10),
      ackMs: summary(trained.map((t) => t.latencies)),
      liveMs: summary(watched.map((w) => w.latencies)),
      livePointsPerSubscriber: { min: received.length ? Math.min(...received) : 0, expected: sentSteps },
      rssMb: { peak, end: endRss },
      serverCpuPercent,
    };
  } finally {
    for (const s of servers) await s.stop();
  }
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;
  } catch {
    return 'n/a';
  }
}

const ms = (v: number): string => `${v.toFixed(1)} ms`;

export async function run(args: string[] = []): Promise<void> {
  // `--seconds=N` (npm run bench takes bare words for benchmark names).
  const given = args.find((a) => a.startsWith('--seconds='));
  const seconds = given ? Number(given.split('=')[1]) : 60;
  const baseline = await runLoad({ trainers: 32, subscribers: 0, seconds: 10 });
  const r = await runLoad({ trainers: 32, subscribers: 20, seconds });
  const rate = (r.sent / r.seconds).toFixed(0);
  console.log(
    `load:                  ${r.trainers} trainers × 20 metrics × 100 steps/s (200 ms batches, 4 processes), ${r.subscribers} live subscribers on '*' (2 processes), ${r.seconds} s, loopback`,
  );
  console.log(
    `values sent / stored:  ${r.sent.toLocaleString()} / ${r.stored.toLocaleString()} (${rate} values/s); lost ${r.lost} (goal 0)${r.errors.length ? `; errors: ${r.errors.join(' | ')}` : ''}`,
  );
  console.log(
    `ack latency:           p50 ${ms(r.ackMs.p50)}, p99 ${ms(r.ackMs.p99)}, max ${ms(r.ackMs.max)} over ${r.ackMs.count} frames (goal p99 ≤ 100 ms)`,
  );
  console.log(
    `  baseline, no live:   p50 ${ms(baseline.ackMs.p50)}, p99 ${ms(baseline.ackMs.p99)} (10 s, same trainers); ratio p99 ${(r.ackMs.p99 / baseline.ackMs.p99).toFixed(2)}`,
  );
  console.log(
    `live-push latency:     p50 ${ms(r.liveMs.p50)}, p99 ${ms(r.liveMs.p99)}, max ${ms(r.liveMs.max)} over ${r.liveMs.count} frames (batch sent → subscriber received)`,
  );
  console.log(
    `live points delivered: fewest to one subscriber ${r.livePointsPerSubscriber.min.toLocaleString()} of ${r.livePointsPerSubscriber.expected.toLocaleString()} steps`,
  );
  console.log(
    `server CPU:            ${r.serverCpuPercent.toFixed(0)}% of one core during the push (baseline without subscribers: ${baseline.serverCpuPercent.toFixed(0)}%)`,
  );
  console.log(`machine load:          ${loadAverage()} (1-minute load average at the end; 2 cores)`);
  console.log(
    `server RSS:            peak ${r.rssMb.peak.toFixed(0)} MB, at the end ${r.rssMb.end.toFixed(0)} MB (goal ≤ 500 MB)`,
  );
  if (r.lost !== 0) process.exitCode = 1;
}
