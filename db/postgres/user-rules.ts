// User threshold rules on PostgreSQL (migration 005).
import type pg from 'pg';
import type { UserRule, UserRuleSpec } from '../../protocol/index.js';
import { now, type UserRulesRepo } from '../store.js';
import { durationColumns, toUserRule, USER_RULE_COLUMNS, USER_RULE_FROM, type UserRuleRow } from '../user-rules.js';
import { query } from './pool.js';

const SELECT = `SELECT ${USER_RULE_COLUMNS} FROM ${USER_RULE_FROM}`;
const ORDER = 'ORDER BY u.rid IS NOT NULL, u.id';

export class PgUserRulesRepo implements UserRulesRepo {
  constructor(private readonly pool: pg.Pool) {}

  async list(): Promise<UserRule[]> {
    return (await query<UserRuleRow>(this.pool, `${SELECT} ${ORDER}`)).map(toUserRule);
  }

  async forRun(rid: number): Promise<UserRule[]> {
    return (await query<UserRuleRow>(this.pool, `${SELECT} WHERE u.rid IS NULL OR u.rid = $1 ${ORDER}`, [rid])).map(
      toUserRule,
    );
  }

  async ofRun(rid: number | null): Promise<UserRule[]> {
    const rows =
      rid === null
        ? await query<UserRuleRow>(this.pool, `${SELECT} WHERE u.rid IS NULL ORDER BY u.id`)
        : await query<UserRuleRow>(this.pool, `${SELECT} WHERE u.rid = $1 ORDER BY u.id`, [rid]);
    return rows.map(toUserRule);
  }

  async get(id: number): Promise<UserRule | null> {
    const [row] = await query<UserRuleRow>(this.pool, `${SELECT} WHERE u.id = $1`, [id]);
    return row ? toUserRule(row) : null;
  }

  async create(rid: number | null, spec: UserRuleSpec): Promise<UserRule> {
    const { unit, count } = durationColumns(spec);
    const [row] = await query<{ id: string }>(
      this.pool,
      `INSERT INTO user_rules (rid, name, metric, comparison, value, for_unit, for_count, severity, enabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
      [rid, spec.name, spec.metric, spec.comparison, spec.value, unit, count, spec.severity, spec.enabled, now()],
    );
    return (await this.get(Number(row!.id)))!;
  }

  async update(id: number, spec: UserRuleSpec): Promise<UserRule | null> {
    const { unit, count } = durationColumns(spec);
    const rows = await query(
      this.pool,
      `UPDATE user_rules SET name = $2, metric = $3, comparison = $4, value = $5, for_unit = $6, for_count = $7,
         severity = $8, enabled = $9, updated_at = $10 WHERE id = $1 RETURNING id`,
      [id, spec.name, spec.metric, spec.comparison, spec.value, unit, count, spec.severity, spec.enabled, now()],
    );
    return rows.length ? this.get(id) : null;
  }

  async delete(id: number): Promise<boolean> {
    return (await query(this.pool, 'DELETE FROM user_rules WHERE id = $1 RETURNING id', [id])).length > 0;
  }
}
