// The messages between the projection service (main thread) and its worker thread.
import type { ProjectionMethod } from '../../protocol/index.js';
import type { PreviousProjection, ProjectOutput, SeparationOutput } from './compute.js';

export type JobRequest =
  | {
      id: number;
      kind: 'project';
      method: ProjectionMethod;
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
