// The SQLite store: one file in WAL mode, the one writer connection and the repositories over it.
import { LocalEvents } from '../local-events.js';
import { redactLocation, type OpenOptions, type Store } from '../store.js';
import { SqliteAlertsRepo } from './alerts.js';
import { checkpointWal, openConnection, type Connection } from './connection.js';
import { SqliteControlsRepo } from './controls.js';
import { SqliteDistributionsRepo } from './distributions.js';
import { SqliteLatentsRepo } from './latents.js';
import { integrityOf } from './maintenance.js';
import { SqliteMarkersRepo } from './markers.js';
import { SqliteMediaRepo } from './media.js';
import { MemoryPresence } from './presence.js';
import { SqlitePointsRepo } from './points.js';
import { SqliteProjectionsRepo } from './projections.js';
import { SqliteRunsRepo } from './runs.js';
import { SqliteSeriesRepo } from './series.js';
import { SqliteSettingsRepo } from './settings.js';
import { SqliteUserRulesRepo } from './user-rules.js';

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly runs: SqliteRunsRepo;
  readonly points: SqlitePointsRepo;
  readonly series: SqliteSeriesRepo;
  readonly distributions: SqliteDistributionsRepo;
  readonly media: SqliteMediaRepo;
  readonly latents: SqliteLatentsRepo;
  readonly controls: SqliteControlsRepo;
  readonly alerts: SqliteAlertsRepo;
  readonly markers: SqliteMarkersRepo;
  readonly settings: SqliteSettingsRepo;
  readonly userRules: SqliteUserRulesRepo;
  readonly projections: SqliteProjectionsRepo;
  readonly presence: MemoryPresence;
  readonly events: LocalEvents;

  constructor(
    readonly db: Connection,
    readonly path: string,
  ) {
    this.location = redactLocation(path);
    // A deleted run's metric ids must not stay cached: SQLite may hand them out again.
    this.runs = new SqliteRunsRepo(db, () => this.points.forgetRun());
    this.points = new SqlitePointsRepo(db, this.runs);
    this.series = new SqliteSeriesRepo(db);
    this.distributions = new SqliteDistributionsRepo(db);
    this.media = new SqliteMediaRepo(db);
    this.latents = new SqliteLatentsRepo(db);
    this.controls = new SqliteControlsRepo(db);
    this.alerts = new SqliteAlertsRepo(db, this.controls);
    this.markers = new SqliteMarkersRepo(db);
    this.settings = new SqliteSettingsRepo(db);
    this.userRules = new SqliteUserRulesRepo(db);
    this.projections = new SqliteProjectionsRepo(db);
    this.presence = new MemoryPresence(this.runs);
    this.events = new LocalEvents(path);
  }

  /** PRAGMA integrity_check on the writer connection. */
  async check(): Promise<string> {
    return integrityOf(this.db);
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    this.events.close();
    checkpointWal(this.db);
    this.db.close();
  }
}

export function openSqliteStore(path: string, options: OpenOptions = {}): SqliteStore {
  return new SqliteStore(openConnection(path, { synchronous: options.synchronous }), path);
}
