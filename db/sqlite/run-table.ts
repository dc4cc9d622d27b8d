// The runs table's SQL as SQLite spells it (db/run-table.ts compiles the query): JSON1 for config and tags, named
// parameters, NaN stored as NULL.
import type { Dialect } from '../run-table.js';

export const sqliteDialect: Dialect = {
  placeholder: (i) => `@p${i}`,
  number: (p) => p,
  noLimit: 'LIMIT -1',
  configPath: (path) => '$' + path.map((k) => `."${k}"`).join(''),
  configNumber: (p) =>
    `CASE WHEN json_type(r.config, ${p}) IN ('integer', 'real') THEN json_extract(r.config, ${p}) END`,
  configText: (p) => `CASE WHEN json_type(r.config, ${p}) = 'text' THEN json_extract(r.config, ${p}) END`,
  configBool: (p) => `CASE WHEN json_type(r.config, ${p}) IN ('true', 'false') THEN json_type(r.config, ${p}) END`,
  hasTag: (p) => `EXISTS (SELECT 1 FROM json_each(r.tags) WHERE json_each.value = ${p})`,
  nameContains: (p) => `instr(lower(r.name), lower(${p})) > 0`,
  tagsText: "(SELECT group_concat(value, ',') FROM json_each(r.tags))",
  finite: (expr) => expr,
  lastIsNaN: (value, present) => value === null && present,
};

/** Positional values as better-sqlite3's named parameters (@p1, @p2, ...). */
export function namedParams(values: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  values.forEach((v, i) => (out[`p${i + 1}`] = v));
  return out;
}
