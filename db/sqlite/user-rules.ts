// User threshold rules on SQLite (migration 006).
import type { UserRule, UserRuleSpec } from '../../protocol/index.js';
import { now, type UserRulesRepo } from '../store.js';
import { durationColumns, toUserRule, USER_RULE_COLUMNS, USER_RULE_FROM, type UserRuleRow } from '../user-rules.js';
import type { Connection } from './connection.js';

const SELECT = `SELECT ${USER_RULE_COLUMNS} FROM ${USER_RULE_FROM}`;

export class SqliteUserRulesRepo implements UserRulesRepo {
  private readonly allStmt;
  private readonly forRunStmt;
  private readonly serverWideStmt;
  private readonly ofRunStmt;
  private readonly getStmt;
  private readonly insertStmt;
  private readonly updateStmt;
  private readonly deleteStmt;

  constructor(db: Connection) {
    this.allStmt = db.prepare<[], UserRuleRow>(`${SELECT} ORDER BY u.rid IS NOT NULL, u.id`);
    this.forRunStmt = db.prepare<[number], UserRuleRow>(
      `${SELECT} WHERE u.rid IS NULL OR u.rid = ? ORDER BY u.rid IS NOT NULL, u.id`,
    );
    this.serverWideStmt = db.prepare<[], UserRuleRow>(`${SELECT} WHERE u.rid IS NULL ORDER BY u.id`);
    this.ofRunStmt = db.prepare<[number], UserRuleRow>(`${SELECT} WHERE u.rid = ? ORDER BY u.id`);
    this.getStmt = db.prepare<[number], UserRuleRow>(`${SELECT} WHERE u.id = ?`);
    this.insertStmt = db.prepare(
      `INSERT INTO user_rules (rid, name, metric, comparison, value, for_unit, for_count, severity, enabled, created_at, updated_at)
       VALUES (@rid, @name, @metric, @comparison, @value, @unit, @count, @severity, @enabled, @now, @now)`,
    );
    this.updateStmt = db.prepare(
      `UPDATE user_rules SET name = @name, metric = @metric, comparison = @comparison, value = @value, for_unit = @unit,
         for_count = @count, severity = @severity, enabled = @enabled, updated_at = @now WHERE id = @id`,
    );
    this.deleteStmt = db.prepare('DELETE FROM user_rules WHERE id = ?');
  }

  async list(): Promise<UserRule[]> {
    return this.allStmt.all().map(toUserRule);
  }

  async forRun(rid: number): Promise<UserRule[]> {
    return this.forRunStmt.all(rid).map(toUserRule);
  }

  async ofRun(rid: number | null): Promise<UserRule[]> {
    return (rid === null ? this.serverWideStmt.all() : this.ofRunStmt.all(rid)).map(toUserRule);
  }

  async get(id: number): Promise<UserRule | null> {
    const row = this.getStmt.get(id);
    return row ? toUserRule(row) : null;
  }

  async create(rid: number | null, spec: UserRuleSpec): Promise<UserRule> {
    const id = Number(this.insertStmt.run({ rid, ...params(spec) }).lastInsertRowid);
    return (await this.get(id))!;
  }

  async update(id: number, spec: UserRuleSpec): Promise<UserRule | null> {
    if (this.updateStmt.run({ id, ...params(spec) }).changes === 0) return null;
    return this.get(id);
  }

  async delete(id: number): Promise<boolean> {
    return this.deleteStmt.run(id).changes > 0;
  }
}

function params(spec: UserRuleSpec): Record<string, string | number> {
  const { unit, count } = durationColumns(spec);
  return {
    name: spec.name,
    metric: spec.metric,
    comparison: spec.comparison,
    value: spec.value,
    unit,
    count,
    severity: spec.severity,
    enabled: spec.enabled ? 1 : 0,
    now: now(),
  };
}
