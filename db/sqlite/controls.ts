// Controls on SQLite: commands queued for a run's trainer, when they were sent, and what the trainer answered.
import type { Control, ControlCommand } from '../../protocol/index.js';
import { now, type ControlsRepo } from '../store.js';
import type { Connection } from './connection.js';

interface ControlRow extends Omit<Control, 'args'> {
  args: string;
}

const SELECT = `SELECT c.id, r.id AS run, c.action, c.args, c.status, c.source, c.created_at, c.sent_at, c.result_at, c.result_step, c.message
  FROM controls c JOIN runs r ON r.rid = c.rid`;

function toControl(row: ControlRow): Control {
  return { ...row, args: JSON.parse(row.args) as Record<string, unknown> };
}

export class SqliteControlsRepo implements ControlsRepo {
  private readonly insertStmt;
  private readonly getStmt;
  private readonly listStmt;
  private readonly pendingStmt;
  private readonly sentStmt;
  private readonly resultStmt;

  constructor(db: Connection) {
    this.insertStmt = db.prepare(
      'INSERT INTO controls (rid, action, args, status, source, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.getStmt = db.prepare<[number], ControlRow>(`${SELECT} WHERE c.id = ?`);
    this.listStmt = db.prepare<[number], ControlRow>(`${SELECT} WHERE c.rid = ? ORDER BY c.id`);
    this.pendingStmt = db.prepare<[number], ControlRow>(
      `${SELECT} WHERE c.rid = ? AND c.status IN ('pending', 'sent') ORDER BY c.id`,
    );
    this.sentStmt = db.prepare(
      "UPDATE controls SET status = 'sent', sent_at = ? WHERE id = ? AND status IN ('pending', 'sent')",
    );
    this.resultStmt = db.prepare(
      "UPDATE controls SET status = ?, result_at = ?, result_step = ?, message = ? WHERE id = ? AND rid = ? AND status IN ('pending', 'sent')",
    );
  }

  async create(rid: number, command: ControlCommand, source: string): Promise<Control> {
    const id = Number(
      this.insertStmt.run(rid, command.action, JSON.stringify(command.args), 'pending', source, now()).lastInsertRowid,
    );
    return this.getSync(id)!;
  }

  async get(id: number): Promise<Control | null> {
    return this.getSync(id);
  }

  /** The control as stored now (for the alerts repo, which embeds it). */
  getSync(id: number): Control | null {
    const row = this.getStmt.get(id);
    return row ? toControl(row) : null;
  }

  async list(rid: number): Promise<Control[]> {
    return this.listStmt.all(rid).map(toControl);
  }

  /** Controls not yet answered (pending, or sent to a trainer that went away before answering). */
  async unanswered(rid: number): Promise<Control[]> {
    return this.pendingStmt.all(rid).map(toControl);
  }

  async markSent(id: number): Promise<void> {
    this.sentStmt.run(now(), id);
  }

  /** Records the trainer's answer; returns the updated control, or null if it was unknown or already answered. */
  async recordResult(
    rid: number,
    id: number,
    ok: boolean,
    step: number | null,
    message: string | null,
  ): Promise<Control | null> {
    const changed = this.resultStmt.run(ok ? 'applied' : 'failed', now(), step, message, id, rid).changes;
    return changed ? this.getSync(id) : null;
  }
}
