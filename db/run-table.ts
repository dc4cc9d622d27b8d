// The runs table in SQL: a parsed filter (protocol/run-query.ts), sort keys, metric columns and a page compiled into
// one SELECT over runs, with one LEFT JOIN of the metrics table (its summaries: db/summaries.ts) per metric named, so a
// listing reads one summary row per run and metric and never a point. Both stores share this; a Dialect holds what
// their SQL spells differently (JSON access, tags, parameters, NaN).
import {
  metricDirection,
  type Aggregate,
  type Field,
  type ListRunsQuery,
  type RunColumnValue,
  type RunQuery,
  type SortKey,
} from '../protocol/index.js';
import { fieldKey } from '../protocol/run-query.js';
import { encodeValue } from '../protocol/wire.js';

export interface RunTableQuery {
  where: RunQuery | null;
  /** The list's older filters (status, tag, name substring), and-ed with `where`. */
  filters: Pick<ListRunsQuery, 'status' | 'tag' | 'name'>;
  sort: SortKey[];
  /** Metric columns to return with each run (other fields are in the run itself). */
  columns: Field[];
  limit: number | null;
  offset: number;
  /** Seconds since the epoch, for `age`. */
  now: number;
}

export interface Dialect {
  /** The placeholder of the i-th bound value (1-based). */
  placeholder(i: number): string;
  /** A placeholder compared as a double (PostgreSQL would otherwise take the type of the other side). */
  number(p: string): string;
  /** What stands for "no limit" before an OFFSET. */
  noLimit: string;
  /** The bound value that addresses a config path (SQLite: a JSON path; PostgreSQL: a text array). */
  configPath(path: string[]): unknown;
  configNumber(p: string): string;
  configText(p: string): string;
  /** 'true', 'false' or NULL. */
  configBool(p: string): string;
  hasTag(p: string): string;
  nameContains(p: string): string;
  tagsText: string;
  /** A stored metric value with NaN as NULL (NaN never matches a comparison and sorts with the missing). */
  finite(expr: string): string;
  /** A stored last value as the store returns it: null means NaN on SQLite. */
  lastIsNaN(value: unknown, present: boolean): boolean;
}

export interface CompiledRunTable {
  sql: string;
  values: unknown[];
  /** The metric columns in SELECT order: key, and the aliases of value, step and presence. */
  columns: Array<{ key: string; agg: Aggregate; alias: string }>;
}

const STATUS_RANK = `CASE r.status WHEN 'running' THEN 0 WHEN 'paused' THEN 1 WHEN 'disconnected' THEN 2
  WHEN 'failed' THEN 3 ELSE 4 END`;
const OPEN_ALERTS = `(SELECT count(*) FROM alerts a WHERE a.rid = r.rid AND a.state = 'firing')`;
const SQL_OP: Record<string, string> = { '<': '<', '<=': '<=', '>': '>', '>=': '>=', '=': '=', '!=': '<>' };

class Compiler {
  readonly values: unknown[] = [];
  private readonly metricAlias = new Map<string, string>();

  constructor(private readonly d: Dialect) {}

  bind(v: unknown): string {
    this.values.push(v);
    return this.d.placeholder(this.values.length);
  }

  bindNumber(v: number): string {
    return this.d.number(this.bind(v));
  }

  alias(metric: string): string {
    let a = this.metricAlias.get(metric);
    if (!a) this.metricAlias.set(metric, (a = `m${this.metricAlias.size}`));
    return a;
  }

  joins(): string {
    return [...this.metricAlias]
      .map(([name, a]) => `LEFT JOIN metrics ${a} ON ${a}.rid = r.rid AND ${a}.name = ${this.bind(name)}`)
      .join('\n');
  }

  /** The value of a metric field and the step it was reached at. */
  metric(f: Extract<Field, { kind: 'metric' }>): { value: string; step: string } {
    const a = this.alias(f.metric);
    const agg = f.agg === 'best' ? (metricDirection(f.metric) === 'higher' ? 'max' : 'min') : f.agg;
    if (agg === 'last') return { value: this.d.finite(`${a}.last_value`), step: `${a}.last_step` };
    return { value: `${a}.${agg}_value`, step: `${a}.${agg}_step` };
  }

  cond(q: RunQuery, now: () => string): string {
    switch (q.op) {
      case 'and':
      case 'or':
        return `(${q.args.map((x) => this.cond(x, now)).join(` ${q.op.toUpperCase()} `)})`;
      case 'not':
        return `(NOT ${this.cond(q.arg, now)})`;
      case 'has': {
        const p = this.bind(q.value);
        const c =
          q.what === 'tag' ? this.d.hasTag(p) : q.what === 'status' ? `r.status = ${p}` : this.d.nameContains(p);
        return `COALESCE(${c}, false)`;
      }
      case 'cmp':
        return `COALESCE(${this.compare(q, now)}, false)`;
    }
  }

