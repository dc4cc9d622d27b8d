// The store the server depends on: one interface per repository, two implementations (db/sqlite: one embedded file,
// the default; db/postgres: a PostgreSQL database shared by any number of servers). Every method returns a Promise;
// SQLite's do their work synchronously before returning, so on SQLite a request still runs without interleaving.
import type {
  Alert,
  AlertSeverity,
  AlertsQuery,
  Control,
  ControlCommand,
  CreateRunBody,
  Distribution,
  DistributionNamesResponse,
  DistributionsResponse,
  ListRunsQuery,
  LivePoint,
  MarkerRecord,
  MetricSummary,
  PatchRunBody,
  Point,
  Run,
  RunRow,
  RunStatus,
  UserRule,
  UserRuleSpec,
  WireValue,
} from '../protocol/index.js';
import { gwError } from '../protocol/index.js';
import type { RunTableQuery } from './run-table.js';
import type { SeriesResult } from './series-read.js';

export type { SeriesResult } from './series-read.js';
export type { RunTableQuery } from './run-table.js';

export const now = (): number => Date.now() / 1000;

/** A run as the repositories address it: the internal row id, the public id, and its status when read. */
export interface RunRef {
  rid: number;
  id: string;
  status: RunStatus;
}

/** One metric of one run, as series reads address it. */
export interface MetricRef {
  rid: number;
  mid: number;
}

export interface RunsRepo {
  create(body: Omit<CreateRunBody, 'alerts'>): Promise<Run>;
  get(id: string): Promise<Run | null>;
  ref(id: string): Promise<RunRef | null>;
  /** Newest first; every filter optional. */
  list(query?: ListRunsQuery): Promise<Run[]>;
  /** The runs table: filtered, sorted and paged in SQL from the run summaries, never from points (db/run-table.ts). */
  table(query: RunTableQuery): Promise<{ runs: RunRow[]; total: number }>;
  /** Every metric name and top-level config key in use, sorted (what the runs table's columns can show). */
  fields(): Promise<{ metrics: string[]; config: string[] }>;
  update(id: string, patch: PatchRunBody): Promise<Run | null>;
  setStatus(rid: number, status: RunStatus): Promise<void>;
  /** Deletes a run and everything it owns; false when there is no such run. */
  delete(id: string): Promise<boolean>;
  /** Public ids of runs that ended (finished or failed) before `before` (seconds since the epoch), oldest first. */
  endedBefore(before: number): Promise<string[]>;
  /** Public ids of runs a trainer was feeding (running or paused). */
  liveIds(): Promise<string[]>;
}

export interface PointsRepo {
  /**
   * Stores a batch atomically (every value committed or none), keeping the block envelopes and the run's last step
   * and last-seen time in the same transaction; resolves after the commit with the number of values stored (one per
   * metric per step). GW_ERR_RUN_NOT_FOUND when the run was deleted meanwhile.
   */
  write(run: Pick<RunRef, 'rid' | 'id'>, points: readonly Point[], serverWall?: number): Promise<number>;
}

export interface ExportRow {
  metric: string;
  step: number;
  value: WireValue;
  wall: number;
}

/** Rows in step order regrouped by step, as live frames carry points. */
export function stepsOf(rows: readonly ExportRow[]): LivePoint[] {
  const points: LivePoint[] = [];
  for (const row of rows) {
    let p = points[points.length - 1];
    if (p?.step !== row.step) points.push((p = { step: row.step, wall: row.wall, values: {} }));
    p.values[row.metric] = row.value;
  }
  return points;
}

export interface SeriesRepo {
  metricId(rid: number, name: string): Promise<MetricRef | null>;
  /** Count, first/last step, last value and finite min/max of every metric of a run, ordered by name. */
  summaries(rid: number): Promise<MetricSummary[]>;
  /** Raw points, or at most `buckets` exact envelopes of equal step width (see db/series-read.ts). */
  read(metric: MetricRef, buckets: number, from?: number, to?: number): Promise<SeriesResult>;
  /** Every point of a run, metric by metric in step order, in pages. */
  exportRun(rid: number, pageSize?: number): AsyncGenerator<ExportRow[]>;
  /** Every value of a run with a step in [from, to), in step order (metrics by name within a step). */
  window(rid: number, from: number, to: number): Promise<ExportRow[]>;
}

