// The trainer's WebSocket (/api/v1/ingest?run=ID): frames in both directions.
import { Type, type Static } from 'typebox';
import { DistributionBatch } from './distributions.js';
import { PointBatch } from './points.js';
import { RunStatus } from './runs.js';

// ---- trainer → server ----
export const PointsFrame = Type.Object(
  {
    type: Type.Literal('points'),
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    points: PointBatch,
  },
  { additionalProperties: false },
);
/** Histograms, acknowledged like points (an ack's `accepted` counts the records stored). */
export const DistributionsFrame = Type.Object(
  {
    type: Type.Literal('distributions'),
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    distributions: DistributionBatch,
  },
  { additionalProperties: false },
);
export const ControlResultFrame = Type.Object(
  {
    type: Type.Literal('control_result'),
    id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
    ok: Type.Boolean(),
    step: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    message: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);
/** The trainer reports a status change (finished, failed, paused, running) on the same socket. */
export const StatusFrame = Type.Object(
  {
    type: Type.Literal('status'),
    seq: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    status: RunStatus,
  },
  { additionalProperties: false },
);
export const IngestClientFrame = Type.Union([PointsFrame, DistributionsFrame, ControlResultFrame, StatusFrame]);
export type PointsFrame = Static<typeof PointsFrame>;
export type DistributionsFrame = Static<typeof DistributionsFrame>;
export type ControlResultFrame = Static<typeof ControlResultFrame>;
export type StatusFrame = Static<typeof StatusFrame>;
export type IngestClientFrame = Static<typeof IngestClientFrame>;

// ---- server → trainer ----
export interface AckFrame {
  type: 'ack';
  seq: number;
  /** Points stored by this frame (0 for status frames). */
  accepted: number;
}
export interface ErrorFrame {
  type: 'error';
  seq: number | null;
  code: string;
  message: string;
}
export interface ControlFrame {
  type: 'control';
  id: number;
  action: string;
  args: Record<string, unknown>;
}
export type IngestServerFrame = AckFrame | ErrorFrame | ControlFrame;
