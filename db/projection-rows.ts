// The projections table's row as both stores return it, and its mapping to the record the service reads. The columns
// are the same on SQLite and PostgreSQL; only a boolean (0/1 or true/false) and a JSON document (text or parsed) come
// back in different shapes.
import { fromBlob } from './blobs.js';
import type { ProjectionRecord, StoredProjectionStatus } from './store.js';

export interface ProjectionRow {
  epoch: number;
  method: string;
  status: StoredProjectionStatus;
  source_count: number;
  count: number;
  stratified: number | boolean;
  xy?: Buffer | null;
  indices?: Buffer | null;
  labels?: Buffer | null;
  params?: string | Record<string, unknown>;
  ms: number | null;
  error: string | null;
  requested_at: number;
  finished_at: number | null;
}

export function projectionRecord(row: ProjectionRow): ProjectionRecord {
  return {
    epoch: row.epoch,
    method: row.method,
    status: row.status,
    sourceCount: row.source_count,
    count: row.count,
    stratified: row.stratified === true || row.stratified === 1,
    xy: fromBlob(Float32Array, row.xy),
    indices: fromBlob(Int32Array, row.indices),
    labels: fromBlob(Int32Array, row.labels),
    params: typeof row.params === 'string' ? (JSON.parse(row.params) as Record<string, unknown>) : (row.params ?? {}),
    ms: row.ms,
    error: row.error,
    requestedAt: row.requested_at,
    finishedAt: row.finished_at,
  };
}
