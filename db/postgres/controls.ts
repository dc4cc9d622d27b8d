// Controls on PostgreSQL: commands queued for a run's trainer, when they were sent, and what the trainer answered.
import type { Control, ControlCommand } from '../../protocol/index.js';
import { now, type ControlsRepo } from '../store.js';
import { query, type Queryable } from './pool.js';

export const CONTROL_COLUMNS = `c.id, r.id AS run, c.action, c.args, c.status, c.source, c.created_at, c.sent_at,
  c.result_at, c.result_step, c.message`;
const SELECT = `SELECT ${CONTROL_COLUMNS} FROM controls c JOIN runs r ON r.rid = c.rid`;

export class PgControlsRepo implements ControlsRepo {
  constructor(private readonly db: Queryable) {}

  async create(rid: number, command: ControlCommand, source: string): Promise<Control> {
    const [row] = await query<{ id: number }>(
      this.db,
      `INSERT INTO controls (rid, action, args, status, source, created_at) VALUES ($1, $2, $3, 'pending', $4, $5)
       RETURNING id`,
      [rid, command.action, JSON.stringify(command.args), source, now()],
    );
    return (await this.get(row!.id))!;
  }

  async get(id: number): Promise<Control | null> {
    const [row] = await query<Control>(this.db, `${SELECT} WHERE c.id = $1`, [id]);
    return row ?? null;
  }

  async list(rid: number): Promise<Control[]> {
    return query<Control>(this.db, `${SELECT} WHERE c.rid = $1 ORDER BY c.id`, [rid]);
  }

  async unanswered(rid: number): Promise<Control[]> {
    return query<Control>(this.db, `${SELECT} WHERE c.rid = $1 AND c.status IN ('pending', 'sent') ORDER BY c.id`, [
      rid,
    ]);
  }

  async markSent(id: number): Promise<void> {
    await query(
      this.db,
      "UPDATE controls SET status = 'sent', sent_at = $2 WHERE id = $1 AND status IN ('pending', 'sent')",
      [id, now()],
    );
  }

  async recordResult(
    rid: number,
    id: number,
    ok: boolean,
    step: number | null,
    message: string | null,
  ): Promise<Control | null> {
    const rows = await query(
      this.db,
      `UPDATE controls SET status = $3, result_at = $4, result_step = $5, message = $6
       WHERE id = $1 AND rid = $2 AND status IN ('pending', 'sent') RETURNING id`,
      [id, rid, ok ? 'applied' : 'failed', now(), step, message],
    );
    return rows.length ? this.get(id) : null;
  }
}
