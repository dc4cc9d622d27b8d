// The projection worker thread: runs one job at a time from the projection service, off the server's event loop.
import { parentPort } from 'node:worker_threads';
import { runJob, type JobRequest } from './jobs.js';

const port = parentPort;
if (!port) throw new Error('server/projections/worker.ts runs only as a worker thread');

port.on('message', (job: JobRequest) => {
  const reply = runJob(job);
  const transfer = reply.ok && reply.kind === 'project' ? [reply.result.xy.buffer] : [];
  port.postMessage(reply, transfer as ArrayBuffer[]);
});
