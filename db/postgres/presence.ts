// Presence on PostgreSQL (migration 002): each server's heartbeat, and which server holds each run. Staleness is judged
// on the database's clock (gw_now()), so servers whose clocks disagree still agree on who is gone.
import type pg from 'pg';
import type { PresenceRepo, RunRef } from '../store.js';
import { query } from './pool.js';

export class PgPresenceRepo implements PresenceRepo {
  constructor(private readonly pool: pg.Pool) {}

  async beat(server: string, staleSeconds: number): Promise<number> {
    const [row] = await query<{ alive: number }>(
      this.pool,
      `WITH me AS (
         INSERT INTO servers (id, started_at, heartbeat_at) VALUES ($1, gw_now(), gw_now())
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at RETURNING id
       )
       SELECT 1 + count(*) AS alive FROM servers WHERE id <> $1 AND heartbeat_at >= gw_now() - $2`,
      [server, staleSeconds],
    );
    return row!.alive;
  }

  async leave(server: string): Promise<void> {
    await query(this.pool, 'DELETE FROM run_holders WHERE server_id = $1', [server]);
    await query(this.pool, 'DELETE FROM servers WHERE id = $1', [server]);
  }

  async claim(rid: number, server: string): Promise<void> {
    await query(
      this.pool,
      `INSERT INTO run_holders (rid, server_id, since) SELECT $1, $2, gw_now() WHERE EXISTS (SELECT 1 FROM runs WHERE rid = $1)
       ON CONFLICT (rid) DO UPDATE SET server_id = EXCLUDED.server_id, since = EXCLUDED.since`,
      [rid, server],
    );
  }

  async release(rid: number, server: string): Promise<boolean> {
    const rows = await query(this.pool, 'DELETE FROM run_holders WHERE rid = $1 AND server_id = $2 RETURNING rid', [
      rid,
      server,
    ]);
    return rows.length > 0;
  }

  async holder(rid: number, staleSeconds: number): Promise<string | null> {
    const [row] = await query<{ server_id: string }>(
      this.pool,
      `SELECT h.server_id FROM run_holders h JOIN servers s ON s.id = h.server_id
       WHERE h.rid = $1 AND s.heartbeat_at >= gw_now() - $2`,
      [rid, staleSeconds],
    );
    return row?.server_id ?? null;
  }

  async sweep(staleSeconds: number): Promise<RunRef[]> {
    // Concurrent sweeps are safe: a row deleted by one is not returned by the other.
    return query<RunRef>(
      this.pool,
      `WITH dead AS (DELETE FROM servers WHERE heartbeat_at < gw_now() - $1 RETURNING id),
       lost AS (
         DELETE FROM run_holders h
         WHERE h.server_id IN (SELECT id FROM dead) OR NOT EXISTS (SELECT 1 FROM servers s WHERE s.id = h.server_id)
         RETURNING rid
       )
       SELECT r.rid, r.id, r.status FROM runs r
       WHERE r.rid IN (SELECT rid FROM lost) AND r.status IN ('running', 'paused') ORDER BY r.rid`,
      [staleSeconds],
    );
  }

  async unheld(staleSeconds: number): Promise<RunRef[]> {
    return query<RunRef>(
      this.pool,
      `SELECT r.rid, r.id, r.status FROM runs r
       WHERE r.status IN ('running', 'paused') AND NOT EXISTS (
         SELECT 1 FROM run_holders h JOIN servers s ON s.id = h.server_id
         WHERE h.rid = r.rid AND s.heartbeat_at >= gw_now() - $1
       )
       ORDER BY r.rid`,
      [staleSeconds],
    );
  }

  async isLeader(server: string, staleSeconds: number): Promise<boolean> {
    const [row] = await query<{ leader: string | null }>(
      this.pool,
      'SELECT min(id) AS leader FROM servers WHERE heartbeat_at >= gw_now() - $1',
      [staleSeconds],
    );
    // No live server recorded (this one has not beaten yet): judge for itself rather than leave runs unwatched.
    return row?.leader === server || row?.leader === null || row === undefined;
  }
}
