// The projection worker thread: runs one job at a time from the projection service, off the server's event loop.
import { parentPort } from 'node:worker_threads';
import { projectCodes, separationOf } from './compute.js';
import type { JobReply, JobRequest } from './jobs.js';

const port = parentPort;
if (!port) throw new Error('server/projections/worker.ts runs only as a worker thread');

port.on('message', (job: JobRequest) => {
  let reply: JobReply;
  try {
    if (job.kind === 'separation')
      reply = { id: job.id, ok: true, kind: 'separation', result: separationOf(job.codes, job.dim, job.labels) };
    else {
      const result = projectCodes({
        method: job.method,
        codes: job.codes,
        dim: job.dim,
        labels: job.labels,
        previous: job.previous,
        seed: job.seed,
      });
      reply = { id: job.id, ok: true, kind: 'project', result };
    }
  } catch (err) {
    reply = { id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  const transfer = reply.ok && reply.kind === 'project' ? [reply.result.xy.buffer] : [];
  port.postMessage(reply, transfer as ArrayBuffer[]);
});