  private compare(q: Extract<RunQuery, { op: 'cmp' }>, now: () => string): string {
    const op = SQL_OP[q.cmp]!;
    const f = q.field;
    if (f.kind === 'config') {
      const path = this.bind(this.d.configPath(f.path));
      if (typeof q.value === 'boolean') return `${this.d.configBool(path)} ${op} '${String(q.value)}'`;
      if (typeof q.value === 'number') return `${this.d.configNumber(path)} ${op} ${this.bindNumber(q.value)}`;
      return `${this.d.configText(path)} ${op} ${this.bind(q.value)}`;
    }
    const value = typeof q.value === 'number' ? this.bindNumber(q.value) : this.bind(q.value);
    if (f.kind === 'metric') return `${this.metric(f).value} ${op} ${value}`;
    return `${this.runExpr(f.name, now)} ${op} ${value}`;
  }

  private runExpr(name: Extract<Field, { kind: 'run' }>['name'], now: () => string): string {
    switch (name) {
      case 'name':
        return 'r.name';
      case 'status':
        return 'r.status';
      case 'step':
        return 'r.last_step';
      case 'age':
        return `(${now()} - r.created_at)`;
      case 'created':
        return 'r.created_at';
      case 'alerts':
        return OPEN_ALERTS;
      case 'tags':
        return this.d.tagsText;
    }
  }

  /** ORDER BY terms of one sort key: missing values last in both directions. */
  order(k: SortKey): string[] {
    const dir = (desc: boolean) => (desc ? 'DESC NULLS LAST' : 'ASC NULLS LAST');
    const f = k.field;
    if (f.kind === 'metric') return [`${this.metric(f).value} ${dir(k.desc)}`];
    if (f.kind === 'config') {
      const path = this.bind(this.d.configPath(f.path));
      return [`${this.d.configNumber(path)} ${dir(k.desc)}`, `${this.d.configText(path)} ${dir(k.desc)}`];
    }
    switch (f.name) {
      case 'name':
        return [`lower(r.name) ${dir(k.desc)}`, `r.name ${dir(k.desc)}`];
      case 'status':
        return [`${STATUS_RANK} ${dir(k.desc)}`];
      case 'age':
        return [`r.created_at ${dir(!k.desc)}`];
      default:
        return [`${this.runExpr(f.name, () => '0')} ${dir(k.desc)}`];
    }
  }
}

/** One SELECT for a page of the runs table; each row holds the run's columns, open_alerts, total and the metric columns. */
export function compileRunTable(q: RunTableQuery, dialect: Dialect): CompiledRunTable {
  const c = new Compiler(dialect);
  // Bound only where `age` is used: PostgreSQL cannot type a parameter no expression uses.
  let nowParam: string | null = null;
  const now = (): string => (nowParam ??= c.bindNumber(q.now));
  const where: string[] = [];
  if (q.filters.status) where.push(`r.status = ${c.bind(q.filters.status)}`);
  if (q.filters.tag) where.push(dialect.hasTag(c.bind(q.filters.tag)));
  if (q.filters.name) where.push(dialect.nameContains(c.bind(q.filters.name)));
  if (q.where) where.push(c.cond(q.where, now));
  const order = q.sort.flatMap((k) => c.order(k));
  order.push('r.created_at DESC', 'r.rid DESC');
  const columns: CompiledRunTable['columns'] = [];
  const select: string[] = [];
  const seen = new Set<string>();
  for (const f of q.columns) {
    if (f.kind !== 'metric') continue;
    const key = fieldKey(f);
    if (seen.has(key)) continue;
    seen.add(key);
    const alias = `c${columns.length}`;
    const { value, step } = c.metric(f);
    const a = c.alias(f.metric);
    const raw = f.agg === 'last' ? `${a}.last_value` : value;
    select.push(`${raw} AS ${alias}_v`, `${step} AS ${alias}_s`, `${a}.mid AS ${alias}_m`);
    columns.push({ key, agg: f.agg, alias });
  }
  const joins = c.joins();
  let page = '';
  if (q.limit !== null) page += ` LIMIT ${c.bind(q.limit)}`;
  if (q.offset > 0) page += `${q.limit === null ? ` ${dialect.noLimit}` : ''} OFFSET ${c.bind(q.offset)}`;
  const sql = `SELECT r.*, ${OPEN_ALERTS} AS open_alerts, count(*) OVER () AS total_rows${select.map((s) => `, ${s}`).join('')}
FROM runs r
${joins}
${where.length ? `WHERE ${where.join(' AND ')}` : ''}
ORDER BY ${order.join(', ')}${page}`;
  return { sql, values: c.values, columns };
}

/** The metric columns of one result row, keyed by fieldKey(). */
export function rowColumns(
  row: Record<string, unknown>,
  compiled: CompiledRunTable,
  dialect: Dialect,
): Record<string, RunColumnValue | null> {
  const out: Record<string, RunColumnValue | null> = {};
  for (const col of compiled.columns) {
    const present = row[`${col.alias}_m`] !== null && row[`${col.alias}_m`] !== undefined;
    const v = row[`${col.alias}_v`] as number | null;
    const step = row[`${col.alias}_s`] as number | null;
    if (!present || step === null) out[col.key] = null;
    else if (v === null)
      out[col.key] = col.agg === 'last' && dialect.lastIsNaN(v, present) ? { value: 'NaN', step } : null;
    else out[col.key] = { value: encodeValue(v), step };
  }
  return out;
}