/** Histograms of named quantities per step (protocol/distributions.ts), stored compactly (db/distribution-rows.ts). */
export interface DistributionsRepo {
  /**
   * Stores a batch atomically, one row per (run, name, step), a later record replacing an earlier one; resolves after
   * the commit with the number of records stored. GW_ERR_RUN_NOT_FOUND when the run was deleted meanwhile.
   */
  write(run: Pick<RunRef, 'rid' | 'id'>, records: readonly Distribution[], serverWall?: number): Promise<number>;
  /** The records of `name` with a step in [from, to], merged down to at most `max` records (steps in order). */
  read(rid: number, name: string, max: number, from?: number, to?: number): Promise<DistributionsResponse>;
  /** Every name a run has, with its record count and step range, ordered by name. */
  names(rid: number): Promise<DistributionNamesResponse['names']>;
  /** Every record of a run, name by name in step order, in pages. */
  exportRun(rid: number, pageSize?: number): AsyncGenerator<Array<Distribution & { wall: number }>>;
}

export interface MediaRow {
  id: number;
  epoch: number;
  step: number;
  kind: string;
  bytes: number;
  meta: Record<string, unknown>;
  created_at: number;
}

export interface MediaRepo {
  /** Stores (or replaces) one image keyed by (run, kind, epoch, step); returns its id. */
  put(
    rid: number,
    item: { epoch: number; step: number; kind: string; meta: Record<string, unknown>; png: Buffer },
  ): Promise<number>;
  list(rid: number, filter?: { kind?: string; epoch?: number }): Promise<MediaRow[]>;
  bytes(rid: number, id: number): Promise<Buffer | null>;
}

export interface LatentRecord {
  epoch: number;
  step: number | null;
  dim: number;
  count: number;
  codes: Float32Array;
  labels: Int32Array | null;
  created_at: number;
}

export interface LatentSetSummary {
  epoch: number;
  step: number | null;
  dim: number;
  count: number;
  labelled: boolean;
  created_at: number;
}

export interface LatentsRepo {
  put(
    rid: number,
    rec: { epoch: number; step: number | null; dim: number; codes: Float32Array; labels: Int32Array | null },
  ): Promise<void>;
  get(rid: number, epoch: number): Promise<LatentRecord | null>;
  list(rid: number): Promise<LatentSetSummary[]>;
}

export interface ControlsRepo {
  create(rid: number, command: ControlCommand, source: string): Promise<Control>;
  get(id: number): Promise<Control | null>;
  list(rid: number): Promise<Control[]>;
  /** Controls not yet answered (pending, or sent to a trainer that went away before answering). */
  unanswered(rid: number): Promise<Control[]>;
  markSent(id: number): Promise<void>;
  /** Records the trainer's answer; the updated control, or null if it was unknown or already answered. */
  recordResult(
    rid: number,
    id: number,
    ok: boolean,
    step: number | null,
    message: string | null,
  ): Promise<Control | null>;
}

export interface NewAlert {
  rule: string;
  key: string;
  severity: AlertSeverity;
  stepOpened: number;
  message: string;
  evidence: Record<string, unknown>;
  remedy: { text: string; action: ControlCommand | null } | null;
  muted: boolean;
}

/** What opening an alert did: `opened` is false when the run already had this rule and key firing (that one is returned). */
export interface OpenedAlert {
  alert: Alert;
  opened: boolean;
}

export interface AlertsRepo {
  /** Opens a firing alert, unless one of the same rule and key is firing already (at most one, by a unique index). */
  open(rid: number, a: NewAlert): Promise<OpenedAlert>;
  get(id: number): Promise<Alert | null>;
  /** Escalation or new evidence while firing. */
  update(id: number, a: Pick<NewAlert, 'severity' | 'message' | 'evidence' | 'remedy'>): Promise<Alert>;
  resolve(id: number, step: number, evidence: Record<string, unknown>): Promise<Alert>;
  /** Firing alerts of a run (to restore detector state after a restart). */
  firing(rid: number): Promise<Alert[]>;
  /** The newest alert of a rule and key in a run (a new one inherits its mute). */
  latest(rid: number, rule: string, key: string): Promise<Alert | null>;
  list(query: AlertsQuery & { rid?: number }): Promise<Alert[]>;
  acknowledge(id: number): Promise<Alert | null>;
  setMuted(id: number, muted: boolean): Promise<Alert | null>;
  attachControl(id: number, controlId: number): Promise<Alert>;
  /** The alert whose remedy sent this control, if any. */
  byControl(controlId: number): Promise<Alert | null>;
  /** How many alerts of a rule in a run had their remedy applied (for auto-apply caps). */
  appliedCount(rid: number, rule: string): Promise<number>;
}

