// Alerts on PostgreSQL: opened when a detector's alert starts firing, updated as it escalates and resolves. An alert
// is read with its control in one query.
import type pg from 'pg';
import type { Alert, AlertsQuery, Control, ControlCommand } from '../../protocol/index.js';
import { now, type AlertsRepo, type NewAlert, type OpenedAlert } from '../store.js';
import { query } from './pool.js';

interface AlertRow extends Omit<Alert, 'remedy' | 'control'> {
  remedy_text: string | null;
  remedy_action: ControlCommand | null;
  control: Control | null;
}

const SELECT = `SELECT a.id, r.id AS run, a.rule, a.key, a.severity, a.state, a.step_opened, a.step_closed, a.message,
  a.evidence, a.remedy_text, a.remedy_action, a.acknowledged, a.muted, a.created_at, a.updated_at, a.firing_at,
  a.resolved_at,
  (SELECT json_build_object('id', c.id, 'run', r.id, 'action', c.action, 'args', c.args, 'status', c.status,
     'source', c.source, 'created_at', c.created_at, 'sent_at', c.sent_at, 'result_at', c.result_at,
     'result_step', c.result_step, 'message', c.message)
   FROM controls c WHERE c.id = a.control_id) AS control
  FROM alerts a JOIN runs r ON r.rid = a.rid`;

function toAlert(row: AlertRow): Alert {
  const { remedy_text, remedy_action, ...rest } = row;
  return { ...rest, remedy: remedy_text === null ? null : { text: remedy_text, action: remedy_action } };
}

const remedyAction = (a: Pick<NewAlert, 'remedy'>): string | null =>
  a.remedy?.action ? JSON.stringify(a.remedy.action) : null;

export class PgAlertsRepo implements AlertsRepo {
  constructor(private readonly pool: pg.Pool) {}

  private async one(where: string, values: unknown[]): Promise<Alert | null> {
    const [row] = await query<AlertRow>(this.pool, `${SELECT} WHERE ${where}`, values);
    return row ? toAlert(row) : null;
  }

  async open(rid: number, a: NewAlert): Promise<OpenedAlert> {
    const t = now();
    const [row] = await query<{ id: number }>(
      this.pool,
      `INSERT INTO alerts (rid, rule, key, severity, state, step_opened, message, evidence, remedy_text, remedy_action,
         muted, created_at, updated_at, firing_at)
       VALUES ($1, $2, $3, $4, 'firing', $5, $6, $7, $8, $9, $10, $11, $11, $11)
       ON CONFLICT (rid, rule, key) WHERE state = 'firing' DO NOTHING RETURNING id`,
      [
        rid,
        a.rule,
        a.key,
        a.severity,
        a.stepOpened,
        a.message,
        JSON.stringify(a.evidence),
        a.remedy?.text ?? null,
        remedyAction(a),
        a.muted,
        t,
      ],
    );
    if (row) return { alert: (await this.get(row.id))!, opened: true };
    const firing = await this.one("a.rid = $1 AND a.rule = $2 AND a.key = $3 AND a.state = 'firing'", [
      rid,
      a.rule,
      a.key,
    ]);
    // Resolved between the two statements: open it again (now nothing conflicts).
    return firing ? { alert: firing, opened: false } : this.open(rid, a);
  }

  get(id: number): Promise<Alert | null> {
    return this.one('a.id = $1', [id]);
  }

  async update(id: number, a: Pick<NewAlert, 'severity' | 'message' | 'evidence' | 'remedy'>): Promise<Alert> {
    await query(
      this.pool,
      `UPDATE alerts SET severity = $2, message = $3, evidence = $4, remedy_text = $5, remedy_action = $6, updated_at = $7
       WHERE id = $1`,
      [id, a.severity, a.message, JSON.stringify(a.evidence), a.remedy?.text ?? null, remedyAction(a), now()],
    );
    return (await this.get(id))!;
  }

  async resolve(id: number, step: number, evidence: Record<string, unknown>): Promise<Alert> {
    await query(
      this.pool,
      `UPDATE alerts SET state = 'resolved', step_closed = $2, evidence = $3, updated_at = $4, resolved_at = $4
       WHERE id = $1`,
      [id, step, JSON.stringify(evidence), now()],
    );
    return (await this.get(id))!;
  }

  async firing(rid: number): Promise<Alert[]> {
    const rows = await query<AlertRow>(this.pool, `${SELECT} WHERE a.rid = $1 AND a.state = 'firing' ORDER BY a.id`, [
      rid,
    ]);
    return rows.map(toAlert);
  }

  async latest(rid: number, rule: string, key: string): Promise<Alert | null> {
    const [row] = await query<AlertRow>(
      this.pool,
      `${SELECT} WHERE a.rid = $1 AND a.rule = $2 AND a.key = $3 ORDER BY a.id DESC LIMIT 1`,
      [rid, rule, key],
    );
    return row ? toAlert(row) : null;
  }

  async list(q: AlertsQuery & { rid?: number }): Promise<Alert[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (q.rid !== undefined) where.push(`a.rid = $${values.push(q.rid)}`);
    if (q.state) where.push(`a.state = $${values.push(q.state)}`);
    if (q.rule) where.push(`a.rule = $${values.push(q.rule)}`);
    const rows = await query<AlertRow>(
      this.pool,
      `${SELECT} ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY a.id DESC LIMIT $${values.push(q.limit ?? 500)}`,
      values,
    );
    return rows.map(toAlert);
  }

  async acknowledge(id: number): Promise<Alert | null> {
    await query(this.pool, 'UPDATE alerts SET acknowledged = true, updated_at = $2 WHERE id = $1', [id, now()]);
    return this.get(id);
  }

  async setMuted(id: number, muted: boolean): Promise<Alert | null> {
    await query(this.pool, 'UPDATE alerts SET muted = $2, updated_at = $3 WHERE id = $1', [id, muted, now()]);
    return this.get(id);
  }

  async attachControl(id: number, controlId: number): Promise<Alert> {
    await query(this.pool, 'UPDATE alerts SET control_id = $2, updated_at = $3 WHERE id = $1', [id, controlId, now()]);
    return (await this.get(id))!;
  }

  byControl(controlId: number): Promise<Alert | null> {
    return this.one('a.control_id = $1', [controlId]);
  }

  async appliedCount(rid: number, rule: string): Promise<number> {
    const [row] = await query<{ n: number }>(
      this.pool,
      'SELECT count(*) AS n FROM alerts WHERE rid = $1 AND rule = $2 AND control_id IS NOT NULL',
      [rid, rule],
    );
    return row!.n;
  }
}
