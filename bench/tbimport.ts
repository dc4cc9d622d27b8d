// `npm run bench -- tbimport`: `ganwatch import tensorboard` on a generated log directory of 500,000 scalar values
// (10 tags × 50,000 steps), written PyTorch-style (one value per event) and TF1-style (10 values per event), against
// the ingest socket's rate for the same 500,000 values pushed by bench/support/ingest-client.ts to the same server, in the
// same run (before and after the imports). Each rate is timed from what its process reports (first run found →
// summary; socket open → last ack), so neither counts Node's start-up.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { api, startServer, tempDir } from '../harness/server.js';
import { startImporter } from '../harness/importer.js';
import { records, simpleScalar, simpleScalars } from '../harness/tfevents.js';
import { runIngestClient } from './ingest.js';

const TAGS = 10;
const STEPS = 50_000;
const WALL = 1_700_000_000;
const tagOf = (t: number): string => `m${t}/loss`;
const valueOf = (s: number, t: number): number => Math.sin(s / 1000 + t);

/** Writes the log directory: one run, `perEvent` values in each event. Returns its size in bytes. */
function writeLogdir(dir: string, perEvent: 1 | typeof TAGS): number {
  const events = [];
  for (let s = 0; s < STEPS; s++) {
    const wall = WALL + s / 100;
    if (perEvent === 1) for (let t = 0; t < TAGS; t++) events.push(simpleScalar(s, wall, tagOf(t), valueOf(s, t)));
    else
      events.push(
        simpleScalars(s, wall, Object.fromEntries(Array.from({ length: TAGS }, (_, t) => [tagOf(t), valueOf(s, t)]))),
      );
  }
  const bytes = Buffer.concat([records([{ wall_time: WALL, file_version: 'brain.Event:2' }]), records(events)]);
  mkdirSync(join(dir, 'run'), { recursive: true });
  writeFileSync(join(dir, 'run', 'events.out.tfevents.1700000000.bench'), bytes);
  return bytes.length;
}

async function importRate(
  serverUrl: string,
  logdir: string,
  cwd: string,
): Promise<{ rate: number; ms: number; id: string }> {
  const importer = startImporter([logdir, '--server', serverUrl, '--json'], cwd);
  const run = await importer.next((r) => r.event === 'run', 600_000);
  const t0 = performance.now();
  const summary = await importer.next((r) => r.event === 'summary', 600_000);
  const ms = performance.now() - t0;
  const code = await importer.wait();
  if (code !== 0) throw new Error(`importer exited with ${code}: ${importer.stderr}`);
  return { rate: summary.totals.points / (ms / 1000), ms, id: run.id };
}

async function storedPoints(server: { url: string }, id: string): Promise<number> {
  const metrics = (await api(server, 'GET', `/api/v1/runs/${id}/metrics`)).body.metrics as Array<{ count: number }>;
  return metrics.reduce((n, m) => n + m.count, 0);
}

export async function run(): Promise<void> {
  const total = TAGS * STEPS;
  const work = tempDir('ganwatch-bench-tb-');
  const pytorchDir = join(work, 'pytorch');
  const tf1Dir = join(work, 'tf1');
  const pytorchBytes = writeLogdir(pytorchDir, 1);
  const tf1Bytes = writeLogdir(tf1Dir, TAGS);

  const server = await startServer();
  try {
    // The baseline runs before and after the imports (the machine's load drifts); the ratio uses their mean.
    const ingestOnce = async (): Promise<number> => {
      const id = (await api(server, 'POST', '/api/v1/runs', { name: 'bench-tbimport-ingest' })).body.id;
      const url = `${server.url.replace('http', 'ws')}/api/v1/ingest?run=${id}`;
      return runIngestClient(url, String(TAGS), STEPS, 1000, 4);
    };
    const ingestBeforeMs = await ingestOnce();
    const pytorch = await importRate(server.url, pytorchDir, work);
    const tf1 = await importRate(server.url, tf1Dir, work);
    const ingestAfterMs = await ingestOnce();
    const ingestMs = (ingestBeforeMs + ingestAfterMs) / 2;
    const ingest = total / (ingestMs / 1000);
    for (const r of [pytorch, tf1]) {
      const stored = await storedPoints(server, r.id);
      if (stored !== total) throw new Error(`the import stored ${stored} of ${total} values`);
    }

    const line = (label: string, r: { rate: number; ms: number }, what: string): void =>
      console.log(
        `${label}${Math.round(r.rate).toLocaleString('en')} values/s (${(r.ms / 1000).toFixed(2)} s, ${what})`,
      );
    console.log(`values stored per import:   ${total.toLocaleString('en')} (10 tags × 50,000 steps), all checked`);
    line('import, PyTorch-style:      ', pytorch, `${(pytorchBytes / 1e6).toFixed(1)} MB, one value per event`);
    line('import, TF1-style:          ', tf1, `${(tf1Bytes / 1e6).toFixed(1)} MB, 10 values per event`);
    line(
      'baseline WS ingest:         ',
      { rate: ingest, ms: ingestMs },
      `mean of ${(ingestBeforeMs / 1000).toFixed(2)} s before and ${(ingestAfterMs / 1000).toFixed(2)} s after the imports; frames of 1,000 steps × 10 metrics, 4 in flight`,
    );
    console.log(
      `ratio import / ingest:      ${(pytorch.rate / ingest).toFixed(2)} (PyTorch-style), ${(tf1.rate / ingest).toFixed(2)} (TF1-style)`,
    );
  } finally {
    await server.stop();
  }
}
