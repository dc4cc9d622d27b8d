// The messages between the projection service (main thread) and its worker thread, and what the worker does with
// one (a plain function, so a test can run a job in-process with a registry of its own).
import {
  projectCodes,
  separationOf,
  type PreviousProjection,
  type ProjectOutput,
  type SeparationOutput,
} from './compute.js';
import { PROJECTION_METHODS, type ProjectionMethods } from './methods/index.js';

export type JobRequest =
  | {
      id: number;
      kind: 'project';
      /** A registered method's name. */
      method: string;
      codes: Float32Array;
      dim: number;
      labels: Int32Array | null;
      previous: PreviousProjection | null;
      seed: number;
    }
  | { id: number; kind: 'separation'; codes: Float32Array; dim: number; labels: Int32Array | null };

export type JobReply =
  | { id: number; ok: true; kind: 'project'; result: ProjectOutput }
  | { id: number; ok: true; kind: 'separation'; result: SeparationOutput }
  | { id: number; ok: false; error: string };

/** Computes one job; a failure (an unknown method, codes it cannot project) is a reply, never a throw. */
export function runJob(job: JobRequest, methods: ProjectionMethods = PROJECTION_METHODS): JobReply {
  try {
    if (job.kind === 'separation')
      return { id: job.id, ok: true, kind: 'separation', result: separationOf(job.codes, job.dim, job.labels) };
    const result = projectCodes({
      method: job.method,
      codes: job.codes,
      dim: job.dim,
      labels: job.labels,
      previous: job.previous,
      seed: job.seed,
      methods,
    });
    return { id: job.id, ok: true, kind: 'project', result };
  } catch (err) {
    return { id: job.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
