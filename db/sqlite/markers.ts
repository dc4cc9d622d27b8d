// Markers on a run's curves on SQLite (change points found by the CUSUM detector, connection gaps).
import type { MarkerRecord } from '../../protocol/index.js';
import { now, type MarkersRepo, type NewMarker } from '../store.js';
import type { Connection } from './connection.js';

interface MarkerRow extends Omit<MarkerRecord, 'evidence'> {
  evidence: string;
}

const SELECT =
  'SELECT m.id, r.id AS run, m.metric, m.step, m.change_at, m.kind, m.evidence, m.created_at FROM markers m JOIN runs r ON r.rid = m.rid';

export class SqliteMarkersRepo implements MarkersRepo {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly insertAll;
  private readonly byRun;
  private readonly byMetric;

  constructor(db: Connection) {
    this.insertStmt = db.prepare(
      'INSERT INTO markers (rid, metric, step, change_at, kind, evidence, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.getStmt = db.prepare<[number], MarkerRow>(`${SELECT} WHERE m.id = ?`);
    this.insertAll = db.transaction((rid: number, markers: readonly NewMarker[]) =>
      markers.map((m) => {
        const stored = this.insertStmt.run(
          rid,
          m.metric,
          m.step,
          m.changeAt,
          m.kind,
          JSON.stringify(m.evidence),
          now(),
        );
        return toMarker(this.getStmt.get(Number(stored.lastInsertRowid))!);
      }),
    );
    this.byRun = db.prepare<[number], MarkerRow>(`${SELECT} WHERE m.rid = ? ORDER BY m.metric, m.step`);
    this.byMetric = db.prepare<[number, string], MarkerRow>(
      `${SELECT} WHERE m.rid = ? AND m.metric = ? ORDER BY m.step`,
    );
  }

  async add(rid: number, markers: readonly NewMarker[]): Promise<MarkerRecord[]> {
    return this.insertAll(rid, markers);
  }

  async list(rid: number, metric?: string): Promise<MarkerRecord[]> {
    return (metric === undefined ? this.byRun.all(rid) : this.byMetric.all(rid, metric)).map(toMarker);
  }
}

function toMarker(row: MarkerRow): MarkerRecord {
  return { ...row, evidence: JSON.parse(row.evidence) as Record<string, unknown> };
}
