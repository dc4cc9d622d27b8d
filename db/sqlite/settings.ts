// Settings on SQLite: server-wide JSON values changeable over the API, and per-run alert configuration.
import type { SettingsRepo } from '../store.js';
import type { Connection } from './connection.js';

export class SqliteSettingsRepo implements SettingsRepo {
  private readonly getStmt;
  private readonly putStmt;
  private readonly runConfigStmt;
  private readonly setRunConfigStmt;

  constructor(db: Connection) {
    this.getStmt = db.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?');
    this.putStmt = db.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    );
    this.runConfigStmt = db.prepare<[number], { alert_config: string }>('SELECT alert_config FROM runs WHERE rid = ?');
    this.setRunConfigStmt = db.prepare('UPDATE runs SET alert_config = ? WHERE rid = ?');
  }

  async get<T>(key: string): Promise<T | null> {
    const row = this.getStmt.get(key);
    return row ? (JSON.parse(row.value) as T) : null;
  }

  async put(key: string, value: unknown): Promise<void> {
    this.putStmt.run(key, JSON.stringify(value));
  }

  async runAlertConfig<T>(rid: number): Promise<T> {
    return JSON.parse(this.runConfigStmt.get(rid)?.alert_config ?? '{}') as T;
  }

  async setRunAlertConfig(rid: number, value: unknown): Promise<void> {
    this.setRunConfigStmt.run(JSON.stringify(value), rid);
  }
}
