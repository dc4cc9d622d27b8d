// Alerts on SQLite: opened when a detector's alert starts firing, updated as it escalates and resolves.
import type { Alert, AlertsQuery, ControlCommand } from '../../protocol/index.js';
import { now, type AlertsRepo, type NewAlert, type OpenedAlert } from '../store.js';
import type { Connection } from './connection.js';
import type { SqliteControlsRepo } from './controls.js';

interface AlertRow extends Omit<Alert, 'evidence' | 'remedy' | 'acknowledged' | 'muted' | 'control'> {
  evidence: string;
  remedy_text: string | null;
  remedy_action: string | null;
  acknowledged: number;
  muted: number;
  control_id: number | null;
}

const SELECT = `SELECT a.id, r.id AS run, a.rule, a.key, a.severity, a.state, a.step_opened, a.step_closed, a.message, a.evidence,
  a.remedy_text, a.remedy_action, a.acknowledged, a.muted, a.control_id, a.created_at, a.updated_at, a.firing_at, a.resolved_at
  FROM alerts a JOIN runs r ON r.rid = a.rid`;

export class SqliteAlertsRepo implements AlertsRepo {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly updateStmt;
  private readonly resolveStmt;
  private readonly openStmt;
  private readonly lastStmt;
  private readonly ackStmt;
  private readonly muteStmt;
  private readonly controlStmt;
  private readonly byControlStmt;
  private readonly appliedCountStmt;

  constructor(
    private readonly db: Connection,
    private readonly controls: SqliteControlsRepo,
  ) {
    this.insertStmt = db.prepare(
      `INSERT INTO alerts (rid, rule, key, severity, state, step_opened, message, evidence, remedy_text, remedy_action, muted, created_at, updated_at, firing_at)
       VALUES (?, ?, ?, ?, 'firing', ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (rid, rule, key) WHERE state = 'firing' DO NOTHING`,
    );
    this.getStmt = db.prepare<[number], AlertRow>(`${SELECT} WHERE a.id = ?`);
    this.updateStmt = db.prepare(
      'UPDATE alerts SET severity = ?, message = ?, evidence = ?, remedy_text = ?, remedy_action = ?, updated_at = ? WHERE id = ?',
    );
    this.resolveStmt = db.prepare(
      "UPDATE alerts SET state = 'resolved', step_closed = ?, evidence = ?, updated_at = ?, resolved_at = ? WHERE id = ?",
    );
    this.openStmt = db.prepare<[number], AlertRow>(`${SELECT} WHERE a.rid = ? AND a.state = 'firing' ORDER BY a.id`);
    this.lastStmt = db.prepare<[number, string, string], AlertRow>(
      `${SELECT} WHERE a.rid = ? AND a.rule = ? AND a.key = ? ORDER BY a.id DESC LIMIT 1`,
    );
    this.ackStmt = db.prepare('UPDATE alerts SET acknowledged = 1, updated_at = ? WHERE id = ?');
    this.muteStmt = db.prepare('UPDATE alerts SET muted = ?, updated_at = ? WHERE id = ?');
    this.controlStmt = db.prepare('UPDATE alerts SET control_id = ?, updated_at = ? WHERE id = ?');
    this.byControlStmt = db.prepare<[number], { id: number }>('SELECT id FROM alerts WHERE control_id = ?');
    this.appliedCountStmt = db.prepare<[number, string], { n: number }>(
      'SELECT count(*) AS n FROM alerts WHERE rid = ? AND rule = ? AND control_id IS NOT NULL',
    );
  }

  async open(rid: number, a: NewAlert): Promise<OpenedAlert> {
    const t = now();
    const { changes, lastInsertRowid } = this.insertStmt.run(
      rid,
      a.rule,
      a.key,
      a.severity,
      a.stepOpened,
      a.message,
      JSON.stringify(a.evidence),
      a.remedy?.text ?? null,
      a.remedy?.action ? JSON.stringify(a.remedy.action) : null,
      a.muted ? 1 : 0,
      t,
      t,
      t,
    );
    if (changes === 1) return { alert: this.getSync(Number(lastInsertRowid))!, opened: true };
    const firing = this.openStmt.all(rid).find((r) => r.rule === a.rule && r.key === a.key)!;
    return { alert: this.toAlert(firing), opened: false };
  }

