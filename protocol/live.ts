// The browser's WebSocket (/api/v1/live): subscribe to runs, receive what happens to them.
import { Type, type Static } from 'typebox';
import type { Alert, MarkerRecord } from './alerts.js';
import type { Control } from './controls.js';
import type { ProjectionMethod } from './projections.js';
import type { Run } from './runs.js';
import { RUN_SELECTOR_PATTERN } from './limits.js';
import type { WireValue } from './values.js';

/** Run ids, or ["*"] for every run. */
const RunSelection = Type.Array(Type.String({ pattern: RUN_SELECTOR_PATTERN }), { maxItems: 1000 });

export const SubscribeFrame = Type.Object(
  { type: Type.Literal('subscribe'), runs: RunSelection },
  { additionalProperties: false },
);
export const UnsubscribeFrame = Type.Object(
  { type: Type.Literal('unsubscribe'), runs: RunSelection },
  { additionalProperties: false },
);
export const LiveClientFrame = Type.Union([SubscribeFrame, UnsubscribeFrame]);
export type LiveClientFrame = Static<typeof LiveClientFrame>;

/** Points as pushed live: one entry per step, values already in wire form. */
export interface LivePoint {
  step: number;
  wall: number;
  values: Record<string, WireValue>;
}

export type LiveServerFrame =
  | { type: 'points'; run: string; points: LivePoint[] }
  | { type: 'run'; run: Run }
  | { type: 'run_deleted'; run: string }
  | { type: 'control'; run: string; control: Control }
  | { type: 'media'; run: string; id: number; epoch: number; step: number; kind: string }
  | { type: 'latents'; run: string; epoch: number }
  /** Histograms of `name` were stored, up to `step`: GET /runs/:id/distributions?name= */
  | { type: 'distribution'; run: string; name: string; step: number }
  /** A projection of the epoch's latent codes is ready: GET /runs/:id/projections?epoch=&method= */
  | { type: 'projection'; run: string; epoch: number; method: ProjectionMethod }
  | { type: 'alert'; run: string; alert: Alert }
  | { type: 'marker'; run: string; marker: MarkerRecord }
  | { type: 'error'; code: string; message: string }
  | { type: 'subscribed'; runs: string[] }
  /**
   * Frames may have been missed (this server's link to the other servers sharing its store was down and is back):
   * reload what is shown, as after a reconnect.
   */
  | { type: 'resync' };
