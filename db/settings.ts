// Settings: server-wide JSON values changeable over the API, and per-run alert configuration.
import type { Connection } from './connection.js';

export class SettingsRepo {
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

  get<T>(key: string): T | null {
    const row = this.getStmt.get(key);
    return row ? (JSON.parse(row.value) as T) : null;
  }

  put(key: string, value: unknown): void {
    this.putStmt.run(key, JSON.stringify(value));
  }

  runAlertConfig<T>(rid: number): T {
    return JSON.parse(this.runConfigStmt.get(rid)?.alert_config ?? '{}') as T;
  }

  setRunAlertConfig(rid: number, value: unknown): void {
    this.setRunConfigStmt.run(JSON.stringify(value), rid);
  }
}
