// The PostgreSQL store: a connection pool and the repositories over it. Migrations run at start-up under a lock, so
// any number of servers may share one database and start together.
import type pg from 'pg';
import { gwError } from '../../protocol/index.js';
import { redactLocation, type OpenOptions, type Store } from '../store.js';
import { PgAlertsRepo } from './alerts.js';
import { PgControlsRepo } from './controls.js';
import { PgDistributionsRepo } from './distributions.js';
import { PgEvents } from './events.js';
import { PgLatentsRepo } from './latents.js';
import { checkPool } from './maintenance.js';
import { PgMarkersRepo } from './markers.js';
import { PgMediaRepo } from './media.js';
import { migrate } from './migrate.js';
import { PgPointsRepo } from './points.js';
import { createPool } from './pool.js';
import { PgPresenceRepo } from './presence.js';
import { PgProjectionsRepo } from './projections.js';
import { PgRunsRepo } from './runs.js';
import { PgSeriesRepo } from './series.js';
import { PgSettingsRepo } from './settings.js';
import { PgUserRulesRepo } from './user-rules.js';

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly runs: PgRunsRepo;
  readonly points: PgPointsRepo;
  readonly series: PgSeriesRepo;
  readonly distributions: PgDistributionsRepo;
  readonly media: PgMediaRepo;
  readonly latents: PgLatentsRepo;
  readonly controls: PgControlsRepo;
  readonly alerts: PgAlertsRepo;
  readonly markers: PgMarkersRepo;
  readonly settings: PgSettingsRepo;
  readonly userRules: PgUserRulesRepo;
  readonly projections: PgProjectionsRepo;
  readonly presence: PgPresenceRepo;
  readonly events: PgEvents;
  private closed = false;

  constructor(
    readonly pool: pg.Pool,
    url: string,
  ) {
    this.location = redactLocation(url);
    this.runs = new PgRunsRepo(pool);
    this.points = new PgPointsRepo(pool);
    this.series = new PgSeriesRepo(pool);
    this.distributions = new PgDistributionsRepo(pool);
    this.media = new PgMediaRepo(pool);
    this.latents = new PgLatentsRepo(pool);
    this.controls = new PgControlsRepo(pool);
    this.alerts = new PgAlertsRepo(pool);
    this.markers = new PgMarkersRepo(pool);
    this.settings = new PgSettingsRepo(pool);
    this.userRules = new PgUserRulesRepo(pool);
    this.projections = new PgProjectionsRepo(pool);
    this.presence = new PgPresenceRepo(pool);
    this.events = new PgEvents(url);
  }

  check(): Promise<string> {
    return checkPool(this.pool);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.events.close();
    await this.pool.end();
  }
}

/** Connects, applies the migrations (under a lock: safe when several servers start at once), returns the store. */
export async function openPostgresStore(url: string, options: OpenOptions = {}): Promise<PostgresStore> {
  const pool = createPool(url, options.poolSize);
  try {
    await migrate(pool);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw gwError('GW_ERR_DB_OPEN', redactLocation(url), (err as Error).message);
  }
  const store = new PostgresStore(pool, url);
  await store.events.ready;
  return store;
}
