// The write path shared by HTTP and the ingest socket: one transaction per batch, then the live hub and listeners
// (distributions take the same path and queue, so a run's points and histograms commit in the order they came).
// Batches of one run are written one after another, so the hub and the detectors see them in commit order even when
// the store commits asynchronously (PostgreSQL) and several requests for the same run are in flight.
import { gwError, histogramProblem, type Distribution, type LivePoint, type Point } from '../../protocol/index.js';
import type { RunRef, Store } from '../../db/store.js';
import type { LiveHub } from './live-hub.js';

/** Something that observes every committed batch of a run, in commit order (the alert engine). Must not throw. */
export interface PointsListener {
  onPoints(run: RunRef, points: readonly LivePoint[]): Promise<void> | void;
  /** A committed batch of histograms, in the same order as the points around it. */
  onDistributions?(run: RunRef, records: readonly Distribution[]): Promise<void> | void;
}

export class IngestService {
  /** The last write queued per run: the next one starts when it is done. */
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly hub: LiveHub,
    private readonly listeners: readonly PointsListener[],
  ) {}

  /**
   * Commits a validated batch; resolves with the number of values stored, only after the commit. `onCommitted` runs
   * right after the commit, before the live pushes and the detectors: the trainer's ack need not wait for them. The
   * next batch of the same run is committed only after this one's listeners have seen it.
   */
  write(run: RunRef, points: readonly Point[], onCommitted?: (accepted: number) => void): Promise<number> {
    return this.inOrder(run, () => this.commit(run, points, onCommitted));
  }

  /**
   * Commits a batch of histograms (checked here: GW_ERR_DISTRIBUTION_SHAPE names the first bad record, and nothing is
   * stored), then tells the live hub which names got which steps. Queued with the run's point batches.
   */
  writeDistributions(
    run: RunRef,
    records: readonly Distribution[],
    onCommitted?: (accepted: number) => void,
  ): Promise<number> {
    checkDistributions(records);
    return this.inOrder(run, async () => {
      const accepted = await this.store.distributions.write(run, records);
      onCommitted?.(accepted);
      const latest = new Map<string, number>();
      for (const d of records) latest.set(d.name, Math.max(d.step, latest.get(d.name) ?? 0));
      for (const [name, step] of latest) this.hub.publish(run.id, { type: 'distribution', run: run.id, name, step });
      for (const l of this.listeners) await l.onDistributions?.(run, records);
      return accepted;
    });
  }

  private inOrder(run: RunRef, work: () => Promise<number>): Promise<number> {
    const previous = this.tails.get(run.id);
    const done = previous ? previous.then(work) : work();
    const tail = done.catch(() => undefined);
    this.tails.set(run.id, tail);
    void tail.then(() => {
      if (this.tails.get(run.id) === tail) this.tails.delete(run.id);
    });
    return done;
  }

  private async commit(
    run: RunRef,
    points: readonly Point[],
    onCommitted?: (accepted: number) => void,
  ): Promise<number> {
    const wall = Date.now() / 1000;
    const accepted = await this.store.points.write(run, points, wall);
    onCommitted?.(accepted);
    const live: LivePoint[] = points.map((p) => ({ step: p.step, wall: p.wall ?? wall, values: p.values }));
    this.hub.publish(run.id, { type: 'points', run: run.id, points: live });
    for (const l of this.listeners) await l.onPoints(run, live);
    return accepted;
  }
}

/** Throws GW_ERR_DISTRIBUTION_SHAPE for the first record whose edges and counts do not fit together. */
export function checkDistributions(records: readonly Distribution[]): void {
  for (let i = 0; i < records.length; i++) {
    const d = records[i]!;
    const problem = histogramProblem({ edges: d.edges, counts: d.counts, nonFinite: d.nonFinite ?? 0 });
    if (problem !== null) throw gwError('GW_ERR_DISTRIBUTION_SHAPE', String(i), d.name, String(d.step), problem);
  }
}
