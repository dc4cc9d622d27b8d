// The store: the one writer connection and the repositories over it. Everything that speaks SQL is in db/.
import { checkpointWal, openConnection, type Connection, type OpenOptions } from './connection.js';
import { AlertsRepo } from './alerts.js';
import { ControlsRepo } from './controls.js';
import { LatentsRepo } from './latents.js';
import { MarkersRepo } from './markers.js';
import { MediaRepo } from './media.js';
import { PointsRepo } from './points.js';
import { ProjectionsRepo } from './projections.js';
import { RunsRepo } from './runs.js';
import { SeriesRepo } from './series.js';
import { SettingsRepo } from './settings.js';

export class Store {
  readonly runs: RunsRepo;
  readonly points: PointsRepo;
  readonly series: SeriesRepo;
  readonly media: MediaRepo;
  readonly latents: LatentsRepo;
  readonly controls: ControlsRepo;
  readonly alerts: AlertsRepo;
  readonly markers: MarkersRepo;
  readonly settings: SettingsRepo;
  readonly projections: ProjectionsRepo;

  private constructor(
    readonly db: Connection,
    readonly path: string,
  ) {
    this.runs = new RunsRepo(db);
    this.points = new PointsRepo(db, this.runs);
    this.series = new SeriesRepo(db);
    this.media = new MediaRepo(db);
    this.latents = new LatentsRepo(db);
    this.controls = new ControlsRepo(db);
    this.alerts = new AlertsRepo(db, this.controls);
    this.markers = new MarkersRepo(db);
    this.settings = new SettingsRepo(db);
    this.projections = new ProjectionsRepo(db);
  }

  static open(path: string, options: OpenOptions = {}): Store {
    return new Store(openConnection(path, options), path);
  }

  /** Deletes a run and everything it owns. */
  deleteRun(id: string): boolean {
    const deleted = this.runs.delete(id);
    if (deleted) this.points.forgetRun();
    return deleted;
  }

  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    if (!this.db.open) return;
    checkpointWal(this.db);
    this.db.close();
  }
}

export { now } from './runs.js';
export type { RunRef } from './runs.js';
export type { SeriesResult, ExportRow } from './series.js';
export type { MediaRow } from './media.js';
export type { LatentRecord } from './latents.js';
export type { PendingWork, ProjectionRecord, ProjectionSummaryRecord, SeparationRecord } from './projections.js';
export type { NewAlert } from './alerts.js';