  async get(id: number): Promise<Alert | null> {
    return this.getSync(id);
  }

  private getSync(id: number): Alert | null {
    const row = this.getStmt.get(id);
    return row ? this.toAlert(row) : null;
  }

  /** Escalation or new evidence while firing. */
  async update(id: number, a: Pick<NewAlert, 'severity' | 'message' | 'evidence' | 'remedy'>): Promise<Alert> {
    this.updateStmt.run(
      a.severity,
      a.message,
      JSON.stringify(a.evidence),
      a.remedy?.text ?? null,
      a.remedy?.action ? JSON.stringify(a.remedy.action) : null,
      now(),
      id,
    );
    return this.getSync(id)!;
  }

  async resolve(id: number, step: number, evidence: Record<string, unknown>): Promise<Alert> {
    const t = now();
    this.resolveStmt.run(step, JSON.stringify(evidence), t, t, id);
    return this.getSync(id)!;
  }

  /** Firing alerts of a run (to restore detector state after a restart). */
  async firing(rid: number): Promise<Alert[]> {
    return this.openStmt.all(rid).map((r) => this.toAlert(r));
  }

  /** The newest alert of a rule and key in a run (a new one inherits its mute). */
  async latest(rid: number, rule: string, key: string): Promise<Alert | null> {
    const row = this.lastStmt.get(rid, rule, key);
    return row ? this.toAlert(row) : null;
  }

  async list(query: AlertsQuery & { rid?: number }): Promise<Alert[]> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: query.limit ?? 500 };
    if (query.rid !== undefined) {
      where.push('a.rid = @rid');
      params.rid = query.rid;
    }
    if (query.state) {
      where.push('a.state = @state');
      params.state = query.state;
    }
    if (query.rule) {
      where.push('a.rule = @rule');
      params.rule = query.rule;
    }
    const sql = `${SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY a.id DESC LIMIT @limit`;
    return this.db
      .prepare<Record<string, unknown>, AlertRow>(sql)
      .all(params)
      .map((r) => this.toAlert(r));
  }

  async acknowledge(id: number): Promise<Alert | null> {
    this.ackStmt.run(now(), id);
    return this.getSync(id);
  }

  async setMuted(id: number, muted: boolean): Promise<Alert | null> {
    this.muteStmt.run(muted ? 1 : 0, now(), id);
    return this.getSync(id);
  }

  async attachControl(id: number, controlId: number): Promise<Alert> {
    this.controlStmt.run(controlId, now(), id);
    return this.getSync(id)!;
  }

  /** The alert whose remedy sent this control, if any. */
  async byControl(controlId: number): Promise<Alert | null> {
    const row = this.byControlStmt.get(controlId);
    return row ? this.getSync(row.id) : null;
  }

  /** How many alerts of a rule in a run had their remedy applied (for auto-apply caps). */
  async appliedCount(rid: number, rule: string): Promise<number> {
    return this.appliedCountStmt.get(rid, rule)!.n;
  }

  private toAlert(row: AlertRow): Alert {
    return {
      id: row.id,
      run: row.run,
      rule: row.rule,
      key: row.key,
      severity: row.severity,
      state: row.state,
      step_opened: row.step_opened,
      step_closed: row.step_closed,
      message: row.message,
      evidence: JSON.parse(row.evidence) as Record<string, unknown>,
      remedy:
        row.remedy_text === null
          ? null
          : {
              text: row.remedy_text,
              action: row.remedy_action ? (JSON.parse(row.remedy_action) as ControlCommand) : null,
            },
      acknowledged: row.acknowledged === 1,
      muted: row.muted === 1,
      control: row.control_id === null ? null : this.controls.getSync(row.control_id),
      created_at: row.created_at,
      updated_at: row.updated_at,
      firing_at: row.firing_at,
      resolved_at: row.resolved_at,
    };
  }
}
