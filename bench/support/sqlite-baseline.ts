// Baselines for the benchmarks: the same work done with bare better-sqlite3 on the same schema, no ganwatch code on top.
import type { Connection } from '../../db/sqlite/connection.js';
import { openConnection } from '../../db/sqlite/connection.js';

/** Inserts `metrics × steps` rows into the points table in transactions of `batch` rows; returns the elapsed ms. */
export function rawInsert(path: string, metrics: number, steps: number, batch = 10_000): number {
  const db: Connection = openConnection(path);
  db.exec(
    "INSERT INTO runs (id, name, status, created_at, updated_at) VALUES ('baseline', 'baseline', 'running', 0, 0)",
  );
  const rid = (db.prepare("SELECT rid FROM runs WHERE id = 'baseline'").get() as { rid: number }).rid;
  const mids: number[] = [];
  for (let m = 0; m < metrics; m++)
    mids.push(Number(db.prepare('INSERT INTO metrics (rid, name) VALUES (?, ?)').run(rid, `m${m}`).lastInsertRowid));
  const insert = db.prepare('INSERT INTO points (mid, step, value, wall) VALUES (?, ?, ?, ?)');
  const perTx = Math.max(1, Math.floor(batch / metrics));
  const tx = db.transaction((from: number, to: number) => {
    for (let s = from; s < to; s++) for (const mid of mids) insert.run(mid, s, Math.sin(s), 1);
  });
  const t0 = performance.now();
  for (let s = 0; s < steps; s += perTx) tx(s, Math.min(steps, s + perTx));
  const ms = performance.now() - t0;
  db.close();
  return ms;
}

/** Reads one metric's whole series with a bare prepared statement; returns [rows, elapsed ms]. */
export function rawRead(db: Connection, mid: number): [number, number] {
  const t0 = performance.now();
  const rows = db.prepare('SELECT step, value, wall FROM points WHERE mid = ? ORDER BY step').raw(true).all(mid);
  return [rows.length, performance.now() - t0];
}
