// The write path shared by HTTP and the ingest socket: one transaction per batch, then the live hub and listeners.
import type { LivePoint, Point } from '../protocol/index.js';
import type { RunRef, Store } from '../db/store.js';
import type { LiveHub } from './hub.js';

/** Something that observes every committed batch (the alert engine). Must not throw and must be fast. */
export interface PointsListener {
  onPoints(run: RunRef, points: readonly LivePoint[]): void;
}

export class IngestService {
  constructor(
    private readonly store: Store,
    private readonly hub: LiveHub,
    private readonly listeners: readonly PointsListener[],
  ) {}

  /**
   * Commits a validated batch; returns the number of values stored. Only returns after the commit. `onCommitted`
   * runs right after the commit, before the live pushes and the detectors: the trainer's ack need not wait for them.
   */
  write(run: RunRef, points: readonly Point[], onCommitted?: (accepted: number) => void): number {
    const wall = Date.now() / 1000;
    const accepted = this.store.points.write(run.rid, points, wall);
    onCommitted?.(accepted);
    const live: LivePoint[] = points.map((p) => ({ step: p.step, wall: p.wall ?? wall, values: p.values }));
    this.hub.publish(run.id, { type: 'points', run: run.id, points: live });
    for (const l of this.listeners) l.onPoints(run, live);
    return accepted;
  }
}