/** A marker to store: a change point found by a detector, or a connection gap. */
export interface NewMarker {
  metric: string;
  step: number;
  changeAt: number | null;
  kind: string;
  evidence: Record<string, unknown>;
}

export interface MarkersRepo {
  /** Stores the markers in one transaction (a batch's change points cost one commit); returns them in order. */
  add(rid: number, markers: readonly NewMarker[]): Promise<MarkerRecord[]>;
  list(rid: number, metric?: string): Promise<MarkerRecord[]>;
}

export interface SettingsRepo {
  get<T>(key: string): Promise<T | null>;
  put(key: string, value: unknown): Promise<void>;
  runAlertConfig<T>(rid: number): Promise<T>;
  setRunAlertConfig(rid: number, value: unknown): Promise<void>;
}

/** User threshold rules (protocol/user-rules.ts): server-wide (rid null) or of one run (deleted with it). */
export interface UserRulesRepo {
  /** Every rule, server-wide ones first, then by id. */
  list(): Promise<UserRule[]>;
  /** The rules that apply to a run: the server-wide ones and its own. */
  forRun(rid: number): Promise<UserRule[]>;
  /** The run's own rules (null: the server-wide ones). */
  ofRun(rid: number | null): Promise<UserRule[]>;
  get(id: number): Promise<UserRule | null>;
  create(rid: number | null, spec: UserRuleSpec): Promise<UserRule>;
  /** Replaces a rule's fields; null when there is no such rule. */
  update(id: number, spec: UserRuleSpec): Promise<UserRule | null>;
  delete(id: number): Promise<boolean>;
}

export type StoredProjectionStatus = 'pending' | 'ready' | 'failed';
export type StoredSeparationStatus = 'pending' | 'ready' | 'skipped' | 'failed';

export interface ProjectionRecord {
  epoch: number;
  method: string;
  status: StoredProjectionStatus;
  sourceCount: number;
  count: number;
  stratified: boolean;
  /** count × 2, row-major (null unless ready). */
  xy: Float32Array | null;
  indices: Int32Array | null;
  labels: Int32Array | null;
  params: Record<string, unknown>;
  ms: number | null;
  error: string | null;
  requestedAt: number;
  finishedAt: number | null;
}

export type ProjectionSummaryRecord = Omit<ProjectionRecord, 'xy' | 'indices' | 'labels' | 'params'>;

export interface SeparationRecord {
  epoch: number;
  status: StoredSeparationStatus;
  step: number | null;
  silhouette: number | null;
  fisher: number | null;
  reason: string | null;
  ms: number | null;
}

/** A job the projection service must (re)start, e.g. after a restart left it pending. */
export interface PendingWork {
  rid: number;
  runId: string;
  epoch: number;
  /** A projection method, or 'separation'. */
  kind: string;
}

export interface ProjectionResult {
  xy: Float32Array;
  indices: Int32Array | null;
  labels: Int32Array | null;
  stratified: boolean;
  params: Record<string, unknown>;
  ms: number;
}

export interface SeparationResult {
  status: Exclude<StoredSeparationStatus, 'pending'>;
  silhouette: number | null;
  fisher: number | null;
  reason: string | null;
  ms: number | null;
}

export interface ProjectionsRepo {
  /** Marks (run, epoch, method) as being computed, dropping any earlier result. */
  markPending(
    rid: number,
    epoch: number,
    method: string,
    sizes: { sourceCount: number; count: number; stratified: boolean },
  ): Promise<void>;
  putReady(rid: number, epoch: number, method: string, result: ProjectionResult): Promise<void>;
  putFailed(rid: number, epoch: number, method: string, error: string, ms: number | null): Promise<void>;
  get(rid: number, epoch: number, method: string): Promise<ProjectionRecord | null>;
  /** The newest ready projection by `method` of an epoch before `epoch` (what a new one is aligned with). */
  previous(rid: number, method: string, epoch: number): Promise<ProjectionRecord | null>;
  list(rid: number): Promise<ProjectionSummaryRecord[]>;
  /** Every pending projection and separation in the database, oldest request first. */
  pendingWork(): Promise<PendingWork[]>;
  markSeparationPending(rid: number, epoch: number, step: number | null): Promise<void>;
  putSeparation(rid: number, epoch: number, result: SeparationResult): Promise<void>;
  separation(rid: number, epoch: number): Promise<SeparationRecord | null>;
  separations(rid: number): Promise<SeparationRecord[]>;
}

