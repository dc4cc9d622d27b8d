// Where a run's detectors run: on exactly one server at a time, the one holding the run (its trainer is connected
// there). Batches written on another server reach the holder as relayed live frames and are fed to its detectors
// there. A run that no live server holds (points sent over HTTP with no trainer connected anywhere) is watched by the
// server that received the batch. When another server claims the run, this one drops its detector state; the holder
// builds its own from the store: the firing alerts, and the detectors' statistics learnt again from the run's recent
// history (AlertEngine's replay), so alerts move with the run, neither lost, delayed by a warm-up, nor doubled (at most
// one alert per rule and key fires, by a unique index).
import type { Distribution, LivePoint } from '../../protocol/index.js';
import type { RunRef } from '../../db/store.js';
import type { PointsListener } from '../services/ingest.js';
import type { PresenceService } from './presence.js';

export class DetectorLease implements PointsListener {
  constructor(
    private readonly presence: PresenceService,
    private readonly detectors: PointsListener & { forgetRun(id: string): void },
    private readonly log: (msg: string, err?: unknown) => void,
  ) {}

  /** A batch committed on this server. */
  async onPoints(run: RunRef, points: readonly LivePoint[]): Promise<void> {
    if (await this.watchedHere(run)) await this.detectors.onPoints(run, points);
  }

  /** Histograms committed on this server. */
  async onDistributions(run: RunRef, records: readonly Distribution[]): Promise<void> {
    if (await this.watchedHere(run)) await this.detectors.onDistributions?.(run, records);
  }

  /** A batch committed on another server: watched here only if this server holds the run. */
  async onRelayedPoints(run: RunRef, points: readonly LivePoint[]): Promise<void> {
    if (this.presence.holds(run.id)) await this.detectors.onPoints(run, points);
  }

  /** Histograms committed on another server (read back from the store): the same. */
  async onRelayedDistributions(run: RunRef, records: readonly Distribution[]): Promise<void> {
    if (this.presence.holds(run.id)) await this.detectors.onDistributions?.(run, records);
  }

  private async watchedHere(run: RunRef): Promise<boolean> {
    let holder: string | null;
    try {
      holder = await this.presence.holder(run);
    } catch (err) {
      this.log(`detector lease of run ${run.id}`, err);
      holder = null; // the database is unreachable: better watched twice than not at all
    }
    return holder === null || holder === this.presence.id;
  }

  /** Another server holds the run now: its detector state here is stale from this moment. */
  movedAway(runId: string): void {
    this.detectors.forgetRun(runId);
  }
}
