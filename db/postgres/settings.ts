// Settings on PostgreSQL: server-wide JSON values changeable over the API, and per-run alert configuration.
import type pg from 'pg';
import type { SettingsRepo } from '../store.js';
import { query } from './pool.js';

export class PgSettingsRepo implements SettingsRepo {
  constructor(private readonly pool: pg.Pool) {}

  async get<T>(key: string): Promise<T | null> {
    const [row] = await query<{ value: T }>(this.pool, 'SELECT value FROM settings WHERE key = $1', [key]);
    return row ? row.value : null;
  }

  async put(key: string, value: unknown): Promise<void> {
    await query(
      this.pool,
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, JSON.stringify(value)],
    );
  }

  async runAlertConfig<T>(rid: number): Promise<T> {
    const [row] = await query<{ alert_config: T }>(this.pool, 'SELECT alert_config FROM runs WHERE rid = $1', [rid]);
    return row ? row.alert_config : ({} as T);
  }

  async setRunAlertConfig(rid: number, value: unknown): Promise<void> {
    await query(this.pool, 'UPDATE runs SET alert_config = $2 WHERE rid = $1', [rid, JSON.stringify(value)]);
  }
}