/**
 * Messages between the servers sharing a store (live frames, control notices, lease changes): PostgreSQL
 * LISTEN/NOTIFY, or in-process only on SQLite (one server). Best effort and ordered per publisher; a subscriber never
 * receives what its own channel published; any length (the channel splits what does not fit one notification).
 */
export interface EventsChannel {
  publish(message: string): void;
  /** Returns the function that unsubscribes. */
  subscribe(listener: (message: string) => void): () => void;
  /**
   * Called each time the channel listens again after it was down: messages sent meanwhile were lost. Returns the
   * function that unsubscribes.
   */
  onResumed(listener: () => void): () => void;
}

/**
 * Which server is alive (a heartbeat per server) and which server holds each run (the one its trainer is connected
 * to; that server also runs the run's detectors). On SQLite one process is the only server: held in memory.
 */
export interface PresenceRepo {
  /** Records this server's heartbeat; resolves with the number of servers alive (this one included). */
  beat(server: string, staleSeconds: number): Promise<number>;
  /** This server stops cleanly: its heartbeat row and holdings go. */
  leave(server: string): Promise<void>;
  /** This server now holds the run (its trainer connected here), taking it from whichever server held it. */
  claim(rid: number, server: string): Promise<void>;
  /** Gives the run up if this server holds it; true if it did (false: another server has taken it meanwhile). */
  release(rid: number, server: string): Promise<boolean>;
  /** The server holding the run, if that server is alive. */
  holder(rid: number, staleSeconds: number): Promise<string | null>;
  /**
   * Forgets servers whose heartbeat is older than `staleSeconds` and their holdings; returns their runs still
   * running or paused (they lost their trainer with their server).
   */
  sweep(staleSeconds: number): Promise<RunRef[]>;
  /** Runs running or paused that no live server holds (at start-up: the ones a stopped server left behind). */
  unheld(staleSeconds: number): Promise<RunRef[]>;
  /** True when `server` is the live server with the smallest id: the one that watches runs no server holds. */
  isLeader(server: string, staleSeconds: number): Promise<boolean>;
}

export type StoreKind = 'sqlite' | 'postgres';

export interface Store {
  readonly kind: StoreKind;
  /** Where the data lives, for messages: the file, or the URL without its password. */
  readonly location: string;
  readonly runs: RunsRepo;
  readonly points: PointsRepo;
  readonly series: SeriesRepo;
  readonly distributions: DistributionsRepo;
  readonly media: MediaRepo;
  readonly latents: LatentsRepo;
  readonly controls: ControlsRepo;
  readonly alerts: AlertsRepo;
  readonly markers: MarkersRepo;
  readonly settings: SettingsRepo;
  readonly userRules: UserRulesRepo;
  readonly projections: ProjectionsRepo;
  readonly presence: PresenceRepo;
  readonly events: EventsChannel;
  /** A consistency check of the stored data: 'ok', or one problem per line. */
  check(): Promise<string>;
  /** Closes the connection(s); SQLite also checkpoints its WAL into the database file. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** SQLite only: `normal` (default) survives a process crash; `full` also survives power loss. */
  synchronous?: 'normal' | 'full';
  /** PostgreSQL only: connections in the pool (default 10). */
  poolSize?: number;
}

/** True for a `postgres://` or `postgresql://` URL; anything else names a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** A database location safe to print: a PostgreSQL URL loses its password. */
export function redactLocation(location: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  try {
    const u = new URL(location);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return location.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
  }
}

/**
 * Opens the store at `location`: a `postgres://` URL (PostgreSQL, migrations applied under a lock) or a SQLite file
 * path (created on first use). Any other URL scheme is refused: it is almost certainly not meant as a file name.
 */
export async function openStore(location: string, options: OpenOptions = {}): Promise<Store> {
  if (isPostgresUrl(location)) {
    const { openPostgresStore } = await import('./postgres/store.js');
    return openPostgresStore(location, options);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location))
    throw gwError(
      'GW_ERR_CONFIG',
      `--db takes a SQLite file path or a postgres://USER:PASS@HOST:PORT/DB URL (got '${redactLocation(location)}')`,
    );
  const { openSqliteStore } = await import('./sqlite/store.js');
  return openSqliteStore(location, options);
}
